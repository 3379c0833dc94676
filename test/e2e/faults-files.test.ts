// Faults of the manifests directory, with real nginx and pods on loopback. In every case the bad file is
// reported by name, the routes of the other files keep answering, and nginx keeps the last good config.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cliRunnableBy, metricKey, startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, backend, ingress, yamlDocs } from '../helpers/manifests.js';
import { closeAll, startPods, type Pods } from '../helpers/pods.js';
import { sleep } from '../helpers/wait.js';

const BASE = 'base.example.com';
const RELOADS = metricKey('reloads_total');

/** The pod that answered, or "status N" / the error code when none did. */
async function served(ctl: RunningController, host: string, requestPath = '/'): Promise<string> {
  try {
    const reply = await ctl.http(host, requestPath);
    return reply.pod ? reply.pod.pod : `status ${reply.status}`;
  } catch (err) {
    return `error ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}

/** Wait for a problem line on /status that names `file` and matches `re`; returns the line. */
async function problemFor(ctl: RunningController, file: string, re: RegExp, timeoutMs = 10_000): Promise<string> {
  return ctl.waitFor(async () => (await ctl.status()).problems.find((p) => p.includes(file) && re.test(p)), {
    timeoutMs,
    what: `a problem naming ${file} matching ${re}`,
  });
}

/**
 * Ask `host` again and again (new connection each time) until stop() is called; every answer is kept in
 * order, so a test can check that a route never failed and never went back to an older state.
 */
function sampler(ctl: RunningController, host: string, requestPath = '/'): { stop(): Promise<string[]> } {
  const answers: string[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) answers.push(await served(ctl, host, requestPath));
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return answers;
    },
  };
}

/** Write raw bytes as a complete file (temporary name, then rename). */
function writeBytes(manifests: ManifestDir, name: string, bytes: Buffer): void {
  fs.writeFileSync(manifests.path(`.${name}.tmp`), bytes);
  fs.renameSync(manifests.path(`.${name}.tmp`), manifests.path(name));
}

/** Runs of equal answers, for short messages: ["a-pod x120", "status 404 x3", ...]. */
function runs(answers: string[]): string[] {
  const out: string[] = [];
  let last: string | undefined;
  let count = 0;
  for (const answer of [...answers, '\0end']) {
    if (answer === last) {
      count++;
      continue;
    }
    if (last !== undefined) out.push(`${last} x${count}`);
    last = answer;
    count = 1;
  }
  return out;
}

describe('e2e faults: the manifests directory', function () {
  let pods: Pods; // base-pod, a-pod, b-pod

  before(async function () {
    pods = await startPods([
      { name: 'base-pod', address: '127.0.6.1' },
      { name: 'a-pod', address: '127.0.6.2' },
      { name: 'b-pod', address: '127.0.6.3' },
    ]);
  });

  after(async function () {
    await closeAll(pods);
  });

  const only = (name: string) => ({ port: pods.port, specs: pods.specs.filter((s) => s.name === name) });
  const baseFile = () => [
    ...backend('base-svc', only('base-pod')),
    ingress('base', { host: BASE, paths: [{ path: '/', service: 'base-svc' }] }),
  ];
  /** Service, Endpoints (one pod) and Ingress for one host, in that order. */
  const routeFile = (name: string, host: string, pod: string) => [
    ...backend(`${name}-svc`, only(pod)),
    ingress(name, { host, paths: [{ path: '/', service: `${name}-svc` }] }),
  ];

  describe('bad files beside good ones (one controller)', function () {
    let manifests: ManifestDir;
    let outside: string;
    let ctl: RunningController | undefined;

    before(async function () {
      this.timeout(60_000);
      manifests = new ManifestDir('faults-fs');
      outside = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-e2e-outside-'));
      manifests.write('base.yaml', baseFile());
      ctl = await startController({ manifests: manifests.dir });
    });

    stopAfter(
      () => ctl,
      () => {
        manifests?.cleanup();
        if (outside) fs.rmSync(outside, { recursive: true, force: true });
      },
    );

    /** The controller idle, still on config `hash`, nginx serving base; returns the metrics. */
    async function unchanged(hash: string | null, reloads: number | undefined): Promise<void> {
      const now = await ctl!.settle();
      assert.equal(now.get(RELOADS), reloads, 'no reload');
      assert.equal((await ctl!.status()).configHash, hash, 'nginx keeps the last good config');
      assert.equal(await ctl!.healthz(), 200);
      assert.equal(await served(ctl!, BASE), 'base-pod');
    }

    it('a .yaml file of binary data (NUL bytes) is reported by name and not loaded; a good file turned binary keeps its last good content', async function () {
      const before = await ctl!.settle();
      const hash = (await ctl!.status()).configHash;
      // a route that would exist if the bytes around the NULs were read as YAML
      const text = yamlDocs(routeFile('binary', 'binary.example.com', 'a-pod'));
      writeBytes(
        manifests,
        'binary.yaml',
        Buffer.concat([Buffer.from(text), Buffer.from([0, 0xff, 0xfe, 0, 1, 2, 0])]),
      );
      const line = await problemFor(ctl!, 'binary.yaml', /NUL bytes/);
      assert.match(line, /^error: binary\.yaml: binary\.yaml contains NUL bytes/);
      await unchanged(hash, before.get(RELOADS));
      assert.equal(await served(ctl!, 'binary.example.com'), 'status 404');
      assert.equal(await ctl!.metric('rejected_manifests'), 1);

      // a good file, served, then overwritten with binary data: its routes stay as they were
      manifests.write('good.yaml', routeFile('good', 'good.example.com', 'a-pod'));
      await ctl!.waitFor(async () => (await served(ctl!, 'good.example.com')) === 'a-pod', {
        what: 'good.example.com routed',
      });
      const good = await ctl!.settle();
      const goodHash = (await ctl!.status()).configHash;
      writeBytes(manifests, 'good.yaml', Buffer.from([0x6b, 0x69, 0x6e, 0x64, 0, 0, 0x3a, 0x0a, 0]));
      await problemFor(ctl!, 'good.yaml', /NUL bytes/);
      assert.match(
        await problemFor(ctl!, 'good.yaml', /kept the last good content/),
        /^warning: good\.yaml: kept the last good content of this file \(3 objects\)/,
      );
      await unchanged(goodHash, good.get(RELOADS));
      assert.equal(await served(ctl!, 'good.example.com'), 'a-pod');

      manifests.remove('binary.yaml');
      manifests.remove('good.yaml');
      await ctl!.waitFor(async () => (await served(ctl!, 'good.example.com')) === 'status 404', {
        what: 'good.yaml removed',
      });
      await ctl!.waitFor(async () => (await ctl!.status()).problems.length === 0, { what: 'no problems left' });
    });

    it('a file over the 4 MiB limit is reported with its size and not loaded; the routes keep answering', async function () {
      const before = await ctl!.settle();
      const hash = (await ctl!.status()).configHash;
      // valid YAML: a route that would exist if the file were read, then 5 MiB of comment lines
      const pad = `# ${'x'.repeat(1021)}\n`.repeat(5 * 1024);
      manifests.write('huge.yaml', yamlDocs(routeFile('huge', 'huge.example.com', 'a-pod')) + pad);
      const size = fs.statSync(manifests.path('huge.yaml')).size;
      assert.ok(size > 4 * 1024 * 1024);
      const line = await problemFor(ctl!, 'huge.yaml', /too large/);
      assert.equal(
        line,
        `error: huge.yaml: huge.yaml is too large (${size} bytes, limit ${4 * 1024 * 1024}); not loaded`,
      );
      await unchanged(hash, before.get(RELOADS));
      assert.equal(await served(ctl!, 'huge.example.com'), 'status 404');

      manifests.remove('huge.yaml');
      await ctl!.waitFor(async () => (await ctl!.status()).problems.length === 0, { what: 'no problems left' });
    });

    it('symlinks to a file and to a directory outside the manifests directory are not followed, and are reported', async function () {
      const before = await ctl!.settle();
      const hash = (await ctl!.status()).configHash;
      fs.writeFileSync(
        path.join(outside, 'outside.yaml'),
        yamlDocs(routeFile('outside', 'outside.example.com', 'a-pod')),
      );
      fs.mkdirSync(path.join(outside, 'dir'));
      fs.writeFileSync(
        path.join(outside, 'dir', 'inner.yaml'),
        yamlDocs(routeFile('inner', 'inner.example.com', 'a-pod')),
      );
      fs.symlinkSync(path.join(outside, 'outside.yaml'), manifests.path('abs-link.yaml'));
      fs.symlinkSync(path.relative(manifests.dir, path.join(outside, 'outside.yaml')), manifests.path('rel-link.yaml'));
      fs.symlinkSync(path.join(outside, 'dir'), manifests.path('dir-link'));
      for (const name of ['abs-link.yaml', 'rel-link.yaml', 'dir-link']) {
        assert.equal(
          await problemFor(ctl!, name, /outside/),
          `warning: ${name}: symlink points outside the manifests directory; not followed`,
        );
      }
      await unchanged(hash, before.get(RELOADS));
      assert.equal(await served(ctl!, 'outside.example.com'), 'status 404');
      assert.equal(await served(ctl!, 'inner.example.com'), 'status 404');

      for (const name of ['abs-link.yaml', 'rel-link.yaml', 'dir-link']) fs.unlinkSync(manifests.path(name));
      await ctl!.waitFor(async () => (await ctl!.status()).problems.length === 0, { what: 'no problems left' });
    });

    // What a generator writing in place does (`kubectl get -o yaml > routes.yaml`, an editor saving in
    // place): the file is truncated, then filled, with a pause in between. The half state must not be served.
    for (const [title, firstPart] of [
      ['truncated, then the whole new content 500 ms later', (_text: string) => ''],
      [
        'first its Service and Endpoints, the Ingress 500 ms later',
        (text: string) => text.slice(0, text.lastIndexOf('---\n') + 4),
      ],
    ] as const) {
      it(`a file rewritten in place (${title}): the old version keeps answering until the file is complete`, async function () {
        this.timeout(30_000);
        const v1 = yamlDocs(routeFile('mid', 'mid.example.com', 'a-pod'));
        const v2 = yamlDocs(routeFile('mid', 'mid.example.com', 'b-pod'));
        manifests.write('mid.yaml', v1);
        // every worker: after the reload that adds the host, an old worker may still take new connections
        // for a moment on a loaded machine (it answers 404), which is not what this test is about
        await ctl!.waitFor(
          async () => {
            for (let i = 0; i < 40; i++) if ((await served(ctl!, 'mid.example.com')) !== 'a-pod') return false;
            return true;
          },
          { what: 'mid.example.com on a-pod, 40 times in a row' },
        );
        await ctl!.settle();
        const head = firstPart(v2);
        assert.ok(head.length < v2.length && !head.includes('kind: Ingress'), 'the first part lacks the Ingress');

        const samples = sampler(ctl!, 'mid.example.com');
        let answers: string[] = [];
        let completedAt = 0;
        try {
          await sleep(100);
          const fd = fs.openSync(manifests.path('mid.yaml'), 'w'); // same inode, truncated
          try {
            if (head) fs.writeSync(fd, head);
            await sleep(500); // many syncs' worth of time (--min-wait 50, --max-wait 500)
            fs.writeSync(fd, v2.slice(head.length));
          } finally {
            fs.closeSync(fd);
          }
          completedAt = Date.now();
          await ctl!.waitFor(async () => (await served(ctl!, 'mid.example.com')) === 'b-pod', {
            timeoutMs: 10_000,
            what: 'the new version (b-pod)',
          });
          await sleep(100);
        } finally {
          answers = await samples.stop();
        }
        process.stdout.write(
          `      (in-place rewrite: new version served ${Date.now() - completedAt - 100} ms or less after the file was complete; answers ${runs(answers).join(', ')})\n`,
        );
        // only the old version, then only the new one: no 404/503 from a half file, no flapping back
        const firstNew = answers.indexOf('b-pod');
        assert.ok(firstNew > 0, runs(answers).join(', '));
        assert.deepEqual(runs(answers.slice(0, firstNew)), [`a-pod x${firstNew}`], runs(answers).join(', '));
        assert.deepEqual(
          runs(answers.slice(firstNew)),
          [`b-pod x${answers.length - firstNew}`],
          runs(answers).join(', '),
        );
        assert.equal(await served(ctl!, BASE), 'base-pod');
        assert.deepEqual((await ctl!.status()).problems, []);
        manifests.remove('mid.yaml');
        await ctl!.waitFor(async () => (await served(ctl!, 'mid.example.com')) === 'status 404', {
          what: 'mid.yaml removed',
        });
      });
    }

    it('the whole directory deleted: every route keeps answering and the outage is reported; restored (renamed back into place), its content applies', async function () {
      this.timeout(30_000);
      manifests.write('gone.yaml', routeFile('gone', 'gone.example.com', 'a-pod'));
      await ctl!.waitFor(async () => (await served(ctl!, 'gone.example.com')) === 'a-pod', {
        what: 'gone.example.com routed',
      });
      const before = await ctl!.settle();
      const hash = (await ctl!.status()).configHash;

      const base = sampler(ctl!, BASE);
      const gone = sampler(ctl!, 'gone.example.com');
      let baseAnswers: string[] = [];
      let goneAnswers: string[] = [];
      try {
        fs.rmSync(manifests.dir, { recursive: true });
        const line = await problemFor(ctl!, manifests.dir, /does not exist/);
        assert.equal(
          line,
          `error: ${manifests.dir}: manifests directory does not exist; keeping the last loaded state`,
        );
        // past the watcher's 1 s poll of the directory, and many syncs' worth of time
        await sleep(2500);
        assert.equal(await ctl!.healthz(), 200);
        assert.equal((await ctl!.status()).configHash, hash, 'nginx keeps the config');
        assert.equal((await ctl!.metrics()).get(RELOADS), before.get(RELOADS), 'no reload while the directory is gone');
        goneAnswers = await gone.stop();

        // restored the way a volume comes back: complete, in one step; gone.yaml is not part of it
        const staging = `${manifests.dir}.restore`;
        fs.mkdirSync(staging);
        fs.writeFileSync(path.join(staging, 'base.yaml'), yamlDocs(baseFile()));
        fs.writeFileSync(
          path.join(staging, 'restored.yaml'),
          yamlDocs(routeFile('restored', 'restored.example.com', 'b-pod')),
        );
        fs.renameSync(staging, manifests.dir);
        await ctl!.waitFor(async () => (await served(ctl!, 'restored.example.com')) === 'b-pod', {
          what: 'the restored directory applied',
        });
        await ctl!.waitFor(async () => (await served(ctl!, 'gone.example.com')) === 'status 404', {
          what: 'gone.example.com removed',
        });
      } finally {
        baseAnswers = await base.stop();
        if (!goneAnswers.length) goneAnswers = await gone.stop();
      }
      assert.deepEqual(runs(baseAnswers), [`base-pod x${baseAnswers.length}`]);
      assert.deepEqual(runs(goneAnswers), [`a-pod x${goneAnswers.length}`]);
      await ctl!.waitFor(async () => (await ctl!.status()).problems.length === 0, {
        what: 'the outage no longer reported',
      });
      assert.equal(await ctl!.healthz(), 200);
    });
  });

  describe('a file the controller may not read', function () {
    let manifests: ManifestDir;
    let ctl: RunningController | undefined;
    let user: { uid: number; gid: number } | undefined;
    let runtime: { cli: string; cleanup(): void } | undefined;

    before(async function () {
      this.timeout(60_000);
      // root reads any file whatever its mode: then the controller runs as nobody, as in the container image
      if (process.getuid?.() === 0) {
        const line = fs
          .readFileSync('/etc/passwd', 'utf8')
          .split('\n')
          .find((l) => l.startsWith('nobody:'));
        if (!line) {
          process.stdout.write(
            '      (skipped: running as root and there is no user "nobody" to run the controller as)\n',
          );
          this.skip();
        }
        user = { uid: Number(line!.split(':')[2]), gid: Number(line!.split(':')[3]) };
        process.stdout.write(
          `      (running as root, which reads any file: the controller runs as nobody, uid ${user.uid}, as in the container image)\n`,
        );
      }
      manifests = new ManifestDir('faults-perm');
      fs.chmodSync(manifests.dir, 0o755);
      manifests.write('base.yaml', baseFile());
      runtime = user ? cliRunnableBy(user) : undefined;
      ctl = await startController({ manifests: manifests.dir, ...(user ? { user, cli: runtime!.cli } : {}) });
    });

    stopAfter(
      () => ctl,
      () => {
        manifests?.cleanup();
        runtime?.cleanup();
      },
    );

    /** Write a file that is unreadable from the moment it appears in the directory. */
    const writeLocked = (name: string, text: string) => {
      const tmp = manifests.path(`.${name}.tmp`);
      fs.writeFileSync(tmp, text, { mode: 0o000 });
      fs.chmodSync(tmp, 0o000);
      fs.renameSync(tmp, manifests.path(name));
    };

    it('mode 000: reported by name (EACCES), the routes keep answering; readable again, it is loaded', async function () {
      const before = await ctl!.settle();
      const hash = (await ctl!.status()).configHash;
      writeLocked('locked.yaml', yamlDocs(routeFile('locked', 'locked.example.com', 'a-pod')));
      assert.equal(
        await problemFor(ctl!, 'locked.yaml', /EACCES/),
        'error: locked.yaml: cannot read locked.yaml: EACCES',
      );
      const now = await ctl!.settle();
      assert.equal(now.get(RELOADS), before.get(RELOADS));
      assert.equal((await ctl!.status()).configHash, hash);
      assert.equal(await served(ctl!, BASE), 'base-pod');
      assert.equal(await served(ctl!, 'locked.example.com'), 'status 404');
      assert.equal(await ctl!.healthz(), 200);

      // permissions fixed, content untouched (only the inode's ctime changes)
      fs.chmodSync(manifests.path('locked.yaml'), 0o644);
      await ctl!.waitFor(async () => (await served(ctl!, 'locked.example.com')) === 'a-pod', {
        what: 'locked.yaml loaded once readable',
      });
      await ctl!.waitFor(async () => (await ctl!.status()).problems.length === 0, { what: 'no problems left' });
    });

    it('a loaded file made unreadable keeps its last good content', async function () {
      await ctl!.settle();
      const hash = (await ctl!.status()).configHash;
      fs.chmodSync(manifests.path('locked.yaml'), 0o000);
      await problemFor(ctl!, 'locked.yaml', /EACCES/);
      await problemFor(ctl!, 'locked.yaml', /kept the last good content/);
      await ctl!.settle();
      assert.equal((await ctl!.status()).configHash, hash);
      assert.equal(await served(ctl!, 'locked.example.com'), 'a-pod');
      assert.equal(await served(ctl!, BASE), 'base-pod');
    });
  });

  describe('2000 files arriving at once', function () {
    const FILES = 2000;
    let manifests: ManifestDir;
    let ctl: RunningController | undefined;

    before(async function () {
      this.timeout(60_000);
      manifests = new ManifestDir('faults-many');
      manifests.write('base.yaml', baseFile());
      ctl = await startController({ manifests: manifests.dir });
    });

    stopAfter(
      () => ctl,
      () => manifests?.cleanup(),
    );

    it(`${FILES} files, each a Service, Endpoints and Ingress for its own host: every route answers, with few reloads`, async function () {
      this.timeout(240_000);
      const before = await ctl!.settle();
      const hosts = Array.from({ length: FILES }, (_, i) => `h${String(i).padStart(4, '0')}.many.example.com`);
      const pod = (i: number) => ['a-pod', 'b-pod'][i % 2]!;
      const texts = hosts.map((h, i) => yamlDocs(routeFile(`many-${i}`, h, pod(i))));
      const t0 = Date.now();
      hosts.forEach((_, i) => manifests.write(`many/${String(i).padStart(4, '0')}.yaml`, texts[i]!));
      const written = Date.now() - t0;

      // ask every host until it answers from its pod; 16 clients at a time
      const pending = new Set(hosts.map((_, i) => i));
      const deadline = Date.now() + 180_000;
      while (pending.size && Date.now() < deadline) {
        const queue = [...pending];
        await Promise.all(
          Array.from({ length: 16 }, async () => {
            for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
              if ((await served(ctl!, hosts[i]!)) === pod(i)) pending.delete(i);
            }
          }),
        );
        if (pending.size) await sleep(100);
      }
      const converged = Date.now() - t0;
      assert.equal(pending.size, 0, `${pending.size} routes never answered, e.g. ${hosts[[...pending][0]!]}`);
      const after = await ctl!.settle(1000, 60_000);
      const reloads = after.get(RELOADS)! - before.get(RELOADS)!;
      process.stdout.write(
        `      (${FILES} files written in ${written} ms; every route answering ${converged} ms after the first write; ` +
          `${reloads} reloads, ${after.get(metricKey('syncs_total'))! - before.get(metricKey('syncs_total'))!} syncs, ` +
          `last sync ${after.get(metricKey('last_sync_duration_seconds'))!.toFixed(2)} s)\n`,
      );
      assert.ok(reloads >= 1 && reloads <= 4, `${reloads} reloads`);
      assert.deepEqual((await ctl!.status()).problems, []);
      assert.equal(await ctl!.healthz(), 200);
      assert.equal(await served(ctl!, BASE), 'base-pod');
    });
  });
});
