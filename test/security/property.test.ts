// Property-based test (issue 6): random manifests, with hostile text in hosts, paths and annotations, go
// through parseManifests + buildModel + render. Each Ingress is either reported with an error Problem, or
// its hostile text only changes argument values: the rendered config has exactly the directive names and
// block structure of the config rendered from a sanitized copy, where every hostile value is replaced by
// a fixed safe value of the same kind. A bounded number of generated configs also go through `nginx -t`.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildModel } from '../../src/model/index.js';
import type { Model } from '../../src/model/index.js';
import { loadTemplates } from '../../src/render/index.js';
import { parseManifests } from '../../src/sources/loader.js';
import { Store } from '../../src/store.js';
import type { Problem } from '../../src/resources.js';
import { nginxAccepts, renderOptions } from '../model/annotations/nginx-check.js';
import { endpoints, ingress, service, yamlDocs } from '../helpers/manifests.js';
import { parseNginx, structure } from '../helpers/nginx-parse.js';
import { OPTIONS } from '../helpers/resources.js';

const SEED = Number(process.env.PROPERTY_SEED ?? 20261127);
const ANNOTATION = 'nginx.ingress.kubernetes.io/';

// A value that is either drawn from a pool of valid values of its kind, or hostile text.
type Value = { hostile: false; v: string } | { hostile: true; v: string };

const INJECTIONS = [
  ';',
  '{',
  '}',
  ' }',
  '#',
  '"',
  "'",
  '\\',
  '$',
  '$host',
  '${x}',
  '\n',
  '\r\n',
  '\t',
  ' ',
  '\u2028',
  '\u0000',
  '\u00e9',
  '\u202e',
  '; include /etc/passwd;',
  '"; return 200 "x',
  "'; }",
  '} server { listen 1;',
  '\n# c\n',
  '\\"',
  '$1',
  '%00',
  '..',
  '//',
  '*',
];
// characters the validators allow in paths and URLs: hostile text that often gets through, so the
// structural comparison sees accepted odd values and not only rejected ones
const ODD = [
  '%3B',
  '%7B%7D',
  '%22',
  '()',
  '(x)',
  '~',
  '!',
  '&',
  '=',
  ',',
  '+',
  '@',
  ':',
  '-',
  '_',
  '.',
  '*',
  '%24host',
];
const SYNTAX = [...';{}#"\'\\$\n\r\t /ab.-*:,()=~^|'];

function hostile(valid: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...valid), fc.constantFrom(...ODD)).map(([a, b]) => a + b) },
    fc.string({ unit: 'binary', maxLength: 24 }),
    fc.string({ unit: fc.constantFrom(...SYNTAX), maxLength: 16 }),
    fc
      .tuple(fc.constantFrom(...valid), fc.constantFrom(...INJECTIONS), fc.constantFrom('', ...valid))
      .map(([a, b, c]) => a + b + c),
    fc.tuple(fc.constantFrom(...INJECTIONS), fc.constantFrom(...valid)).map(([a, b]) => a + b),
  );
}

function value(valid: readonly string[]): fc.Arbitrary<Value> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...valid).map((v): Value => ({ hostile: false, v })) },
    {
      weight: 2,
      arbitrary: hostile(valid)
        .filter((v) => !valid.includes(v))
        .map((v): Value => ({ hostile: true, v })),
    },
  );
}

const HOSTS = ['', 'cafe.example.com', 'tea.example.com', '*.example.com', 'www.shop.example.org'];
const PATHS = ['/', '/tea', '/coffee/', '/api/v1', '/static/img'];
const REGEX_PATHS = ['/api/(.*)', '/v[0-9]+/(.*)', '/x/?(.*)$'];
// annotation (short name) -> valid values; the first is also the safe replacement for hostile text
const ANNOTATIONS: Record<string, readonly string[]> = {
  'rewrite-target': ['/', '/$1', '/api/$1'],
  'use-regex': ['true', 'false'],
  'app-root': ['/app', '/index.html'],
  'upstream-vhost': ['internal.example.com', 'api.example.net'],
  'x-forwarded-prefix': ['/prefix', '/shop'],
  'permanent-redirect': ['https://example.com/new', 'https://www.example.org/', '/new-location?from=old'],
  'relative-redirects': ['true', 'false'],
  'preserve-trailing-slash': ['false', 'true'], // the first is the default an invalid value keeps
  'use-port-in-redirects': ['false', 'true'],
  'temporal-redirect': ['https://example.com/tmp'],
  'proxy-body-size': ['8m', '1k', '0'],
  'proxy-read-timeout': ['30', '120'],
  'proxy-connect-timeout': ['5'],
  'proxy-buffering': ['on', 'off'],
  'ssl-redirect': ['true', 'false'],
  'force-ssl-redirect': ['true', 'false'],
  'whitelist-source-range': ['10.0.0.0/8', '10.0.0.0/8,192.168.0.0/16'],
  'denylist-source-range': ['203.0.113.0/24'],
  'enable-cors': ['true', 'false'],
  'cors-allow-origin': ['https://a.example.com', '*'],
  'cors-allow-methods': ['GET, POST'],
  'custom-http-errors': ['404,503', '500'],
  'from-to-www-redirect': ['true'],
  'backend-protocol': ['HTTP', 'HTTPS', 'GRPC'],
  'load-balance': ['round_robin', 'ewma'],
  'limit-rps': ['10'],
  'configuration-snippet': ['more_set_headers "X: y";'],
  'server-snippet': ['add_header X-S 1;'],
  'auth-url': ['http://127.0.0.1/check'],
  'auth-signin': ['https://login.example.com/start?rd=$escaped_request_uri'],
};
const ANNOTATION_NAMES = Object.keys(ANNOTATIONS);

interface PathGen {
  path: Value;
  pathType: 'Prefix' | 'Exact' | 'ImplementationSpecific';
  service: string;
}
interface IngressGen {
  host: Value;
  paths: PathGen[];
  annotations: [string, Value][];
  tls: boolean;
}
interface Input {
  ingresses: IngressGen[];
  backends: { name: string; ips: string[] }[];
  lua: boolean;
}

const pathGen: fc.Arbitrary<PathGen> = fc.record({
  path: value([...PATHS, ...REGEX_PATHS]),
  pathType: fc.constantFrom('Prefix' as const, 'Exact' as const, 'ImplementationSpecific' as const),
  service: fc.constantFrom('svc-a', 'svc-b', 'svc-c', 'missing'),
});
const ingressGen: fc.Arbitrary<IngressGen> = fc.record({
  host: value(HOSTS),
  paths: fc.array(pathGen, { minLength: 1, maxLength: 3 }),
  annotations: fc
    .uniqueArray(fc.constantFrom(...ANNOTATION_NAMES), { maxLength: 4 })
    .chain((names) => fc.tuple(...names.map((n) => value(ANNOTATIONS[n]!).map((v): [string, Value] => [n, v])))),
  tls: fc.boolean(),
});
const IPS = ['10.1.0.1', '10.1.0.2', '10.1.0.3', '192.168.7.9', '10.1.0.4'];
const inputGen: fc.Arbitrary<Input> = fc.record({
  ingresses: fc.array(ingressGen, { minLength: 1, maxLength: 4 }),
  backends: fc
    .constant(['svc-a', 'svc-b', 'svc-c'])
    .chain((names) =>
      fc.tuple(
        ...names.map((name) => fc.uniqueArray(fc.constantFrom(...IPS), { maxLength: 3 }).map((ips) => ({ name, ips }))),
      ),
    ),
  lua: fc.boolean(),
});

/** The same input with every hostile value replaced by a safe one of its kind (equal values stay equal). */
function sanitize(input: Input): Input {
  const maps = new Map<string, Map<string, string>>();
  const safe = (kind: string, generated: Value, make: (index: number, orig: string) => string): Value => {
    if (!generated.hostile) return generated;
    const byValue = maps.get(kind) ?? new Map<string, string>();
    maps.set(kind, byValue);
    if (!byValue.has(generated.v)) byValue.set(generated.v, make(byValue.size, generated.v));
    return { hostile: false, v: byValue.get(generated.v)! };
  };
  return {
    ...input,
    ingresses: input.ingresses.map((ing) => ({
      ...ing,
      host: safe('host', ing.host, (i) => `safe${i}.example.com`),
      paths: ing.paths.map((p) => ({
        ...p,
        path: safe('path', p.path, (i, o) => `/safe${i}${o.length > 1 && o.endsWith('/') ? '/' : ''}`),
      })),
      annotations: ing.annotations.map(([n, v]) => [n, safe(`annotation ${n}`, v, () => ANNOTATIONS[n]![0]!)]),
    })),
  };
}

function manifests(input: Input, skip: ReadonlySet<number>): string {
  const objs: Record<string, unknown>[] = [];
  for (const backend of input.backends) {
    objs.push(service(backend.name, { ports: [{ name: 'http', port: 80, targetPort: 8080 }] }));
    if (backend.ips.length) objs.push(endpoints(backend.name, { ready: backend.ips, port: 8080, portName: 'http' }));
  }
  input.ingresses.forEach((ing, index) => {
    if (skip.has(index)) return;
    const manifest = ingress(`ing-${index}`, {
      host: ing.host.v || undefined,
      paths: ing.paths.map((p) => ({ path: p.path.v, pathType: p.pathType, service: p.service })),
      annotations: Object.fromEntries(ing.annotations.map(([n, v]) => [ANNOTATION + n, v.v])),
      ...(ing.tls && ing.host.v ? { tls: [{ hosts: [ing.host.v], secretName: 'no-such-secret' }] } : {}),
    });
    (manifest.metadata as Record<string, unknown>).creationTimestamp = `2024-01-0${index + 1}T00:00:00Z`;
    objs.push(manifest);
  });
  return yamlDocs(objs);
}

const renderer = loadTemplates();

interface Outcome {
  errored: Set<number>;
  problems: Problem[];
  model: Model;
  text: string;
}

/** parseManifests + Store + buildModel + render. Render must not throw: an unsafe value has to be caught earlier. */
function run(input: Input, skip: ReadonlySet<number>): Outcome {
  const loaded = parseManifests(manifests(input, skip), 'gen.yaml');
  const store = new Store();
  store.setFile('gen.yaml', {
    resources: loaded.resources,
    rejected: loaded.rejected,
    parseFailed: loaded.parseFailed,
  });
  assert.equal(loaded.parseFailed, false, 'generated YAML must parse');
  const built = buildModel(store, { ...OPTIONS, balancer: input.lua ? 'lua' : 'static' });
  const problems = [...loaded.problems, ...store.duplicates(), ...built.problems];
  const errored = new Set<number>();
  for (const problem of problems) {
    // refused: an error, or an annotation value ignored with a warning (its default applies)
    const ignored = problem.severity === 'warning' && /ignored, its default applies/.test(problem.message);
    if (problem.severity !== 'error' && !ignored) continue;
    const match = /^Ingress default\/ing-(\d+)$/.exec(problem.object ?? '');
    assert.ok(match, `an error not about a generated Ingress: ${JSON.stringify(problem)}`);
    errored.add(Number(match[1]));
  }
  const text = renderer.render(built.model, renderOptions('/srv/it', input.lua ? 'lua' : 'static', [])).text;
  return { errored, problems, model: built.model, text };
}

/** Parse, or fail showing the lines around the place the tokenizer stopped. */
function parsed(text: string): ReturnType<typeof parseNginx> {
  try {
    return parseNginx(text);
  } catch (err) {
    const line = (err as { line?: number }).line ?? 1;
    const around = text
      .split('\n')
      .map((l, i) => `${i + 1}: ${l}`)
      .slice(Math.max(0, line - 8), line + 3)
      .join('\n');
    throw new Error(`${(err as Error).message}\n${around}`);
  }
}

const shape = (text: string) => structure(parsed(text));

function checkStructure(input: Input): void {
  const clean = sanitize(input);
  // the whole input first: whatever is accepted or rejected, the config must parse and render
  const full = run(input, new Set());
  parsed(full.text);
  // then without every Ingress reported with an error (in either copy), until neither reports one
  const skip = new Set<number>();
  for (let round = 0; round < 6; round++) {
    const asGenerated = run(input, skip);
    const sanitized = run(clean, skip);
    const more = [...asGenerated.errored, ...sanitized.errored].filter((i) => !skip.has(i));
    if (more.length === 0) {
      assert.equal(shape(asGenerated.text), shape(sanitized.text), 'hostile values changed the directive structure');
      return;
    }
    for (const index of more) skip.add(index);
  }
  assert.fail('errors did not settle');
}

const params = (numRuns: number): fc.Parameters<[Input]> => ({ seed: SEED, numRuns, endOnFailure: true });

function report(result: fc.RunDetails<[Input]>): void {
  if (!result.failed) return;
  const error = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
  throw new Error(
    `property failed (seed ${result.seed}, path ${JSON.stringify(result.counterexamplePath)}; rerun with PROPERTY_SEED=${result.seed})\n` +
      `counterexample: ${fc.stringify(result.counterexample)}\n${error}`,
  );
}

describe('security: generated manifests (property)', () => {
  it('the nginx tokenizer reads quoting, escapes, comments and blocks as nginx does', () => {
    const directives = parseNginx('a "b\\"c" \'d;e\' f#g; # comment ;{\nh { i ${x}y; } j "x\\ny" k\\;l;');
    assert.deepEqual(
      directives.map((x) => x.name),
      ['a', 'h', 'j'],
    );
    assert.deepEqual(directives[0]!.args, ['b"c', 'd;e', 'f#g']);
    assert.deepEqual(
      directives[1]!.block!.map((x) => [x.name, x.args]),
      [['i', ['${x}y']]],
    );
    assert.deepEqual(directives[2]!.args, ['x\ny', 'k\\;l']);
    assert.throws(() => parseNginx('a "b"c;'), /after a quoted string/);
    assert.throws(() => parseNginx('a { b; '), /expecting "}"/);
    assert.throws(() => parseNginx('a b }'), /unexpected "}"/);
    assert.equal(
      structure(parseNginx('s { location a { x; } location b { y; } z; }')),
      structure(parseNginx('s { location b { y; } location a { x; } z; }')),
    );
    assert.notEqual(structure(parseNginx('s { x; }')), structure(parseNginx('s { x; y; }')));
  });

  it('hostile text is rejected with an error or changes only argument values (300 runs)', function () {
    this.timeout(60_000);
    report(
      fc.check(
        fc.property(inputGen, (input) => {
          checkStructure(input);
        }),
        params(300),
      ),
    );
  });

  it('nginx -t accepts the generated configs (15 runs)', async function () {
    this.timeout(90_000);
    const result = await fc.check(
      fc.asyncProperty(inputGen, async (input) => {
        const { model } = run(input, new Set());
        await nginxAccepts(model);
      }),
      { ...params(15), seed: SEED + 1 },
    );
    report(result);
  });
});
