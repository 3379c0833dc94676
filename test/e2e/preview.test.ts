// Previews, before anything is applied: `render --diff FILE` (a unified diff against a config on disk),
// `render --format json` (the routing model, without key material), `describe` (kubectl-like, from the
// manifests or, with --status-port, from what a running nginx balances over), and GET /backends.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { runCli, type CliResult } from '../helpers/cli.js';
import { REPO, startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { request, whoAnswers } from '../helpers/http.js';
import { ManifestDir, backend, endpoints, ingress } from '../helpers/manifests.js';
import { closeAll, podSpecs, startPods, type Pods } from '../helpers/pods.js';
import { freePort } from '../helpers/ports.js';

const EXAMPLES = path.join(REPO, 'examples', 'manifests');
const HASH_LINE = /^# config-hash ([0-9a-f]{64})$/m;

/** The lines of a unified diff: headers, hunks (header, and each body line with its mark). */
interface Patch {
  headers: string[];
  hunks: { oldStart: number; oldLines: number; newStart: number; newLines: number; lines: string[] }[];
}

function parsePatch(text: string): Patch {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const first = lines.findIndex((l) => l.startsWith('@@'));
  assert.ok(first > 0, `a hunk in:\n${text}`);
  const patch: Patch = { headers: lines.slice(0, first), hunks: [] };
  for (const line of lines.slice(first)) {
    const match = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$/.exec(line);
    if (match) {
      patch.hunks.push({
        oldStart: Number(match[1]),
        oldLines: Number(match[2] ?? 1),
        newStart: Number(match[3]),
        newLines: Number(match[4] ?? 1),
        lines: [],
      });
      continue;
    }
    assert.match(line, /^[ +-]/, 'every hunk line is context, an addition or a removal');
    patch.hunks.at(-1)!.lines.push(line);
  }
  return patch;
}

/** Apply a parsed patch to a text, checking every context and removed line against it. */
function applyPatch(old: string, patch: Patch): string {
  const src = old.split('\n');
  const out: string[] = [];
  let at = 0; // next line of src not yet copied (0-based)
  for (const hunk of patch.hunks) {
    const start = hunk.oldLines === 0 ? hunk.oldStart : hunk.oldStart - 1;
    assert.ok(start >= at, 'hunks in order');
    out.push(...src.slice(at, start));
    at = start;
    let removedOrKept = 0;
    let addedOrKept = 0;
    for (const line of hunk.lines) {
      const mark = line[0];
      const body = line.slice(1);
      if (mark === '+') {
        out.push(body);
        addedOrKept++;
        continue;
      }
      assert.equal(src[at], body, `line ${at + 1} of the old file, as the patch quotes it`);
      if (mark === ' ') {
        out.push(body);
        addedOrKept++;
      }
      removedOrKept++;
      at++;
    }
    assert.equal(removedOrKept, hunk.oldLines, 'the hunk header counts the old lines');
    assert.equal(addedOrKept, hunk.newLines, 'the hunk header counts the new lines');
  }
  out.push(...src.slice(at));
  return out.join('\n');
}

const marked = (p: Patch, mark: '+' | '-') =>
  p.hunks.flatMap((h) => h.lines.filter((l) => l[0] === mark).map((l) => l.slice(1)));

describe('e2e: previews (render --diff, render --format json, describe, /backends)', function () {
  describe('render --diff', function () {
    let tmp: string;
    let manifests: ManifestDir;
    let live: string; // the config "nginx runs": rendered from the examples before any change
    const render = (...extra: string[]) =>
      runCli([
        'render',
        '--manifests',
        manifests.dir,
        '--nginx-prefix',
        path.join(tmp, 'prefix'),
        '--http-port',
        '18080',
        '--https-port',
        '18443',
        ...extra,
      ]);
    const original = () => fs.readFileSync(path.join(EXAMPLES, 'cafe.yaml'), 'utf8');

    before(async function () {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-e2e-preview-'));
      manifests = new ManifestDir('preview');
      for (const name of fs.readdirSync(EXAMPLES))
        manifests.write(name, fs.readFileSync(path.join(EXAMPLES, name), 'utf8'));
      live = path.join(tmp, 'live.conf');
      const result = await render('--out', live);
      assert.equal(result.code, 0, result.stderr);
    });

    after(function () {
      fs.rmSync(tmp, { recursive: true, force: true });
      manifests?.cleanup();
    });

    it('prints "no change against FILE" when the manifests render exactly that file', async function () {
      const result = await render('--diff', live);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `no change against ${live}\n`);
      assert.equal(result.stderr, '');
    });

    it('a path added to an Ingress: a unified diff of exactly the changed lines, which turns FILE into the new config', async function () {
      // /milk -> tea-svc, before /coffee in cafe-ingress
      manifests.write(
        'cafe.yaml',
        original().replace(
          '          - path: /coffee\n',
          [
            '          - path: /milk',
            '            pathType: Prefix',
            '            backend:',
            '              service:',
            '                name: tea-svc',
            '                port:',
            '                  number: 80',
            '          - path: /coffee',
            '',
          ].join('\n'),
        ),
      );
      const old = fs.readFileSync(live, 'utf8');
      const fresh = await render();
      assert.equal(fresh.code, 0, fresh.stderr);
      const result = await render('--diff', live);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(fs.readFileSync(live, 'utf8'), old, '--diff does not touch FILE');

      const patch = parsePatch(result.stdout);
      assert.deepEqual(patch.headers.slice(-2), [`--- ${live}`, '+++ (rendered)']);
      assert.ok(patch.hunks.length >= 2, 'separate hunks for the header, the new locations and the internal server');
      for (const hunk of patch.hunks)
        assert.ok(
          hunk.lines.some((l) => l[0] !== ' '),
          'every hunk changes something',
        );
      // context is there (3 lines), and the patch takes the old file to exactly the new config
      assert.ok(
        patch.hunks.every((h) => h.lines[0]![0] === ' '),
        'hunks open with context',
      );
      assert.equal(applyPatch(old, patch), fresh.stdout);

      // exactly the changed lines: the hash (header and the internal location) and the two /milk locations
      const oldHash = HASH_LINE.exec(old)![1]!;
      const newHash = HASH_LINE.exec(fresh.stdout)![1]!;
      assert.notEqual(oldHash, newHash);
      assert.deepEqual(marked(patch, '-'), [`# config-hash ${oldHash}`, `            return 200 "${oldHash}";`]);
      const added = marked(patch, '+');
      assert.ok(added.includes(`# config-hash ${newHash}`));
      assert.ok(added.includes(`            return 200 "${newHash}";`));
      assert.ok(result.stdout.includes('\n+        location = "/milk" {\n'), 'an exact-match location for /milk');
      assert.ok(result.stdout.includes('\n+        location "/milk/" {\n'), 'a prefix location for /milk/');
      // what is added besides the hash is the /milk locations and nothing else
      const rest = added.filter((l) => !l.includes(newHash));
      const milk = fresh.stdout.split('\n');
      const from = milk.indexOf('        # ingress default/cafe-ingress Prefix /milk');
      const to = milk.indexOf('        # ingress default/cafe-ingress Prefix /tea');
      assert.ok(from > 0 && to > from, 'the /milk locations come right before /tea');
      assert.deepEqual([...rest].sort(), milk.slice(from, to).sort());
      assert.ok(
        rest.every((l) => !/\/tea|\/coffee/.test(l)),
        'no line about the unchanged paths',
      );
    });

    it('exits 2 with a rejected manifest, which it names, and diffs what is left (here: nothing)', async function () {
      manifests.write('cafe.yaml', original());
      const clean = await render('--diff', live);
      assert.equal(clean.code, 0, clean.stderr);
      assert.equal(clean.stdout, `no change against ${live}\n`);
      manifests.write(
        'bad.yaml',
        ingress('bad', { host: 'bad.example.com;', paths: [{ path: '/', service: 'tea-svc' }] }),
      );
      const result = await render('--diff', live);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /^error: bad\.yaml:\d+ Ingress default\/bad spec\.rules\[0\]\.host: /m);
      assert.match(
        result.stderr,
        /ManifestsRejectedError: 1 problem\(s\) in the manifests; the output leaves them out/,
      );
      assert.equal(result.stdout, `no change against ${live}\n`);
      manifests.remove('bad.yaml');
    });

    it('--format json --diff: an endpoint change is a change of the model, not of the Lua-mode config', async function () {
      const model = path.join(tmp, 'model.json');
      const out = await render('--format', 'json', '--out', model);
      assert.equal(out.code, 0, out.stderr);
      const slices = YAML.parseAllDocuments(original()).map((d) => d.toJS() as Record<string, unknown>);
      const slice = slices.find((d) => d.kind === 'EndpointSlice')! as { endpoints: { addresses: string[] }[] };
      slice.endpoints[1]!.addresses = ['127.0.0.23'];
      manifests.write('cafe.yaml', slices);
      const json = await render('--format', 'json', '--diff', model);
      assert.equal(json.code, 0, json.stderr);
      const patch = parsePatch(json.stdout);
      assert.deepEqual(patch.headers.slice(-2), [`--- ${model}`, '+++ (rendered)']);
      assert.deepEqual(
        marked(patch, '-').map((l) => l.trim()),
        ['"address": "127.0.0.22",'],
      );
      assert.deepEqual(
        marked(patch, '+').map((l) => l.trim()),
        ['"address": "127.0.0.23",'],
      );
      assert.equal(applyPatch(fs.readFileSync(model, 'utf8'), patch), (await render('--format', 'json')).stdout);
      // the nginx config names backends, not addresses: nothing to reload
      const conf = await render('--diff', live);
      assert.equal(conf.code, 0, conf.stderr);
      assert.equal(conf.stdout, `no change against ${live}\n`);
      manifests.write('cafe.yaml', original());
    });
  });

  describe('render --format json', function () {
    it('prints the routing model: servers with their locations, backends with endpoints, certificates without key material', async function () {
      const result = await runCli(['render', '--manifests', EXAMPLES, '--format', 'json']);
      assert.equal(result.code, 0, result.stderr);
      const model = JSON.parse(result.stdout) as {
        servers: {
          host: string;
          tls: string | null;
          locations: { path: string; match: string; backend: string | null; ingress: string }[];
        }[];
        backends: { name: string; endpoints: { address: string; port: number }[] }[];
        certificates: Record<string, unknown>[];
      };
      const byHost = new Map(model.servers.map((s) => [s.host, s]));
      assert.deepEqual([...byHost.keys()].sort(), ['', 'cafe.example.com']);
      const cafe = byHost.get('cafe.example.com')!;
      assert.equal(cafe.tls, 'default_cafe-secret');
      assert.deepEqual(cafe.locations.map((l) => [l.path, l.backend, l.ingress]).sort(), [
        ['/coffee', 'default_coffee-svc_80', 'default/cafe-ingress'],
        ['/tea', 'default_tea-svc_80', 'default/cafe-ingress'],
      ]);
      assert.deepEqual(
        byHost.get('')!.locations.map((l) => [l.path, l.backend]),
        [['/', 'default_hostnames_80']],
      );
      const eps = Object.fromEntries(
        model.backends.map((b) => [b.name, b.endpoints.map((e) => `${e.address}:${e.port}`)]),
      );
      assert.deepEqual(eps, {
        'default_coffee-svc_80': ['127.0.0.31:8080', '127.0.0.32:8080'],
        default_hostnames_80: ['127.0.0.11:9376', '127.0.0.12:9376', '127.0.0.13:9376'],
        'default_tea-svc_80': ['127.0.0.21:8080', '127.0.0.22:8080'],
      });
      // the certificate is described, its PEM (certificate and private key) is left out
      assert.equal(model.certificates.length, 1);
      const cert = model.certificates[0]!;
      assert.equal(cert.name, 'default_cafe-secret');
      assert.match(String(cert.hash), /^[0-9a-f]{64}$/);
      assert.ok(!('pem' in cert), 'no pem field');
      assert.ok(!result.stdout.includes('PRIVATE KEY'), 'no "PRIVATE KEY" anywhere');
      assert.ok(!result.stdout.includes('-----BEGIN'), 'no PEM block anywhere');
      // nor any piece of the key, encoded or not
      const secret = YAML.parse(fs.readFileSync(path.join(EXAMPLES, 'cafe-secret.yaml'), 'utf8')) as {
        data: Record<string, string>;
      };
      const key = Buffer.from(secret.data['tls.key']!, 'base64').toString('utf8');
      const keyLines = key.split('\n').filter((l) => l && !l.startsWith('-----'));
      assert.ok(keyLines.length > 5, 'the example key has a body');
      for (const keyLine of keyLines)
        assert.ok(!result.stdout.includes(keyLine), `key line ${keyLine.slice(0, 12)}... must not be printed`);
      assert.ok(!result.stdout.includes(secret.data['tls.key']!.slice(0, 40)), "nor the Secret's base64 data");
    });
  });

  describe('describe (from the manifests)', function () {
    it("prints each Ingress as kubectl describe does, with each backend's ready endpoints", async function () {
      const result = await runCli(['describe', '--manifests', EXAMPLES]);
      assert.equal(result.code, 0, result.stderr);
      const blocks = result.stdout.split(/\n\n(?=Name:)/);
      assert.equal(blocks.length, 2, result.stdout);
      const [cafe, hostnames] = blocks as [string, string];
      assert.match(cafe, /^Name: +cafe-ingress$/m);
      assert.match(cafe, /^Namespace: +default$/m);
      assert.match(cafe, /^Ingress Class: +nginx$/m);
      assert.match(cafe, /^Default backend: +<default>$/m);
      assert.match(cafe, /^TLS:\n {2}cafe-secret terminates cafe\.example\.com$/m);
      assert.match(cafe, /^Rules:\n {2}Host +Path +Backends\n {2}---- +---- +--------\n {2}cafe\.example\.com\n/m);
      assert.ok(cafe.includes('\n                    /tea     tea-svc:80 (127.0.0.21:8080,127.0.0.22:8080)\n'), cafe);
      assert.ok(
        cafe.includes('\n                    /coffee  coffee-svc:80 (127.0.0.31:8080,127.0.0.32:8080)\n'),
        cafe,
      );
      assert.match(cafe, /^Annotations: +<none>$/m);
      assert.match(cafe, /^Events: +<none>$/m);
      assert.match(hostnames, /^Name: +hostnames$/m);
      assert.doesNotMatch(hostnames, /^TLS:/m);
      assert.match(hostnames, /^ {2}\*$/m);
      assert.match(
        hostnames,
        /^ +\/ +hostnames:default \(127\.0\.0\.11:9376,127\.0\.0\.12:9376,127\.0\.0\.13:9376\)$/m,
      );
    });

    it('NAMESPACE/NAME (or NAME in default) prints that Ingress only; an unknown one exits 64', async function () {
      const one = await runCli(['describe', 'default/cafe-ingress', '--manifests', EXAMPLES]);
      assert.equal(one.code, 0, one.stderr);
      assert.equal(one.stdout.match(/^Name:/gm)?.length, 1);
      assert.match(one.stdout, /^Name: +cafe-ingress$/m);
      assert.doesNotMatch(one.stdout, /hostnames/);
      const all = await runCli(['describe', '--manifests', EXAMPLES]);
      assert.ok(all.stdout.startsWith(one.stdout), 'the same block as in the full listing');
      const bare = await runCli(['describe', 'cafe-ingress', '--manifests', EXAMPLES]);
      assert.equal(bare.stdout, one.stdout);
      for (const name of ['default/no-such-ingress', 'kube-system/cafe-ingress']) {
        const result = await runCli(['describe', name, '--manifests', EXAMPLES]);
        assert.notEqual(result.code, 0);
        assert.equal(result.code, 64);
        assert.equal(result.stdout, '');
        assert.match(result.stderr, new RegExp(`no Ingress ${name.replace('/', '\\/')} in `));
      }
    });
  });

  describe('describe --status-port and GET /backends (a running controller)', function () {
    let pods: Pods;
    let manifests: ManifestDir;
    let snapshot: ManifestDir; // the manifests as they were before the endpoint change
    let ctl: RunningController | undefined;
    const HOST = 'live.example.com';
    const NAME = 'default_live-svc_80';
    const addr = (i: number) => `${pods.specs[i - 1]!.address}:${pods.port}`;
    const liveEndpoints = (which: number[]) =>
      endpoints('live-svc', { ready: which.map((i) => pods.specs[i - 1]!.address), port: pods.port });
    const describeLive = (dir: string, ...extra: string[]) =>
      runCli(['describe', 'default/live', '--manifests', dir, ...extra]);
    const backendsLine = (result: CliResult) => {
      assert.equal(result.code, 0, result.stderr);
      return /^ +\/ +(live-svc:80 \(.*\))$/m.exec(result.stdout)?.[1];
    };

    before(async function () {
      this.timeout(60_000);
      pods = await startPods(podSpecs('live', '127.0.6.', 3));
      manifests = new ManifestDir('preview-live');
      const [svc] = backend('live-svc', pods);
      manifests.write('live.yaml', [
        svc!,
        ingress('live', { host: HOST, paths: [{ path: '/', service: 'live-svc' }] }),
      ]);
      manifests.write('live-endpoints.yaml', liveEndpoints([1, 2]));
      snapshot = new ManifestDir('preview-snapshot');
      for (const name of ['live.yaml', 'live-endpoints.yaml']) snapshot.write(name, manifests.read(name));
      ctl = await startController({ manifests: manifests.dir });
    });

    stopAfter(
      () => ctl,
      async () => {
        await closeAll(pods);
        manifests?.cleanup();
        snapshot?.cleanup();
      },
    );

    it('GET /backends: {source: "nginx", backends: {name: ["address:port"]}}, what the Lua balancer holds', async function () {
      const reply = await request(ctl!.ports.status, '127.0.0.1', '/backends');
      assert.equal(reply.status, 200);
      assert.match(String(reply.headers['content-type']), /^application\/json/);
      const body = JSON.parse(reply.body) as { source: string; backends: Record<string, string[]> };
      assert.deepEqual(Object.keys(body).sort(), ['backends', 'source']);
      assert.equal(body.source, 'nginx');
      assert.deepEqual(body.backends, { [NAME]: [addr(1), addr(2)] });
      const held = await ctl!.luaBackend(NAME);
      assert.deepEqual(
        held.endpoints.map((e) => `${e.address}:${e.port}`),
        body.backends[NAME],
      );
    });

    it('shows the endpoints nginx balances over, not those of the manifests it is given', async function () {
      assert.equal(backendsLine(await describeLive(manifests.dir)), `live-svc:80 (${addr(1)},${addr(2)})`);
      const pushes = await ctl!.metric('endpoint_pushes_total');
      manifests.write('live-endpoints.yaml', liveEndpoints([2, 3]));
      await ctl!.waitForPush(pushes);
      await ctl!.waitFor(async () => (await ctl!.http(HOST, '/')).pod?.pod === 'live-3', { what: 'live-3 answering' });
      assert.deepEqual((await whoAnswers(2, () => ctl!.http(HOST, '/'))).sort(), ['live-2', 'live-3']);
      const port = String(ctl!.ports.status);
      // the snapshot still says 1 and 2; with --status-port describe asks nginx, which has 2 and 3
      assert.equal(backendsLine(await describeLive(snapshot.dir)), `live-svc:80 (${addr(1)},${addr(2)})`);
      assert.equal(
        backendsLine(await describeLive(snapshot.dir, '--status-port', port)),
        `live-svc:80 (${addr(2)},${addr(3)})`,
      );
      assert.equal(
        backendsLine(await describeLive(manifests.dir, '--status-port', port)),
        `live-svc:80 (${addr(2)},${addr(3)})`,
      );
      const reply = await request(ctl!.ports.status, '127.0.0.1', '/backends');
      assert.deepEqual((JSON.parse(reply.body) as { backends: Record<string, string[]> }).backends, {
        [NAME]: [addr(2), addr(3)],
      });
    });

    it('describe --status-port with no controller there exits 64 and says so', async function () {
      const port = await freePort();
      const result = await describeLive(manifests.dir, '--status-port', String(port));
      assert.equal(result.code, 64);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, new RegExp(`cannot reach the controller's status port 127\\.0\\.0\\.1:${port}`));
    });
  });
});
