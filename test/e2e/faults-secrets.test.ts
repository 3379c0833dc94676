// Secrets on disk and in reports, with real nginx on loopback: TLS keys under PREFIX/ssl are 0600 in a
// 0700 directory, managed files under PREFIX/files have the mode the model gives them, no private key text
// ever reaches the log or the status server (also when a Secret is malformed), and a key file does not
// outlive its Secret.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, REPO, cleanEnv, startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { makeCert, type KeyPair } from '../helpers/certs.js';
import { request } from '../helpers/http.js';
import { ManifestDir, backend, ingress, tlsSecret } from '../helpers/manifests.js';
import { closeAll, startPods, type Pods } from '../helpers/pods.js';

type Obj = Record<string, unknown>;

const mode = (file: string) => fs.statSync(file).mode & 0o777;
const octal = (n: number) => `0${n.toString(8)}`;

/** 20-character windows of a key's PEM body and of the base64 of the whole PEM (a Secret's data). */
function rawPieces(keyPem: string): string[] {
  const body = keyPem
    .split('\n')
    .filter((l) => l && !l.startsWith('-----'))
    .join('');
  const b64 = Buffer.from(keyPem).toString('base64');
  const pieces: string[] = [];
  for (const text of [body, b64]) for (let i = 0; i + 20 <= text.length; i += 10) pieces.push(text.slice(i, i + 20));
  return pieces;
}

// every P-256 key of a format starts alike (algorithm identifiers): such pieces say nothing secret
const reference = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const generic = new Set([
  ...rawPieces(reference.export({ type: 'pkcs8', format: 'pem' }) as string),
  ...rawPieces(reference.export({ type: 'sec1', format: 'pem' }) as string),
]);

/** The pieces of a private key that are its own, as they could show up in some text. */
function keyPieces(keyPem: string): string[] {
  return rawPieces(keyPem).filter((p) => !generic.has(p));
}

/** The same key as a SEC1 "EC PRIVATE KEY" PEM, where the secret scalar starts a few bytes in. */
const sec1 = (keyPem: string) => crypto.createPrivateKey(keyPem).export({ type: 'sec1', format: 'pem' }) as string;

function leaks(text: string, keys: string[]): string[] {
  return keys.flatMap(keyPieces).filter((p) => text.includes(p));
}

/** Everything the controller tells: its log, /status, /metrics, /backends. */
async function everythingSaid(ctl: RunningController): Promise<string> {
  const get = async (p: string) => (await request(ctl.ports.status, '127.0.0.1', p)).body;
  return [ctl.log(), await get('/status'), await get('/metrics'), await get('/backends')].join('\n');
}

/** Every file under dir (recursive) with its content. */
function filesUnder(dir: string): { file: string; text: string }[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .map((f) => path.join(dir, f))
    .filter((f) => fs.statSync(f).isFile())
    .map((file) => ({ file, text: fs.readFileSync(file, 'latin1') }));
}

function opaqueSecret(name: string, data: Record<string, string>): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name, namespace: 'default' },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

describe('e2e faults: secrets', function () {
  let pods: Pods;

  before(async function () {
    pods = await startPods([{ name: 's-1', address: '127.0.9.1' }]);
  });

  after(async function () {
    await closeAll(pods);
  });

  describe('TLS keys', function () {
    const HOST = 'tls.example.com';
    let manifests: ManifestDir;
    let ctl: RunningController | undefined;
    let cert: KeyPair;
    let rotated: KeyPair;
    let other: KeyPair;

    before(async function () {
      this.timeout(60_000);
      cert = makeCert(HOST);
      rotated = makeCert(HOST);
      other = makeCert('other.example.com');
      manifests = new ManifestDir('faults-tls');
      manifests.write('app.yaml', [
        ...backend('s-svc', pods),
        ingress('tls', {
          host: HOST,
          tls: [{ hosts: [HOST], secretName: 'tls-secret' }],
          paths: [{ path: '/', service: 's-svc' }],
        }),
      ]);
      manifests.write('secret.yaml', tlsSecret('tls-secret', cert.cert, cert.key));
      ctl = await startController({ manifests: manifests.dir });
    });

    stopAfter(
      () => ctl,
      () => manifests?.cleanup(),
    );

    const sslDir = () => path.join(ctl!.prefix, 'ssl');
    /** The .pem files under PREFIX/ssl holding this key. */
    const keyFiles = (key: string) =>
      filesUnder(sslDir())
        .filter((f) => f.text.includes(key.trim().split('\n')[1]!))
        .map((f) => path.basename(f.file));

    it('key files are mode 0600 in a 0700 directory; nothing else is there', async function () {
      const reply = await ctl!.https(HOST, '/');
      assert.equal(reply.pod?.pod, 's-1');
      assert.equal(reply.cert?.subject.CN, HOST, "the Secret's certificate is served");
      assert.equal(octal(mode(sslDir())), '0700');
      const files = fs.readdirSync(sslDir()).sort();
      assert.deepEqual(keyFiles(cert.key), [files.find((f) => f.startsWith('default_tls-secret-'))], files.join(' '));
      assert.deepEqual(
        files.filter((f) => !/^(default|default_tls-secret-[0-9a-f]{16})\.pem$/.test(f)),
        [],
        'no temporary or stray files',
      );
      for (const name of files) {
        assert.equal(octal(mode(path.join(sslDir(), name))), '0600', name);
        assert.equal(fs.statSync(path.join(sslDir(), name)).uid, process.getuid!(), name);
      }
      assert.ok(!ctl!.nginxConf().includes(cert.key.split('\n')[1]!), 'nginx.conf names the file, not the key');
    });

    it('no private key text in the log, /status, /metrics or /backends, also for malformed Secrets reported by name', async function () {
      // the usual mistakes: PEM text in data (not base64), a key that belongs to another certificate,
      // and a key file saved with a .yaml name in the manifests directory
      const rawPem = {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/tls',
        metadata: { name: 'raw-pem', namespace: 'default' },
        data: { 'tls.crt': other.cert, 'tls.key': other.key },
      };
      manifests.write('raw-pem.yaml', rawPem);
      manifests.write('mismatch.yaml', [
        tlsSecret('mismatch', cert.cert, other.key),
        ingress('mismatch', {
          host: 'mismatch.example.com',
          tls: [{ hosts: ['mismatch.example.com'], secretName: 'mismatch' }],
          paths: [{ path: '/', service: 's-svc' }],
        }),
      ]);
      manifests.write('leaked-key.yaml', sec1(other.key));
      const problems = await ctl!.waitFor(
        async () => {
          const current = (await ctl!.status()).problems;
          return ['raw-pem.yaml', 'mismatch.yaml', 'leaked-key.yaml'].every((f) =>
            current.some((l) => l.startsWith(`error: ${f}`)),
          )
            ? current
            : undefined;
        },
        { what: 'the three files reported' },
      );
      assert.ok(
        problems.some((p) =>
          /^error: raw-pem\.yaml:\d+ Secret default\/raw-pem data\["tls\.(crt|key)"\]: must be a base64 string/.test(p),
        ),
        problems.join('\n'),
      );
      assert.ok(
        problems.some((p) =>
          /^error: mismatch\.yaml:\d+ Secret default\/mismatch data\["tls\.key"\]: private key does not match the certificate/.test(
            p,
          ),
        ),
        problems.join('\n'),
      );
      assert.ok(
        problems.some((p) => /^error: leaked-key\.yaml:\d+: expected a Kubernetes object/.test(p)),
        problems.join('\n'),
      );
      await ctl!.settle();
      assert.deepEqual(leaks(await everythingSaid(ctl!), [cert.key, other.key, sec1(other.key), rotated.key]), []);
      assert.equal((await ctl!.https(HOST, '/')).cert?.subject.CN, HOST);
      for (const name of ['raw-pem.yaml', 'mismatch.yaml', 'leaked-key.yaml']) manifests.remove(name);
      await ctl!.waitFor(async () => (await ctl!.status()).problems.length === 0, { what: 'no problems left' });
    });

    it('a rotated Secret: the old key file is removed once the new one is applied; a deleted Secret: its key file is removed after the next apply', async function () {
      const before = keyFiles(cert.key);
      assert.equal(before.length, 1);
      manifests.write('secret.yaml', tlsSecret('tls-secret', rotated.cert, rotated.key));
      await ctl!.waitFor(
        async () =>
          (await ctl!.https(HOST, '/')).cert?.fingerprint256 ===
          new crypto.X509Certificate(rotated.cert).fingerprint256,
        { what: 'the rotated certificate served' },
      );
      await ctl!.settle();
      assert.deepEqual(keyFiles(cert.key), [], 'the old key file is gone');
      assert.equal(keyFiles(rotated.key).length, 1);

      manifests.remove('secret.yaml');
      await ctl!.waitFor(
        async () => (await ctl!.https(HOST, '/')).cert?.subject.CN === 'Ingress Templater Fake Certificate',
        { what: 'the default certificate served' },
      );
      await ctl!.settle();
      assert.deepEqual(fs.readdirSync(sslDir()), ['default.pem']);
      // nowhere under the prefix
      for (const key of [cert.key, rotated.key]) {
        assert.deepEqual(
          filesUnder(ctl!.prefix)
            .filter((f) => leaks(f.text, [key]).length)
            .map((f) => f.file),
          [],
        );
      }
      assert.ok((await ctl!.status()).problems.some((p) => /Secret default\/tls-secret not found/.test(p)));
      assert.equal((await ctl!.http(HOST, '/')).status, 308, 'still a TLS host: plain HTTP redirects');
    });
  });

  describe('managed files (CA bundles, client keys, htpasswd)', function () {
    const HOST = 'guarded.example.com';
    let manifests: ManifestDir;
    let ctl: RunningController | undefined;
    let client: KeyPair;
    let expected: { name: string; mode: number }[] = [];

    before(async function () {
      this.timeout(60_000);
      const ca = makeCert('ca.example.com');
      client = makeCert('client.example.com');
      const htpasswd = `alice:${execFileSync('openssl', ['passwd', '-apr1', 'secret-password']).toString().trim()}\n`;
      manifests = new ManifestDir('faults-files-mode');
      manifests.write('app.yaml', [
        ...backend('s-svc', pods),
        ingress('guarded', {
          host: HOST,
          paths: [{ path: '/', service: 's-svc' }],
          tls: [{ hosts: [HOST] }],
          annotations: {
            'nginx.ingress.kubernetes.io/auth-tls-secret': 'default/ca-secret',
            'nginx.ingress.kubernetes.io/auth-tls-verify-client': 'optional',
            'nginx.ingress.kubernetes.io/proxy-ssl-secret': 'default/proxy-secret',
            'nginx.ingress.kubernetes.io/auth-type': 'basic',
            'nginx.ingress.kubernetes.io/auth-secret': 'auth-secret',
          },
        }),
      ]);
      manifests.write('secrets.yaml', [
        opaqueSecret('ca-secret', { 'ca.crt': ca.cert }),
        opaqueSecret('proxy-secret', { 'ca.crt': ca.cert, 'tls.crt': client.cert, 'tls.key': client.key }),
        opaqueSecret('auth-secret', { auth: htpasswd }),
      ]);
      // the managed files the model gives, with their modes (render --format json leaves out the content)
      const result = spawnSync(process.execPath, [CLI, 'render', '--format', 'json', '--manifests', manifests.dir], {
        cwd: REPO,
        env: cleanEnv(),
        encoding: 'utf8',
      });
      expected = (JSON.parse(result.stdout) as { files: { name: string; mode: number }[] }).files;
      if (!expected.length) {
        process.stdout.write(
          `      (skipped: no annotation family gives managed files for these annotations yet; render says: ${result.stderr.trim().split('\n').join('; ')})\n`,
        );
        manifests.cleanup();
        this.skip();
      }
      ctl = await startController({ manifests: manifests.dir });
    });

    stopAfter(
      () => ctl,
      () => manifests?.cleanup(),
    );

    const filesDir = () => path.join(ctl!.prefix, 'files');

    it("each file has the mode the model gives it (group-readable ones belong to the workers' group); the directory is 0711", async function () {
      process.stdout.write(`      (managed files: ${expected.map((f) => `${f.name} ${octal(f.mode)}`).join(', ')})\n`);
      assert.equal(octal(mode(filesDir())), '0711');
      assert.deepEqual(fs.readdirSync(filesDir()).sort(), expected.map((f) => f.name).sort());
      const nobody = fs
        .readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .find((l) => l.startsWith('nobody:'));
      for (const managed of expected) {
        const file = path.join(filesDir(), managed.name);
        assert.equal(octal(mode(file)), octal(managed.mode), managed.name);
        if (managed.mode & 0o040 && process.getuid!() === 0 && nobody)
          assert.equal(fs.statSync(file).gid, Number(nobody.split(':')[3]), `${managed.name}: the workers' group`);
        else assert.equal(fs.statSync(file).gid, process.getgid!(), managed.name);
      }
      assert.deepEqual(leaks(await everythingSaid(ctl!), [client.key]), []);
    });

    it('files of deleted Secrets are removed after the next apply', async function () {
      manifests.remove('secrets.yaml');
      await ctl!.waitFor(() => fs.readdirSync(filesDir()).length === 0, { what: 'no managed file left' });
      assert.deepEqual(
        filesUnder(ctl!.prefix)
          .filter((f) => leaks(f.text, [client.key]).length)
          .map((f) => f.file),
        [],
        'the client key nowhere under the prefix',
      );
    });
  });
});
