// Issue 6, security: an adversarial corpus through the real pipeline (parseManifests -> Store ->
// buildModel -> render in Lua mode). Every case is either refused with an error, or harmless; in every
// case nothing of the payload becomes nginx syntax.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import nodePath from 'node:path';
import YAML from 'yaml';
import { buildModel } from '../../src/model/index.js';
import type { Model } from '../../src/model/index.js';
import { certificateFile, filesDir, LUA_DIR, loadTemplates } from '../../src/render/index.js';
import type { RenderOptions } from '../../src/render/index.js';
import { fileIn } from '../../src/render/escape.js';
import { parseManifests } from '../../src/sources/loader.js';
import { Store } from '../../src/store.js';
import type { Problem } from '../../src/resources.js';
import { nginxConfigTest, numberedLines, tempNginxPrefix } from '../helpers/nginx-configtest.js';
import { CONFIG_MAP_OPTION, makeCert, OPTIONS, show } from '../helpers/resources.js';
import type { TestCert } from '../helpers/resources.js';
import { A, buildCorpus, NAME_PAYLOADS } from './corpus.js';
import type { Case, Docs } from './corpus.js';

const LUA_MODULES = ['/usr/lib/nginx/modules/ndk_http_module.so', '/usr/lib/nginx/modules/ngx_http_lua_module.so'];
const PREFIX = '/srv/it';

function options(prefix: string, luaModules: string[] = LUA_MODULES): RenderOptions {
  return {
    prefix,
    listenAddress: '127.0.0.1',
    httpPort: 8080,
    httpsPort: 8443,
    internalPort: 10246,
    defaultCertificate: nodePath.join(prefix, 'ssl', 'default.pem'),
    features: { tempPaths: ['fastcgi', 'uwsgi', 'scgi'] },
    version: '0.1.0',
    balancer: 'lua',
    luaDir: LUA_DIR,
    luaModules,
  };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

function base(cert: TestCert, extra: Record<string, string> = {}): Docs {
  // a canary needs a main Ingress for the same host and path, with another Service
  // biome-ignore lint/suspicious/noExplicitAny: plain manifest documents
  const main: any[] =
    extra[`${A}canary`] === 'true'
      ? [
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'main', namespace: 'shop' },
            spec: { ports: [{ name: 'http', port: 80 }] },
          },
          {
            apiVersion: 'networking.k8s.io/v1',
            kind: 'Ingress',
            metadata: { name: 'main', namespace: 'shop', creationTimestamp: '2023-01-01T00:00:00Z' },
            spec: {
              rules: [
                {
                  host: 'app.example.com',
                  http: {
                    paths: [
                      {
                        path: '/api',
                        pathType: 'Prefix',
                        backend: { service: { name: 'main', port: { name: 'http' } } },
                      },
                    ],
                  },
                },
              ],
            },
          },
        ]
      : [];
  if (extra[`${A}auth-secret`] === 'htpasswd') {
    // user "user", password "password"
    main.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'htpasswd', namespace: 'shop' },
      type: 'Opaque',
      data: { auth: b64('user:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n') },
    });
  }
  return {
    extra: main,
    configMap: { data: {} },
    service: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    },
    slice: {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true } }],
      ports: [{ name: 'http', port: 8080 }],
    },
    secret: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'app-tls', namespace: 'shop' },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64(cert.crt), 'tls.key': b64(cert.key) },
    },
    ingress: {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: 'app',
        namespace: 'shop',
        creationTimestamp: '2024-01-01T00:00:00Z',
        annotations: { ...extra },
      },
      spec: {
        tls: [{ hosts: ['app.example.com'], secretName: 'app-tls' }],
        rules: [
          {
            host: 'app.example.com',
            http: {
              paths: [
                { path: '/api', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } },
              ],
            },
          },
        ],
      },
    },
  };
}

function manifestText(d: Docs, ingressYaml?: string): string {
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: CONFIG_MAP_OPTION.configMap.name, namespace: CONFIG_MAP_OPTION.configMap.namespace },
    data: d.configMap.data,
  };
  return [cm, d.service, d.slice, d.secret, ...d.extra]
    .map((o) => YAML.stringify(o))
    .concat(ingressYaml ?? YAML.stringify(d.ingress))
    .join('---\n');
}

interface Run {
  model: Model;
  problems: Problem[];
  text: string;
}

const renderer = loadTemplates();

function run(text: string, prefix = PREFIX): Run {
  const loaded = parseManifests(text, 'corpus.yaml');
  const store = new Store();
  const notes = store.setFile('corpus.yaml', loaded);
  const built = buildModel(store, { ...OPTIONS, ...CONFIG_MAP_OPTION, balancer: 'lua' });
  const rendered = renderer.render(built.model, options(prefix)).text;
  return { model: built.model, problems: [...loaded.problems, ...notes, ...built.problems], text: rendered };
}

/** A line with its quoted strings and comment taken out: what nginx reads as words and punctuation. */
function bare(line: string): string {
  let out = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '#') break;
    if (c === '"' || c === "'") {
      const q = c;
      i++;
      while (i < line.length && line[i] !== q) i += line[i] === '\\' ? 2 : 1;
      out += ' STR ';
      continue;
    }
    out += c;
  }
  return out;
}

const DANGER = [/include\s+\/etc/, /load_module\s+\/tmp/, /ssl_engine/, /os\.execute/, /pwned/i, /`/];
const CONTROLLED = /^\s*(load_module|include|[a-z_]+_by_lua(_block|_file)?)\b/;

function controlledDirectives(text: string): Set<string> {
  return new Set(
    text
      .split('\n')
      .filter((l) => CONTROLLED.test(l))
      .map((l) => l.trim()),
  );
}

// Characters the payloads use to leave a value; an accepted value holding one needs a reason (mayAccept).
const SPECIAL = /[\n\r;{}#"'`\\$\t\u0000]|[^\x00-\x7f]/;

describe('security: adversarial corpus', function () {
  this.timeout(300_000);
  const cert = makeCert(['app.example.com']);
  const cases = buildCorpus();
  const baselines = new Map<string, Run>();
  const baseline = (c: Case): Run => {
    const key = JSON.stringify(c.with ?? {});
    if (!baselines.has(key)) baselines.set(key, run(manifestText(base(cert, c.with))));
    return baselines.get(key)!;
  };
  const results = new Map<Case, Run>();

  it('has at least 200 cases, each with a distinct name', () => {
    assert.ok(cases.length >= 200, `${cases.length} cases`);
    assert.equal(new Set(cases.map((c) => c.name)).size, cases.length);
  });

  it('the checks below see injected directives, and not quoted text', () => {
    assert.match(bare('    include /etc/passwd;'), DANGER[0]!);
    assert.match(bare('    auth_basic "x"; ssl_engine pwned; "y";'), DANGER[2]!);
    assert.doesNotMatch(bare('    auth_basic "x; include /etc/passwd; load_module /tmp/x.so";'), /include|load_module/);
    assert.doesNotMatch(bare('    # include /etc/passwd'), /include/);
    assert.deepEqual(
      [...controlledDirectives('a;\n  include /etc/passwd;\n  content_by_lua_block {\n')],
      ['include /etc/passwd;', 'content_by_lua_block {'],
    );
  });

  it("the baselines render cleanly, with the controller's own Lua and no error", () => {
    const b = baseline({ name: 'base', payload: '', mutate: () => {} });
    assert.deepEqual(
      b.problems.filter((p) => p.severity === 'error'),
      [],
      show(b.problems),
    );
    assert.match(b.text, /server_name app\.example\.com;/);
    assert.ok(controlledDirectives(b.text).size > 0);
    assert.match(b.text, /^[\n\x20-\x7e]*$/);
  });

  for (const c of cases) {
    it(c.name, () => {
      const b = baseline(c);
      const d = base(cert, c.with);
      c.mutate(d);
      let r: Run;
      try {
        r = run(manifestText(d, c.ingressYaml?.(c.payload)));
      } catch (e) {
        assert.fail(`the pipeline crashed: ${(e as Error).stack}`);
      }
      results.set(c, r);
      const errors = r.problems.filter((p) => p.severity === 'error');
      if (process.env.CORPUS_VERBOSE)
        console.log(`${c.name}: ${errors.length ? `REJECTED ${errors[0]!.message.slice(0, 100)}` : 'ACCEPTED'}`);
      const served = /server_name app\.example\.com;/.test(r.text);
      const annotation = c.name.startsWith('annotation ') || c.name.startsWith('YAML ');
      if (errors.length && c.annotation) {
        assert.ok(
          errors.some((p) => p.field === `metadata.annotations["${c.annotation}"]`),
          `no error names ${c.annotation}: ${show(errors)}`,
        );
      }
      const canary = c.with?.[`${A}canary`] === 'true';
      if (canary) {
        // a canary has no locations of its own; an invalid rule is an error and the canary is left out
        if (!errors.length) assert.ok(c.mayAccept, `accepted without an error: ${show(r.problems)}`);
        else assert.ok(!r.model.servers.flatMap((s) => s.locations).some((l) => l.ingress === 'shop/app'));
      } else if (errors.length && annotation) {
        // an invalid annotation denies the Ingress: its locations answer 503
        const own = r.model.servers.flatMap((s) => s.locations).filter((l) => l.ingress === 'shop/app');
        assert.ok(own.length > 0, 'the Ingress keeps its locations');
        for (const l of own) assert.ok(l.denied, `${l.path} is denied`);
        assert.match(r.text, /return 503;/);
      }
      if (!errors.length) {
        if (c.mayBeIgnored && !served) {
          // not this controller's Ingress: left out entirely
        } else if (SPECIAL.test(c.payload) || c.payload.length > 4096) {
          assert.ok(c.mayAccept, `accepted without an error: ${show(r.problems)}`);
          // where an accepted value shows in the config at all, it is a whole quoted string made by str
          if (c.payload.length >= 6) {
            for (const m of r.text.matchAll(new RegExp(c.payload.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g'))) {
              assert.equal(r.text[m.index! - 1], '"', `unquoted at ${m.index}`);
              assert.equal(r.text[m.index! + c.payload.length], '"', `unquoted at ${m.index}`);
            }
          }
        }
      }
      // the config is printable ASCII lines: no NUL, CR, U+2028, tab or other Unicode from the payload
      const odd = r.text.match(/[^\n\x20-\x7e]/);
      assert.equal(odd, null, `unexpected character ${JSON.stringify(odd?.[0])}`);
      // nothing of the payload became nginx words outside quoted strings
      const lines = r.text.split('\n');
      for (const [i, line] of lines.entries()) {
        const words = bare(line);
        for (const re of DANGER) assert.doesNotMatch(words, re, `line ${i + 1}: ${line}`);
      }
      // load_module, include and *_by_lua* directives are exactly the controller's own
      const own = controlledDirectives(b.text);
      for (const l of controlledDirectives(r.text)) assert.ok(own.has(l), `not the controller's own: ${l}`);
      if (served && !errors.length) assert.deepEqual(controlledDirectives(r.text), own);
    });
  }

  it('nginx -t accepts the configs of a sample of at least 30 cases', function () {
    if (!fs.existsSync('/usr/sbin/nginx') || !LUA_MODULES.every((m) => fs.existsSync(m))) this.skip();
    const sample = cases.filter((_, i) => i % 7 === 0);
    assert.ok(sample.length >= 30, `${sample.length}`);
    const def = makeCert(['default.invalid']);
    for (const c of sample) {
      const prefix = tempNginxPrefix('it-corpus-');
      try {
        const d = base(cert, c.with);
        c.mutate(d);
        const r = run(manifestText(d, c.ingressYaml?.(c.payload)), prefix);
        fs.mkdirSync(filesDir(prefix), { recursive: true });
        fs.writeFileSync(nodePath.join(prefix, 'ssl', 'default.pem'), def.crt + def.key, { mode: 0o600 });
        for (const crt of r.model.certificates)
          fs.writeFileSync(certificateFile(prefix, crt), crt.pem, { mode: 0o600 });
        for (const f of r.model.files)
          fs.writeFileSync(nodePath.join(filesDir(prefix), f.name), f.content, { mode: f.mode });
        const complaint = nginxConfigTest(prefix, r.text);
        assert.equal(complaint, null, `${c.name}: ${complaint}\n${numberedLines(r.text)}`);
      } finally {
        fs.rmSync(prefix, { recursive: true, force: true });
      }
    }
  });

  describe('file paths', () => {
    it('Secret and object names with path traversal never give a file outside PREFIX/ssl or PREFIX/files', () => {
      const names = [...Object.values(NAME_PAYLOADS), 'app-tls', 'a.b', '-x'];
      for (const name of names) {
        for (const ns of ['shop', ...Object.values(NAME_PAYLOADS)]) {
          const d = base(cert, {
            [`${A}auth-type`]: 'basic',
            [`${A}auth-secret`]: name,
            [`${A}auth-tls-secret`]: `${ns}/${name}`,
          });
          d.secret.metadata.name = name;
          d.secret.metadata.namespace = ns;
          d.ingress.metadata.namespace = ns;
          d.ingress.spec.tls[0].secretName = name;
          d.slice.metadata.namespace = ns;
          d.service.metadata.namespace = ns;
          const r = run(manifestText(d));
          for (const crt of r.model.certificates) {
            assert.equal(
              nodePath.dirname(nodePath.resolve(certificateFile(PREFIX, crt))),
              nodePath.join(PREFIX, 'ssl'),
              crt.name,
            );
          }
          for (const f of r.model.files) {
            assert.equal(nodePath.dirname(nodePath.resolve(filesDir(PREFIX), f.name)), filesDir(PREFIX), f.name);
            assert.equal(fileIn(filesDir(PREFIX), f.name), `"${filesDir(PREFIX)}/${f.name}"`);
          }
          for (const m of r.text.matchAll(/"?(\/srv\/it\/[^";\s]*)/g)) {
            const file = nodePath.resolve(m[1]!);
            assert.ok(file === m[1] && file.startsWith(`${PREFIX}/`), file);
          }
        }
      }
    });

    it('fileIn and certificateFile refuse names that leave their directory', () => {
      for (const name of ['../../etc/passwd', 'a/b', '..', '.', '', '/etc/passwd', 'x\n', `${'a'.repeat(300)}`]) {
        assert.throws(() => fileIn(filesDir(PREFIX), name), /refusing/, name);
      }
      for (const name of ['../../etc/passwd', 'a/b', '..', '', '/etc/passwd']) {
        assert.throws(() => certificateFile(PREFIX, { name, pem: '', hash: '0'.repeat(64), notAfter: '' }), name);
      }
    });
  });
});
