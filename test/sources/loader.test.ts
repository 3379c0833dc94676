import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadFile, parseManifests } from '../../src/sources/loader.js';
import type { Ingress } from '../../src/resources.js';
import { assertRejected, parse, show, tempDir } from './helpers.js';

const CAFE_LEGACY = `apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: cafe-ingress
spec:
  tls:
  - hosts:
    - cafe.example.com
    secretName: cafe-secret
  rules:
  - host: cafe.example.com
    http:
      paths:
      - path: /tea
        backend:
          serviceName: tea-svc
          servicePort: 80
      - path: /coffee
        backend:
          serviceName: coffee-svc
          servicePort: 80
`;

const CONFIGMAP = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  a: "1"
`;

describe('sources/loader parseManifests', () => {
  describe('YAML level', () => {
    it('fails the whole file on a syntax error, naming file and line, with no resources', () => {
      const loaded = parseManifests(
        `${CONFIGMAP}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n  bad: [\n`,
        'dir/bad.yaml',
      );
      assert.equal(loaded.parseFailed, true);
      assert.deepEqual(loaded.resources, []);
      assert.equal(loaded.problems.length, 1, show(loaded.problems));
      assert.equal(loaded.problems[0]!.severity, 'error');
      assert.equal(loaded.problems[0]!.file, 'dir/bad.yaml');
      assert.ok((loaded.problems[0]!.line ?? 0) >= 9, show(loaded.problems));
      assert.match(loaded.problems[0]!.message, /invalid YAML/);
    });

    it('fails on duplicate keys', () => {
      const loaded = parseManifests('apiVersion: v1\nkind: ConfigMap\nkind: Secret\n', 'f.yaml');
      assert.equal(loaded.parseFailed, true);
      assert.equal(loaded.problems[0]!.line, 3);
    });

    it('defuses an alias bomb', () => {
      const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
      for (let i = 1; i < 9; i++)
        levels.push(
          `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
            .fill(`*${String.fromCharCode(96 + i)}`)
            .join(',')}]`,
        );
      const loaded = parseManifests(
        `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nbomb:\n  ${levels.join('\n  ')}\n`,
        'bomb.yaml',
      );
      assert.equal(loaded.parseFailed, true, show(loaded.problems));
      assert.deepEqual(loaded.resources, []);
    });

    it('still accepts modest use of anchors and aliases', () => {
      const loaded = parseManifests(
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: &l {app: cafe}\n  annotations: *l\ndata: {}\n',
        'f.yaml',
      );
      assert.equal(loaded.resources.length, 1, show(loaded.problems));
      assert.deepEqual(loaded.resources[0]!.meta.annotations, { app: 'cafe' });
    });

    it('skips empty and comment-only documents', () => {
      const loaded = parseManifests(`---\n# just a comment\n---\n${CONFIGMAP}---\n---\n~\n`, 'f.yaml');
      assert.deepEqual(loaded.problems, []);
      assert.equal(loaded.resources.length, 1);
      assert.deepEqual(parseManifests('', 'e.yaml'), { resources: [], problems: [], rejected: [], parseFailed: false });
    });

    it('reads JSON, including tab-indented JSON', () => {
      const json =
        '{\n\t"apiVersion": "v1",\n\t"kind": "ConfigMap",\n\t"metadata": {"name": "j"},\n\t"data": {"k": "v"}\n}\n';
      const loaded = parseManifests(json, 'c.json');
      assert.equal(loaded.resources.length, 1, show(loaded.problems));
      assert.deepEqual(loaded.resources[0]!.kind === 'ConfigMap' && loaded.resources[0]!.data, { k: 'v' });
    });
  });

  describe('document level', () => {
    it('rejects a document that is not a mapping', () => {
      for (const text of ['just a string\n', '- a\n- b\n', '42\n']) {
        const loaded = parseManifests(text, 'f.yaml');
        assert.equal(loaded.problems.length, 1, text);
        assert.equal(loaded.problems[0]!.severity, 'error');
        assert.match(loaded.problems[0]!.message, /expected a Kubernetes object/);
        assert.equal(loaded.parseFailed, false);
      }
    });

    it('rejects a missing or non-string kind', () => {
      for (const text of ['apiVersion: v1\nmetadata: {name: x}\n', 'apiVersion: v1\nkind: [ConfigMap]\n']) {
        const loaded = parseManifests(text, 'f.yaml');
        assert.equal(loaded.problems.length, 1, show(loaded.problems));
        assert.equal(loaded.problems[0]!.field, 'kind');
      }
    });

    it('rejects a missing apiVersion, and records the rejected key of a known kind', () => {
      const loaded = parseManifests('kind: Service\nmetadata: {name: tea-svc, namespace: shop}\nspec: {}\n', 'f.yaml');
      assert.equal(loaded.problems[0]!.field, 'apiVersion');
      assert.deepEqual(loaded.rejected, ['Service/shop/tea-svc']);
    });

    it('rejects an unsupported apiVersion of a known kind', () => {
      const loaded = parse('apiVersion: networking.k8s.io/v2\nkind: Ingress\nmetadata: {name: cafe}\nspec: {}\n');
      const problem = assertRejected(loaded, 'apiVersion', '"networking.k8s.io/v2"');
      assert.equal(problem.object, 'Ingress default/cafe');
      assert.match(problem.message, /networking\.k8s\.io\/v1/);
      assert.deepEqual(loaded.rejected, ['Ingress/default/cafe']);
      const misfiled = parseManifests(
        'apiVersion: apps/v1\nkind: Service\nmetadata: {name: tea}\nspec: {}\n',
        'f.yaml',
      );
      assert.equal(misfiled.problems[0]!.field, 'apiVersion');
    });

    it('ignores other kinds quietly', () => {
      const deployment =
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: "not; valid"}\nspec: {replicas: lots}\n';
      const loaded = parseManifests(`${deployment}---\n${CONFIGMAP}`, 'f.yaml');
      assert.deepEqual(loaded.problems, []);
      assert.deepEqual(loaded.rejected, []);
      assert.deepEqual(
        loaded.resources.map((x) => x.kind),
        ['ConfigMap'],
      );
    });

    it('does not record a rejected key when the name cannot be identified', () => {
      const loaded = parseManifests('apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: shop}\n', 'f.yaml');
      assert.equal(loaded.problems[0]!.field, 'metadata.name');
      assert.equal(loaded.problems[0]!.object, 'ConfigMap shop/(unnamed)');
      assert.deepEqual(loaded.rejected, []);
    });

    it('treats null fields as omitted', () => {
      const loaded = parseManifests(
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  creationTimestamp: null\n  annotations:\ndata:\n',
        'f.yaml',
      );
      assert.equal(loaded.resources.length, 1, show(loaded.problems));
      assert.equal(loaded.resources[0]!.meta.creationTimestamp, undefined);
    });

    it('reports one problem per bad value, each with its own line and field, and rejects the object', () => {
      const text = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: cafe
  namespace: shop
spec:
  rules:
  - host: cafe.example.com
    http:
      paths:
      - path: /tea
        pathType: Prefix
        backend:
          service: {name: tea-svc, port: {number: 80}}
      - path: "/coffee; return 200 x"
        pathType: Prefix
        backend:
          service:
            name: coffee-svc
            port:
              number: 70000
`;
      const loaded = parseManifests(text, 'cafe.yaml');
      assert.equal(loaded.resources.length, 0);
      assert.deepEqual(loaded.rejected, ['Ingress/shop/cafe']);
      const fields = loaded.problems.map((p) => [p.field, p.line, p.object]);
      assert.deepEqual(fields, [
        ['spec.rules[0].http.paths[1].path', 15, 'Ingress shop/cafe'],
        ['spec.rules[0].http.paths[1].backend.service.port.number', 21, 'Ingress shop/cafe'],
      ]);
      assert.ok(loaded.problems[0]!.message.includes('"/coffee; return 200 x"'), loaded.problems[0]!.message);
      assert.ok(loaded.problems[1]!.message.includes('70000'));
    });

    it('caps the problems reported for one object', () => {
      const data = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`bad key ${i}`, 'v']));
      const loaded = parse({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data });
      assert.equal(loaded.problems.length, 51);
      assert.match(loaded.problems[50]!.message, /10 more problem/);
      assert.deepEqual(loaded.rejected, ['ConfigMap/default/x']);
    });

    it('reports YAML warnings as warnings and still loads', () => {
      const loaded = parseManifests(`${CONFIGMAP}  b: !custom x\n`, 'f.yaml');
      assert.equal(loaded.resources.length, 1);
      assert.deepEqual(
        loaded.problems.map((p) => [p.severity, p.line]),
        [['warning', 7]],
      );
    });

    it('escapes control characters and truncates long values in messages', () => {
      const long = `/${'a'.repeat(200)} b`;
      const loaded = parse({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'x', labels: { ok: 1 } },
        data: { 'a\u202eb': 'v' },
      });
      const msg = loaded.problems.map((p) => p.message).join(' | ');
      assert.match(msg, /\\u202e/);
      const ingressLoaded = parse({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'x' },
        spec: {
          rules: [
            {
              http: {
                paths: [{ path: long, pathType: 'Exact', backend: { resource: { kind: 'Bucket', name: 'b' } } }],
              },
            },
          ],
        },
      });
      const problem = assertRejected(ingressLoaded, 'spec.rules[0].http.paths[0].path');
      assert.ok(problem.message.length < 300, problem.message);
      assert.match(problem.message, /"\/a{79}"\.\.\./);
    });
  });

  describe('multiple documents and lists', () => {
    it('gives each document of a multi-document file its own line', () => {
      const loaded = parseManifests(`${CONFIGMAP}---\n# comment\n${CONFIGMAP.replace('settings', 'other')}`, 'f.yaml');
      assert.deepEqual(
        loaded.resources.map((x) => [x.meta.name, x.source.line, x.source.file]),
        [
          ['settings', 1, 'f.yaml'],
          ['other', 9, 'f.yaml'],
        ],
      );
    });

    it('expands kind: List, each item keeping its own line; bad items are reported at their line', () => {
      const text = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata:
    name: tea-svc
  spec:
    ports:
    - port: 80
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: tea}
- apiVersion: v1
  kind: Service
  metadata:
    name: coffee-svc
  spec:
    clusterIP: 10.0.0.300
`;
      const loaded = parseManifests(text, 'list.yaml');
      assert.deepEqual(
        loaded.resources.map((x) => [x.kind, x.meta.name, x.source.line]),
        [['Service', 'tea-svc', 4]],
      );
      assert.equal(loaded.problems.length, 1, show(loaded.problems));
      assert.deepEqual([loaded.problems[0]!.line, loaded.problems[0]!.field], [19, 'spec.clusterIP']);
      assert.deepEqual(loaded.rejected, ['Service/default/coffee-svc']);
    });

    it('expands typed lists whose items omit kind and apiVersion', () => {
      const text = `apiVersion: v1
kind: ConfigMapList
items:
- metadata: {name: a}
- metadata: {name: b}
`;
      const loaded = parseManifests(text, 'f.yaml');
      assert.deepEqual(
        loaded.resources.map((x) => [x.kind, x.meta.name, x.source.line]),
        [
          ['ConfigMap', 'a', 4],
          ['ConfigMap', 'b', 5],
        ],
      );
    });

    it('rejects a list whose items are not a list', () => {
      const loaded = parseManifests('apiVersion: v1\nkind: List\nitems: {a: 1}\n', 'f.yaml');
      assert.equal(loaded.problems[0]!.field, 'items');
    });
  });

  describe('legacy Ingress normalisation', () => {
    it('turns the extensions/v1beta1 cafe Ingress into the v1 shape', () => {
      const loaded = parseManifests(CAFE_LEGACY, 'cafe.yaml');
      assert.deepEqual(loaded.problems, []);
      const backend = (name: string) => ({ service: { name, port: { number: 80 } } });
      const expected: Ingress = {
        kind: 'Ingress',
        apiVersion: 'extensions/v1beta1',
        meta: { namespace: 'default', name: 'cafe-ingress', annotations: {}, labels: {} },
        source: { file: 'cafe.yaml', line: 1 },
        tls: [{ hosts: ['cafe.example.com'], secretName: 'cafe-secret' }],
        rules: [
          {
            host: 'cafe.example.com',
            paths: [
              { path: '/tea', pathType: 'ImplementationSpecific', backend: backend('tea-svc') },
              { path: '/coffee', pathType: 'ImplementationSpecific', backend: backend('coffee-svc') },
            ],
          },
        ],
      };
      assert.deepEqual(loaded.resources, [expected]);
    });

    it('maps spec.backend, string ports, omitted paths and ingressClassName (networking.k8s.io/v1beta1)', () => {
      const text = `apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata: {name: cafe, namespace: shop}
spec:
  ingressClassName: nginx
  backend: {serviceName: default-svc, servicePort: "8080"}
  rules:
  - http:
      paths:
      - backend: {serviceName: tea-svc, servicePort: http}
      - path: /exact
        pathType: Exact
        backend: {serviceName: tea-svc, servicePort: 81}
`;
      const loaded = parseManifests(text, 'f.yaml');
      assert.deepEqual(loaded.problems, []);
      const ing = loaded.resources[0] as Ingress;
      assert.equal(ing.className, 'nginx');
      assert.deepEqual(ing.defaultBackend, { service: { name: 'default-svc', port: { number: 8080 } } });
      assert.deepEqual(ing.rules, [
        {
          paths: [
            {
              path: '/',
              pathType: 'ImplementationSpecific',
              backend: { service: { name: 'tea-svc', port: { name: 'http' } } },
            },
            { path: '/exact', pathType: 'Exact', backend: { service: { name: 'tea-svc', port: { number: 81 } } } },
          ],
        },
      ]);
    });
  });
});

describe('sources/loader loadFile', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir('loader')));
  afterEach(() => cleanup());

  it('loads a file and names problems and sources by the relative path', async () => {
    await mkdir(path.join(dir, 'sub'));
    const abs = path.join(dir, 'sub', 'cafe.yaml');
    await writeFile(abs, `\ufeff${CAFE_LEGACY}---\napiVersion: v1\nkind: Service\nmetadata: {name: a.b}\nspec: {}\n`);
    const loaded = await loadFile(abs, 'sub/cafe.yaml');
    assert.equal(loaded.parseFailed, false);
    assert.deepEqual(
      loaded.resources.map((x) => x.source),
      [{ file: 'sub/cafe.yaml', line: 1 }],
    );
    assert.deepEqual(
      loaded.problems.map((p) => [p.file, p.line, p.field]),
      [['sub/cafe.yaml', 25, 'metadata.name']],
    );
  });

  it('refuses a file over the size limit', async () => {
    const abs = path.join(dir, 'big.yaml');
    await writeFile(abs, CONFIGMAP + '#'.repeat(2000));
    const loaded = await loadFile(abs, 'big.yaml', 1000);
    assert.equal(loaded.parseFailed, true);
    assert.deepEqual(loaded.resources, []);
    assert.equal(loaded.problems[0]!.file, 'big.yaml');
    assert.match(loaded.problems[0]!.message, /too large/);
    assert.equal((await loadFile(abs, 'big.yaml')).resources.length, 1);
  });

  it('refuses a binary file', async () => {
    const abs = path.join(dir, 'bin.yaml');
    await writeFile(abs, Buffer.concat([Buffer.from(CONFIGMAP), Buffer.from([0, 1, 2])]));
    const loaded = await loadFile(abs, 'bin.yaml');
    assert.equal(loaded.parseFailed, true);
    assert.match(loaded.problems[0]!.message, /NUL/);
  });

  it('reports missing files and directories with their errno code', async () => {
    const missing = await loadFile(path.join(dir, 'nope.yaml'), 'nope.yaml');
    assert.equal(missing.parseFailed, true);
    assert.match(missing.problems[0]!.message, /nope\.yaml.*ENOENT/);
    await mkdir(path.join(dir, 'd.yaml'));
    const isDir = await loadFile(path.join(dir, 'd.yaml'), 'd.yaml');
    assert.equal(isDir.parseFailed, true);
    assert.match(isDir.problems[0]!.message, /EISDIR/);
  });

  /** promise, or a rejection naming what did not settle within ms. */
  const within = <T>(promise: Promise<T>, ms: number, what: string) => {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms);
      }),
    ]).finally(() => clearTimeout(timer));
  };

  /** Whoever waits in a blocking open() of these FIFOs gets a writer (and then EOF), so no thread stays stuck. */
  function releaseReaders(fifos: string[]): void {
    for (const fifo of fifos) {
      try {
        fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
      } catch {
        /* ENXIO: nobody waits */
      }
    }
  }

  it('refuses a FIFO by name without waiting for a writer', async () => {
    const fifo = path.join(dir, 'pipe.yaml');
    execFileSync('mkfifo', [fifo]);
    try {
      const loaded = await within(loadFile(fifo, 'pipe.yaml'), 5000, 'loadFile of a FIFO');
      assert.equal(loaded.parseFailed, true);
      assert.deepEqual(
        loaded.problems.map((p) => [p.file, p.message]),
        [['pipe.yaml', 'cannot read pipe.yaml: it is a FIFO, not a regular file; not loaded']],
      );
    } finally {
      releaseReaders([fifo]);
    }
  });

  it('never blocks on a path swapped between a file and a FIFO while it is read (stat-then-open race)', async function () {
    this.timeout(30_000);
    const target = path.join(dir, 'swap.yaml');
    const fifos = Array.from({ length: 4 }, (_, i) => path.join(dir, `.fifo-${i}`));
    for (const fifo of fifos) execFileSync('mkfifo', [fifo]);
    await writeFile(path.join(dir, '.file'), CONFIGMAP);
    let swaps = 0;
    let stop = false;
    // a hard link of a FIFO or of the file renamed into place, over and over: each FIFO stays reachable
    // by its own name, so a reader stuck in open() can be released after the test
    const swapper = (async () => {
      while (!stop) {
        const from = swaps % 2 ? fifos[swaps % fifos.length]! : path.join(dir, '.file');
        fs.linkSync(from, path.join(dir, '.tmp'));
        fs.renameSync(path.join(dir, '.tmp'), target);
        swaps++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    const outcomes = new Map<string, number>();
    try {
      const deadline = Date.now() + 1500;
      while (Date.now() < deadline) {
        const batch = await within(
          Promise.all(Array.from({ length: 8 }, () => loadFile(target, 'swap.yaml'))),
          5000,
          'loadFile of a path being swapped',
        );
        for (const loaded of batch) {
          const what = loaded.parseFailed ? loaded.problems[0]!.message : `${loaded.resources.length} resource(s)`;
          outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
        }
      }
    } finally {
      stop = true;
      await swapper;
      releaseReaders(fifos);
    }
    assert.ok(swaps > 100, `only ${swaps} swaps`);
    const allowed = new Set(['1 resource(s)', 'cannot read swap.yaml: it is a FIFO, not a regular file; not loaded']);
    assert.deepEqual(
      [...outcomes.keys()].filter((k) => !allowed.has(k)),
      [],
      JSON.stringify([...outcomes]),
    );
    assert.ok(outcomes.get('1 resource(s)'), JSON.stringify([...outcomes]));
    assert.ok(outcomes.get([...allowed][1]!), JSON.stringify([...outcomes]));
  });

  it('does not follow a symlink put where the scanned file was', async () => {
    await writeFile(path.join(dir, 'elsewhere.yaml'), CONFIGMAP);
    await symlink(path.join(dir, 'elsewhere.yaml'), path.join(dir, 'link.yaml'));
    const loaded = await loadFile(path.join(dir, 'link.yaml'), 'link.yaml');
    assert.equal(loaded.parseFailed, true);
    assert.deepEqual(
      loaded.problems.map((p) => p.message),
      ['cannot read link.yaml: ELOOP (a symlink now stands where the file was)'],
    );
  });

  it('reports an unreadable file with EACCES', async function () {
    const abs = path.join(dir, 'secret.yaml');
    await writeFile(abs, CONFIGMAP);
    await chmod(abs, 0o000);
    // root (and CAP_DAC_OVERRIDE) reads it anyway: nothing to test then.
    const readable = await readFile(abs).then(
      () => true,
      () => false,
    );
    if (readable) this.skip();
    const loaded = await loadFile(abs, 'secret.yaml');
    assert.equal(loaded.parseFailed, true);
    assert.match(loaded.problems[0]!.message, /secret\.yaml.*EACCES/);
  });
});
