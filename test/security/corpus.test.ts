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
import { ANNOTATION, buildCorpus, NAME_PAYLOADS } from './corpus.js';
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

// Debian's headers-more module (scripts/setup.sh installs it)
const HEADERS_MORE = '/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so';

function withHeadersMore(render: RenderOptions): RenderOptions {
  return { ...render, features: { ...render.features, headersMore: { module: HEADERS_MORE } } };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

function base(cert: TestCert, extra: Record<string, string> = {}): Docs {
  // a canary needs a main Ingress for the same host and path, with another Service
  // biome-ignore lint/suspicious/noExplicitAny: plain manifest documents
  const main: any[] =
    extra[`${ANNOTATION}canary`] === 'true'
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
  if (extra[`${ANNOTATION}auth-secret`] === 'htpasswd') {
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

function manifestText(docs: Docs, ingressYaml?: string): string {
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: CONFIG_MAP_OPTION.configMap.name, namespace: CONFIG_MAP_OPTION.configMap.namespace },
    data: docs.configMap.data,
  };
  return [cm, docs.service, docs.slice, docs.secret, ...docs.extra]
    .map((o) => YAML.stringify(o))
    .concat(ingressYaml ?? YAML.stringify(docs.ingress))
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
    const char = line[i]!;
    if (char === '#') break;
    if (char === '"' || char === "'") {
      const quote = char;
      i++;
      while (i < line.length && line[i] !== quote) i += line[i] === '\\' ? 2 : 1;
      out += ' STR ';
      continue;
    }
    out += char;
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
  const baseline = (testCase: Case): Run => {
    const key = JSON.stringify(testCase.with ?? {});
    if (!baselines.has(key)) baselines.set(key, run(manifestText(base(cert, testCase.with))));
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
    const baselineRun = baseline({ name: 'base', payload: '', mutate: () => {} });
    assert.deepEqual(
      baselineRun.problems.filter((p) => p.severity === 'error'),
      [],
      show(baselineRun.problems),
    );
    assert.match(baselineRun.text, /server_name app\.example\.com;/);
    assert.ok(controlledDirectives(baselineRun.text).size > 0);
    assert.match(baselineRun.text, /^[\n\x20-\x7e]*$/);
  });

  for (const testCase of cases) {
    it(testCase.name, () => {
      const baselineRun = baseline(testCase);
      const docs = base(cert, testCase.with);
      testCase.mutate(docs);
      let result: Run;
      try {
        result = run(manifestText(docs, testCase.ingressYaml?.(testCase.payload)));
      } catch (err) {
        assert.fail(`the pipeline crashed: ${(err as Error).stack}`);
      }
      results.set(testCase, result);
      const errors = result.problems.filter((p) => p.severity === 'error');
      // refused: an error, or (an annotation whose invalid value does not deny, as ingress-nginx) a warning
      // that it is ignored; either way the value never reaches the config
      const refusals = [
        ...errors,
        ...result.problems.filter(
          (p) =>
            p.severity === 'warning' &&
            ((p.field?.startsWith('metadata.annotations') && /ignored/.test(p.message)) ||
              // a settings ConfigMap key whose invalid value is tolerated (model/settings.ts)
              (p.field?.startsWith('data.') && /ignored, its default applies/.test(p.message))),
        ),
      ];
      if (process.env.CORPUS_VERBOSE)
        console.log(`${testCase.name}: ${errors.length ? `REJECTED ${errors[0]!.message.slice(0, 100)}` : 'ACCEPTED'}`);
      const served = /server_name app\.example\.com;/.test(result.text);
      const annotation = testCase.name.startsWith('annotation ') || testCase.name.startsWith('YAML ');
      if (refusals.length && testCase.annotation) {
        assert.ok(
          refusals.some((p) => p.field === `metadata.annotations["${testCase.annotation}"]`),
          `no problem names ${testCase.annotation}: ${show(refusals)}`,
        );
      }
      const canary = testCase.with?.[`${ANNOTATION}canary`] === 'true';
      if (canary) {
        // a canary has no locations of its own; an invalid rule is an error and the canary is left out
        if (!refusals.length) assert.ok(testCase.mayAccept, `accepted without an error: ${show(result.problems)}`);
        else assert.ok(!result.model.servers.flatMap((s) => s.locations).some((l) => l.ingress === 'shop/app'));
      } else if (errors.length && annotation) {
        // an invalid annotation denies the Ingress: its locations answer 503
        const own = result.model.servers.flatMap((s) => s.locations).filter((l) => l.ingress === 'shop/app');
        assert.ok(own.length > 0, 'the Ingress keeps its locations');
        for (const location of own) assert.ok(location.denied, `${location.path} is denied`);
        assert.match(result.text, /return 503;/);
      }
      if (!refusals.length) {
        if (testCase.mayBeIgnored && !served) {
          // not this controller's Ingress: left out entirely
        } else if (SPECIAL.test(testCase.payload) || testCase.payload.length > 4096) {
          assert.ok(testCase.mayAccept, `accepted without an error: ${show(result.problems)}`);
          // where an accepted value shows in the config at all, it is a whole quoted string made by str
          if (testCase.payload.length >= 6) {
            for (const match of result.text.matchAll(
              new RegExp(testCase.payload.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g'),
            )) {
              assert.equal(result.text[match.index! - 1], '"', `unquoted at ${match.index}`);
              assert.equal(result.text[match.index! + testCase.payload.length], '"', `unquoted at ${match.index}`);
            }
          }
        }
      }
      // the config is printable ASCII lines: no NUL, CR, U+2028, tab or other Unicode from the payload
      const odd = result.text.match(/[^\n\x20-\x7e]/);
      assert.equal(odd, null, `unexpected character ${JSON.stringify(odd?.[0])}`);
      // nothing of the payload became nginx words outside quoted strings
      const lines = result.text.split('\n');
      for (const [index, line] of lines.entries()) {
        const words = bare(line);
        for (const re of DANGER) assert.doesNotMatch(words, re, `line ${index + 1}: ${line}`);
      }
      // load_module, include and *_by_lua* directives are exactly the controller's own
      const own = controlledDirectives(baselineRun.text);
      for (const directive of controlledDirectives(result.text))
        assert.ok(own.has(directive), `not the controller's own: ${directive}`);
      if (served && !errors.length) assert.deepEqual(controlledDirectives(result.text), own);
      // the same model for an nginx with headers-more (response headers as more_set_headers "Name: value")
      const more = renderer.render(result.model, withHeadersMore(options(PREFIX))).text;
      assert.equal(more.match(/[^\n\x20-\x7e]/), null);
      for (const [index, line] of more.split('\n').entries()) {
        const words = bare(line);
        for (const re of DANGER) assert.doesNotMatch(words, re, `headers-more line ${index + 1}: ${line}`);
      }
    });
  }

  it('nginx -t with headers-more accepts every response header value the model accepts', function () {
    if (!fs.existsSync(HEADERS_MORE) || !LUA_MODULES.every((m) => fs.existsSync(m))) this.skip();
    const accepted = cases.filter((testCase) => / value \(/.test(testCase.name) && testCase.name.includes('-headers'));
    assert.ok(accepted.length >= 20, `${accepted.length}`);
    const def = makeCert(['default.invalid']);
    for (const testCase of accepted) {
      const prefix = tempNginxPrefix('it-corpus-more-');
      try {
        const docs = base(cert, testCase.with);
        testCase.mutate(docs);
        const result = run(manifestText(docs), prefix);
        fs.mkdirSync(filesDir(prefix), { recursive: true });
        fs.writeFileSync(nodePath.join(prefix, 'ssl', 'default.pem'), def.crt + def.key, { mode: 0o600 });
        for (const crt of result.model.certificates)
          fs.writeFileSync(certificateFile(prefix, crt), crt.pem, { mode: 0o600 });
        const text = renderer.render(result.model, withHeadersMore(options(prefix))).text;
        const complaint = nginxConfigTest(prefix, text);
        assert.equal(complaint, null, `${testCase.name}: ${complaint}\n${numberedLines(text)}`);
      } finally {
        fs.rmSync(prefix, { recursive: true, force: true });
      }
    }
  });

  it('nginx -t accepts the configs of a sample of at least 30 cases', function () {
    if (!fs.existsSync('/usr/sbin/nginx') || !LUA_MODULES.every((m) => fs.existsSync(m))) this.skip();
    const sample = cases.filter((_, i) => i % 7 === 0);
    assert.ok(sample.length >= 30, `${sample.length}`);
    const def = makeCert(['default.invalid']);
    for (const testCase of sample) {
      const prefix = tempNginxPrefix('it-corpus-');
      try {
        const docs = base(cert, testCase.with);
        testCase.mutate(docs);
        const result = run(manifestText(docs, testCase.ingressYaml?.(testCase.payload)), prefix);
        fs.mkdirSync(filesDir(prefix), { recursive: true });
        fs.writeFileSync(nodePath.join(prefix, 'ssl', 'default.pem'), def.crt + def.key, { mode: 0o600 });
        for (const crt of result.model.certificates)
          fs.writeFileSync(certificateFile(prefix, crt), crt.pem, { mode: 0o600 });
        for (const managed of result.model.files)
          fs.writeFileSync(nodePath.join(filesDir(prefix), managed.name), managed.content, { mode: managed.mode });
        const complaint = nginxConfigTest(prefix, result.text);
        assert.equal(complaint, null, `${testCase.name}: ${complaint}\n${numberedLines(result.text)}`);
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
          const docs = base(cert, {
            [`${ANNOTATION}auth-type`]: 'basic',
            [`${ANNOTATION}auth-secret`]: name,
            [`${ANNOTATION}auth-tls-secret`]: `${ns}/${name}`,
          });
          docs.secret.metadata.name = name;
          docs.secret.metadata.namespace = ns;
          docs.ingress.metadata.namespace = ns;
          docs.ingress.spec.tls[0].secretName = name;
          docs.slice.metadata.namespace = ns;
          docs.service.metadata.namespace = ns;
          const result = run(manifestText(docs));
          for (const crt of result.model.certificates) {
            assert.equal(
              nodePath.dirname(nodePath.resolve(certificateFile(PREFIX, crt))),
              nodePath.join(PREFIX, 'ssl'),
              crt.name,
            );
          }
          for (const managed of result.model.files) {
            assert.equal(
              nodePath.dirname(nodePath.resolve(filesDir(PREFIX), managed.name)),
              filesDir(PREFIX),
              managed.name,
            );
            assert.equal(fileIn(filesDir(PREFIX), managed.name), `"${filesDir(PREFIX)}/${managed.name}"`);
          }
          for (const match of result.text.matchAll(/"?(\/srv\/it\/[^";\s]*)/g)) {
            const file = nodePath.resolve(match[1]!);
            assert.ok(file === match[1] && file.startsWith(`${PREFIX}/`), file);
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
