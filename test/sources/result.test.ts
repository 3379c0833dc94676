// src/sources/result.ts: what loading one file gives (LoadResult) and what parsing one may cost
// (ParseLimits, issue 10 items 7-8). Each limit, as the loader enforces it, refuses the whole file with a
// message naming the file, the limit and where it was hit; the shapes are those of the security review.
import assert from 'node:assert/strict';
import { parseManifests, type ParseLimits } from '../../src/sources/loader.js';
import { emptyResult, failed, PARSE_LIMITS } from '../../src/sources/result.js';
import { show } from './helpers.js';

const CONFIGMAP = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: "1"\n';

/** parseManifests with some limits lowered, so a test stays small. */
const parseWith = (text: string, limits: Partial<ParseLimits>, file = 'f.yaml') =>
  parseManifests(text, file, { ...PARSE_LIMITS, ...limits });

function assertRefused(loaded: ReturnType<typeof parseManifests>, file: string, limit: RegExp): string {
  assert.equal(loaded.parseFailed, true, show(loaded.problems));
  assert.deepEqual(loaded.resources, []);
  assert.equal(loaded.problems.length, 1, show(loaded.problems));
  const problem = loaded.problems[0]!;
  assert.equal(problem.severity, 'error');
  assert.equal(problem.file, file);
  assert.match(
    problem.message,
    new RegExp(
      `^${file.replace('.', '\\.')} refused: more than ${limit.source} \\(a limit of the manifests loader\\) at line \\d+, column \\d+; not loaded$`,
    ),
  );
  return problem.message;
}

describe('sources/result: the parse limits, as the loader enforces them', () => {
  it('refuses anchors x 55,000 on one line (165 KB; 18 s of /healthz stall before) at the anchors limit', () => {
    const loaded = parseManifests('&a '.repeat(55_000), 'anchors.yaml');
    const message = assertRefused(loaded, 'anchors.yaml', /1000 anchors/);
    assert.match(message, /at line 1, column 3001;/);
  });

  it('refuses tags and aliases past their limits', () => {
    assertRefused(parseManifests('!t '.repeat(55_000), 'tags.yaml'), 'tags.yaml', /1000 tags/);
    const aliases = `a: &a x\nb: [${Array(1500).fill('*a').join(', ')}]\n`;
    assertRefused(parseManifests(aliases, 'aliases.yaml'), 'aliases.yaml', /1000 aliases/);
  });

  it("refuses '[' x 2,000,000 (1.57 GB of memory before) at the nesting depth limit, and deep block nesting too", () => {
    assertRefused(parseManifests('['.repeat(2_000_000), 'flow.yaml'), 'flow.yaml', /100 levels of nesting/);
    assertRefused(parseManifests('{'.repeat(100_000), 'map.yaml'), 'map.yaml', /100 levels of nesting/);
    assertRefused(parseManifests('- '.repeat(100_000), 'seq.yaml'), 'seq.yaml', /100 levels of nesting/);
    let block = '';
    for (let i = 0; i < 500; i++) block += `${' '.repeat(i)}a:\n`;
    const message = assertRefused(parseManifests(block, 'block.yaml'), 'block.yaml', /100 levels of nesting/);
    assert.match(message, /at line 101,/);
  });

  it('accepts nesting up to the depth limit and refuses one level more', () => {
    const nested = (levels: number) => `${CONFIGMAP}x: ${'['.repeat(levels - 1)}1${']'.repeat(levels - 1)}\n`;
    // the document's mapping is the first level
    const ok = parseWith(nested(6), { depth: 6 });
    assert.equal(ok.parseFailed, false, show(ok.problems));
    assert.equal(ok.resources.length, 1);
    assertRefused(parseWith(nested(7), { depth: 6 }), 'f.yaml', /6 levels of nesting/);
  });

  it('refuses a file of more documents than the limit, counting empty ones', () => {
    assertRefused(parseManifests('---\n'.repeat(30_000), 'docs.yaml'), 'docs.yaml', /20000 documents/);
    assertRefused(parseManifests('...\n'.repeat(30_000), 'ends.yaml'), 'ends.yaml', /20000 documents/);
    const three = `${CONFIGMAP}---\n${CONFIGMAP.replace('settings', 'b')}---\n${CONFIGMAP.replace('settings', 'c')}`;
    assert.equal(parseWith(three, { documents: 3 }).resources.length, 3);
    assertRefused(parseWith(three, { documents: 2 }), 'f.yaml', /2 documents/);
  });

  it('refuses one document of too many tokens (the memory bound), comments included, and a file of too many', () => {
    // one mapping of 200,000 keys: the library's duplicate-key check alone was quadratic in them
    let keys = '';
    for (let i = 0; i < 200_000; i++) keys += `k${i}: 1\n`;
    assertRefused(parseManifests(keys, 'keys.yaml'), 'keys.yaml', /500000 YAML tokens in one document/);
    assertRefused(
      parseManifests(`[${'1,'.repeat(600_000)}1]`, 'flow.yaml'),
      'flow.yaml',
      /500000 YAML tokens in one document/,
    );
    assertRefused(
      parseManifests('#\n'.repeat(600_000), 'comments.yaml'),
      'comments.yaml',
      /500000 YAML tokens in one document/,
    );
    // the per-document count starts again at each document; the file's does not
    const docs = Array.from({ length: 5 }, (_, i) => CONFIGMAP.replace('settings', `s${i}`)).join('---\n');
    assert.equal(parseWith(docs, { documentTokens: 30 }).resources.length, 5);
    assertRefused(parseWith(docs, { documentTokens: 30, tokens: 50 }), 'f.yaml', /50 YAML tokens/);
  });

  it('counts an alias as the nodes its anchor holds', () => {
    const list = `[${Array(30).fill('x').join(',')}]`;
    const text = `${CONFIGMAP}big: &big ${list}\nagain: [*big, *big, *big, *big, *big]\n`;
    // 1 + 6 pairs of the document... in all about 200 nodes with the aliases expanded, 45 without
    assert.equal(parseWith(text, { nodes: 250 }).resources.length, 1);
    assertRefused(parseWith(text, { nodes: 150 }), 'f.yaml', /150 nodes \(an alias counted as what it stands for\)/);
    // 40 aliases (under the 50 the alias check allows) of 20,000 items: 800,000 nodes
    const huge = `a: &a [${'1,'.repeat(19_999)}1]\nb: [${Array(40).fill('*a').join(',')}]\n`;
    assertRefused(
      parseManifests(huge, 'aliases.yaml'),
      'aliases.yaml',
      /500000 nodes \(an alias counted as what it stands for\)/,
    );
  });

  it('reports the first YAML error only, at its own line, and still finds duplicate keys', () => {
    const loaded = parseManifests(`${CONFIGMAP}---\n${'a: [\n'.repeat(3)}`, 'bad.yaml');
    assert.equal(loaded.parseFailed, true);
    assert.equal(loaded.problems.length, 1, show(loaded.problems));
    assert.match(loaded.problems[0]!.message, /^invalid YAML: .* at line \d+, column \d+$/);
    const dup = parseManifests(`${CONFIGMAP}data2: {x: 1, y: 2, x: 3}\n`, 'dup.yaml');
    assert.equal(dup.parseFailed, true);
    assert.equal(dup.problems[0]!.line, 7);
    assert.match(dup.problems[0]!.message, /^invalid YAML: Map keys must be unique at line 7, column 21$/);
    // the same key in two different mappings is fine
    assert.equal(parseManifests(`${CONFIGMAP}x: {a: 1}\ny: {a: 1}\n`, 'f.yaml').parseFailed, false);
  });

  it('accepts a kind: List as kubectl get -o yaml writes it, 3 MB of Ingresses in one document', () => {
    const item = (i: number) => `- apiVersion: networking.k8s.io/v1
  kind: Ingress
  metadata:
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: |
        {"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"annotations":{},"name":"app${i}","namespace":"ns"},"spec":{"rules":[{"host":"app${i}.example.com","http":{"paths":[{"backend":{"service":{"name":"app${i}","port":{"number":80}}},"path":"/","pathType":"Prefix"}]}}]}}
    creationTimestamp: "2025-01-01T00:00:00Z"
    generation: 1
    name: app${i}
    namespace: ns
    resourceVersion: "${1000 + i}"
    uid: 0b8f0c7e-0000-4000-8000-${String(i).padStart(12, '0')}
  spec:
    ingressClassName: nginx
    rules:
    - host: app${i}.example.com
      http:
        paths:
        - backend:
            service:
              name: app${i}
              port:
                number: 80
          path: /
          pathType: Prefix
  status:
    loadBalancer: {}
`;
    let text = 'apiVersion: v1\nitems:\n';
    for (let i = 0; text.length < 3_000_000; i++) text += item(i);
    text += 'kind: List\nmetadata:\n  resourceVersion: ""\n';
    const loaded = parseManifests(text, 'list.yaml');
    assert.equal(loaded.parseFailed, false, show(loaded.problems));
    assert.ok(loaded.resources.length > 3000, String(loaded.resources.length));
  });

  it('accepts a plain multi-document file well under every limit', () => {
    const docs = Array.from({ length: 200 }, (_, i) => CONFIGMAP.replace('settings', `s${i}`)).join('---\n');
    const loaded = parseManifests(docs, 'many.yaml');
    assert.equal(loaded.parseFailed, false, show(loaded.problems));
    assert.equal(loaded.resources.length, 200);
  });
});

describe('sources/result: LoadResult', () => {
  it('emptyResult: nothing loaded, nothing wrong, and a new object each time (results are filled in place)', () => {
    const filled = emptyResult();
    filled.problems.push({ severity: 'error', message: 'x' });
    assert.deepEqual(emptyResult(), { resources: [], problems: [], rejected: [], parseFailed: false });
  });

  it('failed: the whole file refused, with one error naming the file (and the line when known)', () => {
    assert.deepEqual(failed('a.yaml', 4, 'a.yaml refused: too deep'), {
      resources: [],
      problems: [{ severity: 'error', file: 'a.yaml', line: 4, message: 'a.yaml refused: too deep' }],
      rejected: [],
      parseFailed: true,
    });
    assert.deepEqual(failed('b.yaml', undefined, 'cannot read b.yaml').problems, [
      { severity: 'error', file: 'b.yaml', message: 'cannot read b.yaml' },
    ]);
  });
});
