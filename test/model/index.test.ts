import assert from 'node:assert/strict';
import { buildModel, byAge } from '../../src/model/index.js';
import type { Location, Model, Server } from '../../src/model/index.js';
import type { Resource } from '../../src/resources.js';
import {
  OPTIONS,
  backend,
  build,
  endpoints,
  exact,
  ingress,
  path,
  problemsMatching,
  reorder,
  rule,
  service,
  slice,
  show,
  storeOf,
  b64,
  secret,
  configMap,
  CONFIG_MAP_OPTION,
} from '../helpers/resources.js';
import { locationsOf } from '../../src/model/index.js';
import { denySnippets } from '../../src/model/annotations/snippets.js';
import { nginxAccepts, renderText } from './annotations/nginx-check.js';

/** A Service named `name` (port 80 "http" -> 8080) with one ready endpoint. */
function app(name: string, ip = '10.0.0.1', namespace = 'default'): Resource[] {
  return [service({ name, namespace }), endpoints({ name, namespace, subsets: [{ ready: [ip] }] })];
}

const server = (model: Model, host: string): Server => {
  const srv = model.servers.find((x) => x.host === host);
  assert.ok(
    srv,
    `no server ${JSON.stringify(host)}; servers: ${model.servers.map((x) => JSON.stringify(x.host)).join(', ')}`,
  );
  return srv;
};
const loc = (s: Server, p: string, match: Location['match']): Location | undefined =>
  s.locations.find((l) => l.path === p && l.match === match);
const summary = (s: Server) =>
  s.locations.map((l) => `${l.match === 'exact' ? '=' : ''}${l.path} ${l.backend} ${l.ingress}`);

describe('buildModel', () => {
  describe('hosts', () => {
    it('always has the catch-all server, even with no Ingresses', () => {
      const { model, problems } = build([]);
      assert.deepEqual(
        model.servers.map((s) => s.host),
        [''],
      );
      assert.deepEqual(model.servers[0]!.locations, []);
      assert.deepEqual(model.servers[0]!.fallback, { backend: null, ingress: null });
      assert.equal(model.servers[0]!.tls, null);
      assert.deepEqual(model.backends, []);
      assert.deepEqual(problems, []);
    });

    it('gives each exact host its own server and sends rules without host to the catch-all', () => {
      const { model, problems } = build([
        ...app('web'),
        ingress({
          name: 'a',
          rules: [
            rule('b.example.com', path('/', 'web')),
            rule('a.example.com', path('/', 'web')),
            rule(undefined, path('/any', 'web')),
          ],
        }),
      ]);
      assert.equal(problems.length, 0, show(problems));
      assert.deepEqual(
        model.servers.map((s) => s.host),
        ['', 'a.example.com', 'b.example.com'],
      );
      assert.deepEqual(summary(server(model, '')), ['/any default_web_80 default/a']);
      assert.deepEqual(summary(server(model, 'a.example.com')), ['/ default_web_80 default/a']);
      assert.deepEqual(server(model, 'a.example.com').ingresses, ['default/a']);
    });

    it('keeps a wildcard host as its own server, separate from exact hosts under it', () => {
      const { model } = build([
        ...app('web'),
        ...app('star', '10.0.0.2'),
        ingress({
          name: 'a',
          rules: [rule('*.example.com', path('/', 'star')), rule('www.example.com', path('/', 'web'))],
        }),
      ]);
      assert.deepEqual(
        model.servers.map((s) => s.host),
        ['', '*.example.com', 'www.example.com'],
      );
      assert.equal(server(model, '*.example.com').locations[0]!.backend, 'default_star_80');
      assert.equal(server(model, 'www.example.com').locations[0]!.backend, 'default_web_80');
    });

    it('merges the rules of several Ingresses for the same host into one server', () => {
      const { model, problems } = build([
        ...app('tea'),
        ...app('coffee', '10.0.0.2'),
        ingress({ name: 'tea', rules: [rule('cafe.example.com', path('/tea', 'tea'))] }),
        ingress({ name: 'coffee', rules: [rule('cafe.example.com', path('/coffee', 'coffee'))] }),
      ]);
      assert.equal(problems.length, 0, show(problems));
      const srv = server(model, 'cafe.example.com');
      assert.deepEqual(summary(srv), ['/coffee default_coffee_80 default/coffee', '/tea default_tea_80 default/tea']);
      assert.deepEqual([...srv.ingresses].sort(), ['default/coffee', 'default/tea']);
    });
  });

  describe('paths', () => {
    const oneIngress = (...paths: ReturnType<typeof path>[]) =>
      build([...app('web'), ingress({ name: 'a', rules: [rule('h.example.com', ...paths)] })]);

    it('keeps Exact paths as written, trailing slash included', () => {
      const { model } = oneIngress(exact('/foo', 'web'), exact('/bar/', 'web'));
      const srv = server(model, 'h.example.com');
      assert.ok(loc(srv, '/foo', 'exact'));
      assert.ok(loc(srv, '/bar/', 'exact'));
      assert.equal(loc(srv, '/bar', 'exact'), undefined);
    });

    it('drops the trailing slash of a Prefix path, but not of "/"', () => {
      const { model } = oneIngress(path('/foo/', 'web'), path('/a/b//', 'web'), path('/', 'web'));
      const srv = server(model, 'h.example.com');
      assert.deepEqual(
        srv.locations.map((l) => [l.path, l.match]),
        [
          ['/a/b', 'prefix'],
          ['/foo', 'prefix'],
          ['/', 'prefix'],
        ],
      );
    });

    it('treats ImplementationSpecific as Prefix', () => {
      const { model } = oneIngress(path('/legacy/', 'web', 80, 'ImplementationSpecific'));
      const location = server(model, 'h.example.com').locations[0]!;
      assert.equal(location.match, 'prefix');
      assert.equal(location.path, '/legacy');
      assert.equal(location.pathType, 'ImplementationSpecific');
    });

    it('treats Prefix /foo/ and Prefix /foo as the same path', () => {
      const { model, problems } = oneIngress(path('/foo', 'web'), path('/foo/', 'web'));
      assert.equal(server(model, 'h.example.com').locations.length, 1);
      assert.equal(problemsMatching(problems, /already routed/).length, 1, show(problems));
    });

    it('keeps an Exact and a Prefix rule for the same path side by side, exact first', () => {
      const { model, problems } = oneIngress(path('/foo', 'web'), exact('/foo', 'web'));
      assert.equal(problems.length, 0, show(problems));
      assert.deepEqual(
        server(model, 'h.example.com').locations.map((l) => l.match),
        ['exact', 'prefix'],
      );
    });

    it('orders locations longest path first, then by path, exact before prefix', () => {
      const { model } = oneIngress(
        path('/', 'web'),
        path('/b', 'web'),
        path('/aaa', 'web'),
        exact('/a', 'web'),
        path('/a', 'web'),
        path('/zz/y', 'web'),
        exact('/ccc', 'web'),
      );
      assert.deepEqual(
        server(model, 'h.example.com').locations.map((l) => `${l.match === 'exact' ? '=' : ''}${l.path}`),
        ['/zz/y', '/aaa', '=/ccc', '=/a', '/a', '/b', '/'],
      );
    });

    it('records the Ingress, the path type and the annotation-driven redirect on each location', () => {
      const { model } = oneIngress(exact('/x', 'web'));
      assert.deepEqual(server(model, 'h.example.com').locations[0], {
        path: '/x',
        match: 'exact',
        pathType: 'Exact',
        backend: 'default_web_80',
        ingress: 'default/a',
        sslRedirect: true,
        ann: {},
        denied: null,
        service: { name: 'web', port: '80' },
      });
    });
  });

  describe('conflicts', () => {
    const older = '2024-01-01T00:00:00Z';
    const newer = '2024-06-01T00:00:00Z';

    it('gives a host + path + match claimed twice to the oldest Ingress and reports the loser naming the winner', () => {
      const rs = [
        ...app('old'),
        ...app('new', '10.0.0.2'),
        ingress({ name: 'aaa-new', created: newer, rules: [rule('h.example.com', path('/api', 'new'))] }),
        ingress({
          name: 'zzz-old',
          namespace: 'team',
          created: older,
          rules: [rule('h.example.com', path('/api', 'old'))],
        }),
        service({ name: 'old', namespace: 'team' }),
        endpoints({ name: 'old', namespace: 'team', subsets: [{ ready: ['10.1.0.1'] }] }),
      ];
      const { model, problems } = build(rs);
      assert.deepEqual(summary(server(model, 'h.example.com')), ['/api team_old_80 team/zzz-old']);
      const lost = problemsMatching(problems, /already routed/);
      assert.equal(lost.length, 1, show(problems));
      assert.equal(lost[0]!.severity, 'error');
      assert.equal(lost[0]!.object, 'Ingress default/aaa-new');
      assert.equal(lost[0]!.field, 'spec.rules[0].http.paths[0].path');
      assert.ok(lost[0]!.message.includes('team/zzz-old'), lost[0]!.message);
      // the loser's backend is not even resolved
      assert.deepEqual(
        model.backends.map((b) => b.name),
        ['team_old_80'],
      );
    });

    it('breaks a creationTimestamp tie by namespace/name', () => {
      const { model, problems } = build([
        ...app('web'),
        ingress({ name: 'b', created: older, rules: [rule('h.example.com', exact('/x', 'web'))] }),
        ingress({ name: 'a', created: older, rules: [rule('h.example.com', exact('/x', 'web'))] }),
      ]);
      assert.equal(server(model, 'h.example.com').locations[0]!.ingress, 'default/a');
      assert.equal(problemsMatching(problems, /already routed by Ingress default\/a/)[0]?.object, 'Ingress default/b');
    });

    it('ranks Ingresses with a timestamp before those without, and compares instants, not strings', () => {
      const mk = (name: string, created?: string) => ingress({ name, ...(created ? { created } : {}) });
      const sorted = [
        mk('none'),
        mk('late', '2024-01-01T01:00:00Z'),
        mk('early-offset', '2024-01-01T02:00:00+02:00'),
        mk('also-none'),
      ].sort(byAge);
      assert.deepEqual(
        sorted.map((i) => i.meta.name),
        ['early-offset', 'late', 'also-none', 'none'],
      );
    });

    it('does not treat the same path on different hosts, or Exact vs Prefix, as a conflict', () => {
      const { problems } = build([
        ...app('web'),
        ingress({ name: 'a', rules: [rule('a.example.com', path('/x', 'web')), rule(undefined, path('/x', 'web'))] }),
        ingress({
          name: 'b',
          rules: [rule('b.example.com', path('/x', 'web')), rule('a.example.com', exact('/x', 'web'))],
        }),
      ]);
      assert.deepEqual(problems, []);
    });

    it('produces the same model and problems whatever the input order', () => {
      const rs: Resource[] = [
        ...app('one'),
        ...app('two', '10.0.0.2'),
        ...app('three', '10.0.0.3'),
        ingress({
          name: 'x',
          created: newer,
          rules: [rule('h.example.com', path('/', 'one'), exact('/e', 'two'))],
          defaultBackend: backend('three'),
        }),
        ingress({ name: 'y', created: older, rules: [rule('h.example.com', path('/', 'two'))] }),
        ingress({
          name: 'z',
          rules: [rule('h.example.com', exact('/e', 'three')), rule('*.example.com', path('/w', 'one'))],
          defaultBackend: backend('one'),
        }),
        ingress({ name: 'w', namespace: 'other', created: older, rules: [rule(undefined, path('/', 'missing'))] }),
      ];
      const want = build(rs);
      for (let seed = 0; seed < rs.length; seed++) {
        const got = build(reorder(rs, seed));
        assert.deepEqual(got.model, want.model, `seed ${seed}`);
        assert.deepEqual(got.problems, want.problems, `seed ${seed}`);
      }
      // and split across files in another order
      const store = storeOf();
      rs.forEach((r, i) =>
        store.setFile(`f${String(rs.length - i).padStart(2, '0')}.yaml`, {
          resources: [r],
          rejected: [],
          parseFailed: false,
        }),
      );
      assert.deepEqual(buildModel(store, OPTIONS).model, want.model);
    });
  });

  describe('default backend', () => {
    it('answers unmatched requests with 404 (fallback without backend) when no Ingress has a default backend', () => {
      const { model } = build([
        ...app('web'),
        ingress({ name: 'a', rules: [rule('h.example.com', path('/x', 'web'))] }),
      ]);
      for (const srv of model.servers) assert.deepEqual(srv.fallback, { backend: null, ingress: null });
    });

    it('an Ingress without rules is the catch-all (the oldest such); a second one is reported', () => {
      const { model, problems } = build([
        ...app('first'),
        ...app('second', '10.0.0.2'),
        ingress({ name: 'young', created: '2024-02-01T00:00:00Z', defaultBackend: backend('second') }),
        ingress({ name: 'old', created: '2024-01-01T00:00:00Z', defaultBackend: backend('first') }),
      ]);
      assert.deepEqual(server(model, '').fallback, { backend: 'default_first_80', ingress: 'default/old' });
      const second = problems.filter((p) => p.field === 'spec.defaultBackend');
      assert.equal(second.length, 1, show(problems));
      assert.equal(second[0]!.object, 'Ingress default/young');
      assert.ok(second[0]!.message.includes('default/old'), second[0]!.message);
    });

    it("as ingress-nginx: one with rules answers only its own hosts' unmatched paths, where it is the oldest Ingress", () => {
      const { model, problems } = build([
        ...app('first'),
        ...app('second', '10.0.0.2'),
        ...app('web', '10.0.0.3'),
        ingress({
          name: 'old',
          created: '2024-01-01T00:00:00Z',
          defaultBackend: backend('first'),
          rules: [rule('old.example.com', path('/x', 'web'))],
        }),
        ingress({
          name: 'young',
          created: '2024-02-01T00:00:00Z',
          defaultBackend: backend('second'),
          rules: [rule('young.example.com', path('/x', 'web')), rule('old.example.com', path('/y', 'web'))],
        }),
        ingress({
          name: 'plain',
          created: '2024-03-01T00:00:00Z',
          rules: [rule('plain.example.com', path('/x', 'web'))],
        }),
      ]);
      assert.equal(server(model, 'young.example.com').fallback.backend, 'default_second_80');
      assert.equal(server(model, 'young.example.com').fallback.ingress, 'default/young');
      assert.equal(
        server(model, 'old.example.com').fallback.backend,
        'default_first_80',
        'the oldest Ingress of the host',
      );
      // not the catch-all, nor other Ingresses' hosts: those answer 404 (the controller's default backend)
      assert.deepEqual(server(model, 'plain.example.com').fallback, { backend: null, ingress: null });
      assert.deepEqual(server(model, '').fallback, { backend: null, ingress: null });
      const unused = problems.filter((p) => p.object === 'Ingress default/young' && p.field === 'spec.defaultBackend');
      assert.equal(unused.length, 1, show(problems));
      assert.match(unused[0]!.message, /not used for old\.example\.com/);
    });

    it('--default-backend-service answers what no Ingress default covers, on its first port', () => {
      const ports = [
        { name: 'http', port: 8080, targetPort: 8080 },
        { name: 'metrics', port: 9090, targetPort: 9090 },
      ];
      const resources = [
        ...app('web'),
        service({ name: 'fallback', namespace: 'infra', ports }),
        slice({
          name: 'fallback-a',
          namespace: 'infra',
          service: 'fallback',
          endpoints: ['10.0.9.1'],
          ports: [{ name: 'http', port: 8080 }],
        }),
        ingress({ name: 'a', rules: [rule('a.example.com', path('/x', 'web'))] }),
        ingress({
          name: 'b',
          defaultBackend: backend('web'),
          rules: [rule('b.example.com', path('/x', 'web'))],
        }),
      ];
      const { model, problems } = build(resources, { defaultBackendService: { namespace: 'infra', name: 'fallback' } });
      assert.deepEqual(server(model, '').fallback, { backend: 'infra_fallback_8080', ingress: null });
      assert.deepEqual(server(model, 'a.example.com').fallback, { backend: 'infra_fallback_8080', ingress: null });
      assert.equal(server(model, 'b.example.com').fallback.backend, 'default_web_80', "the host's own comes first");
      const fallback = model.backends.find((candidate) => candidate.name === 'infra_fallback_8080')!;
      assert.deepEqual(
        fallback.endpoints.map((endpoint) => `${endpoint.address}:${endpoint.port}`),
        ['10.0.9.1:8080'],
      );
      assert.deepEqual(problems, []);
      const missing = build(resources, { defaultBackendService: { namespace: 'infra', name: 'gone' } });
      assert.deepEqual(server(missing.model, '').fallback, { backend: null, ingress: null });
      const [problem] = missing.problems;
      assert.equal(problem!.field, '--default-backend-service');
      assert.match(problem!.message, /Service infra\/gone not found.*answer 404/);
    });

    it('keeps a default backend that cannot be resolved as a fallback without backend, naming its Ingress', () => {
      const { model, problems } = build([ingress({ name: 'a', defaultBackend: backend('missing') })]);
      assert.deepEqual(server(model, '').fallback, { backend: null, ingress: 'default/a' });
      assert.equal(problemsMatching(problems, /Service default\/missing not found/).length, 1, show(problems));
    });
  });

  describe('backends in the model', () => {
    it('lists each backend once, sorted by name, shared by the locations that use it', () => {
      const { model } = build([
        ...app('b'),
        ...app('a', '10.0.0.2'),
        ingress({ name: 'x', rules: [rule('h.example.com', path('/1', 'b'), path('/2', 'a'), path('/3', 'b'))] }),
      ]);
      assert.deepEqual(
        model.backends.map((b) => b.name),
        ['default_a_80', 'default_b_80'],
      );
    });

    it('gives Services whose namespace-service-port names would collide (namespace "a-b" service "c" vs namespace "a" service "b-c") backends of their own', () => {
      const { model, problems } = build([
        ...app('b-c', '10.0.0.1', 'a'),
        ...app('c', '10.6.6.6', 'a-b'),
        ingress({
          name: 'victim',
          namespace: 'a',
          created: '2024-01-01T00:00:00Z',
          rules: [rule('v.example.com', path('/', 'b-c'))],
        }),
        ingress({
          name: 'other',
          namespace: 'a-b',
          created: '2024-02-01T00:00:00Z',
          rules: [rule('o.example.com', path('/', 'c'))],
        }),
      ]);
      assert.deepEqual(
        model.backends.map((b) => [b.name, b.namespace, b.service, b.endpoints[0]?.address]),
        [
          ['a-b_c_80', 'a-b', 'c', '10.6.6.6'],
          ['a_b-c_80', 'a', 'b-c', '10.0.0.1'],
        ],
      );
      assert.equal(server(model, 'v.example.com').locations[0]!.backend, 'a_b-c_80');
      assert.equal(server(model, 'o.example.com').locations[0]!.backend, 'a-b_c_80');
      assert.deepEqual(
        problems.filter((p) => p.severity === 'error'),
        [],
        show(problems),
      );
    });
  });

  describe('settings and annotations', () => {
    it('reads the ConfigMap named in the options only', () => {
      const cm = {
        kind: 'ConfigMap' as const,
        meta: { namespace: 'kube-system', name: 'cfg', annotations: {}, labels: {} },
        source: { file: 'c.yaml', line: 1 },
        data: { 'proxy-read-timeout': '120' },
      };
      assert.equal(build([cm]).model.settings.proxyReadTimeout, 60);
      assert.equal(
        build([cm], { configMap: { namespace: 'kube-system', name: 'cfg' } }).model.settings.proxyReadTimeout,
        120,
      );
      assert.equal(
        build([cm], { configMap: { namespace: 'default', name: 'cfg' } }).model.settings.proxyReadTimeout,
        60,
      );
    });

    it('ignores Ingresses of other classes entirely', () => {
      const { model, problems } = build([
        ...app('web'),
        ingress({
          name: 'theirs',
          className: 'traefik',
          rules: [rule('t.example.com', path('/', 'missing'))],
          defaultBackend: backend('missing'),
        }),
      ]);
      assert.deepEqual(
        model.servers.map((s) => s.host),
        [''],
      );
      assert.deepEqual(problems, []);
    });
  });
});

// ---- issue 13: the location of a host's unmatched paths (Server.fallbackLocation), as ingress-nginx's root
// location (controller.go createServers: locationApplyAnnotations of the first Ingress naming the host)
describe("buildModel: the location of unmatched paths carries annotations as ingress-nginx's root location", () => {
  const PREFIX = 'nginx.ingress.kubernetes.io/';
  const HASH = '$apr1$TIL9Ha/A$PiH1dp0q6.Uoi/A8y0nGE.';
  const users = secret({ name: 'users', type: 'Opaque', data: { auth: b64(`alice:${HASH}\n`) } });
  const basic = { [`${PREFIX}auth-type`]: 'basic', [`${PREFIX}auth-secret`]: 'users' };
  const base = [...app('web'), ...app('def', '10.0.0.2'), users];
  const older = '2024-01-01T00:00:00Z';
  const newer = '2024-06-01T00:00:00Z';
  const families = (location: Location | undefined) => Object.keys(location?.ann ?? {}).sort();
  /** The "location / {" block of the host's unmatched paths (written without quotes, as before). */
  const fallbackBlock = (text: string, host: string) => {
    const start = text.indexOf(`## start server ${host}\n`);
    const from = text.indexOf('        location / {\n', start);
    assert.ok(
      start >= 0 && from >= 0 && from < text.indexOf(`## end server ${host}\n`, start),
      `no fallback in ${host}`,
    );
    return text.slice(from, text.indexOf('\n        }\n', from));
  };

  it("takes the oldest Ingress naming the host, with all its location annotations; a younger one's stay on its paths", () => {
    const { model, problems } = build([
      ...base,
      ingress({ name: 'zzz', created: older, annotations: basic, rules: [rule('h.example.com', path('/app', 'web'))] }),
      ingress({
        name: 'aaa',
        created: newer,
        annotations: { [`${PREFIX}enable-cors`]: 'true' },
        rules: [rule('h.example.com', path('/open', 'web'))],
      }),
    ]);
    assert.equal(problems.length, 0, show(problems));
    const fallback = server(model, 'h.example.com').fallbackLocation;
    assert.equal(fallback?.ingress, 'default/zzz');
    assert.deepEqual(families(fallback), ['auth']);
    assert.deepEqual(
      [fallback?.path, fallback?.match, fallback?.backend, fallback?.denied],
      ['/', 'prefix', null, null],
    );
    assert.deepEqual(server(model, 'h.example.com').fallback, { backend: null, ingress: null }, 'still 404');
    assert.deepEqual(
      locationsOf(server(model, 'h.example.com')).map((location) => location.path),
      ['/open', '/app', '/'],
    );
  });

  it('none when a rule routes "/" (Prefix), nor for the catch-all without an Ingress of its own', () => {
    const { model } = build([
      ...base,
      ingress({ name: 'a', annotations: basic, rules: [rule('h.example.com', path('/', 'web'))] }),
      ingress({ name: 'b', annotations: basic, rules: [rule(undefined, path('/x', 'web'))] }),
    ]);
    assert.equal(server(model, 'h.example.com').fallbackLocation, undefined);
    assert.equal(server(model, '').fallbackLocation, undefined, "rules without a host never annotate the catch-all's");
    // an Exact "/" leaves the other paths to the fallback
    const exactRoot = build([
      ...base,
      ingress({ name: 'a', annotations: basic, rules: [rule('h.example.com', exact('/', 'web'))] }),
    ]);
    assert.deepEqual(families(server(exactRoot.model, 'h.example.com').fallbackLocation), ['auth']);
  });

  it('an invalid security annotation denies the unmatched paths too; a tolerated one does not', () => {
    const denied = build([
      ...base,
      ingress({
        name: 'a',
        annotations: { [`${PREFIX}whitelist-source-range`]: 'not-a-cidr' },
        rules: [rule('h.example.com', path('/app', 'web'))],
      }),
    ]);
    assert.match(server(denied.model, 'h.example.com').fallbackLocation?.denied ?? '', /invalid access/);
    const tolerated = build([
      ...base,
      ingress({
        name: 'a',
        annotations: { [`${PREFIX}proxy-body-size`]: '15r' },
        rules: [rule('h.example.com', path('/app', 'web'))],
      }),
    ]);
    assert.equal(server(tolerated.model, 'h.example.com').fallbackLocation?.denied, null);
  });

  it("rewrite-target never applies; backend-protocol and proxy-ssl only to the Ingress's own spec.defaultBackend", () => {
    const annotations = {
      [`${PREFIX}rewrite-target`]: '/$1',
      [`${PREFIX}backend-protocol`]: 'HTTPS',
      [`${PREFIX}proxy-read-timeout`]: '30',
    };
    const own = build([
      ...base,
      ingress({
        name: 'a',
        annotations,
        defaultBackend: backend('def'),
        rules: [rule('h.example.com', path('/app(.*)', 'web'))],
      }),
    ]);
    const ownFallback = server(own.model, 'h.example.com').fallbackLocation!;
    assert.equal(ownFallback.backend, 'default_def_80');
    assert.deepEqual(families(ownFallback), ['backend-protocol', 'proxy']);
    assert.deepEqual(ownFallback.service, { name: 'def', port: '80' }, 'X-Service-Name of its error pages');
    // another Ingress's default backend (or none): how to reach its backend is not this Ingress's to say
    const other = build([
      ...base,
      ingress({ name: 'a', created: older, annotations, rules: [rule('h.example.com', path('/app(.*)', 'web'))] }),
      ingress({
        name: 'b',
        created: newer,
        annotations: { [`${PREFIX}default-backend`]: 'def' },
        rules: [rule('h.example.com', path('/b', 'web'))],
      }),
    ]);
    const otherFallback = server(other.model, 'h.example.com').fallbackLocation!;
    assert.equal(otherFallback.ingress, 'default/a');
    assert.deepEqual(families(otherFallback), ['proxy']);
    assert.equal(otherFallback.service, undefined);
  });

  it('the catch-all: the annotations of the Ingress whose spec.defaultBackend it is, less redirects and its ssl-redirect', () => {
    const { model } = build(
      [
        ...base,
        configMap({ 'ssl-redirect': 'false' }),
        ingress({
          name: 'catch-all',
          defaultBackend: backend('def'),
          annotations: {
            ...basic,
            [`${PREFIX}permanent-redirect`]: 'https://elsewhere.example.com/',
            [`${PREFIX}force-ssl-redirect`]: 'true',
            [`${PREFIX}ssl-redirect`]: 'true',
          },
        }),
      ],
      CONFIG_MAP_OPTION,
    );
    const fallback = server(model, '').fallbackLocation!;
    assert.equal(fallback.ingress, 'default/catch-all');
    assert.equal(fallback.backend, 'default_def_80');
    assert.deepEqual(families(fallback), ['auth']);
    assert.equal(fallback.sslRedirect, false, "the ConfigMap's, not the Ingress's");
  });

  it('a resource spec.defaultBackend is ignored with a warning (404), as ingress-nginx', () => {
    const { model, problems } = build([
      ...base,
      ingress({
        name: 'a',
        defaultBackend: { resource: { kind: 'Bucket', name: 'b' } },
        rules: [rule('h.example.com', path('/app', 'web'))],
      }),
      ingress({ name: 'b', defaultBackend: { resource: { kind: 'Bucket', name: 'b' } } }),
    ]);
    assert.deepEqual(server(model, 'h.example.com').fallback, { backend: null, ingress: null });
    assert.deepEqual(server(model, '').fallback, { backend: null, ingress: null });
    assert.equal(problemsMatching(problems, /resource backend \(Bucket\).*not used/).length, 2, show(problems));
  });

  it('the passes over locations see it: auth subrequest, error pages, unresolved auth host, refused snippet', () => {
    const authUrl = { [`${PREFIX}auth-url`]: 'http://auth.example.com/verify' };
    const ext = build(
      [...base, ingress({ name: 'a', annotations: authUrl, rules: [rule('h.example.com', path('/app', 'web'))] })],
      { resolved: new Map([['auth.example.com', ['10.0.0.9']]]) },
    );
    const host = server(ext.model, 'h.example.com');
    assert.ok(host.fallbackLocation?.ann['external-auth'], 'guarded by the auth service');
    assert.equal((host.ann['external-auth'] as { locations: unknown[] }).locations.length, 1);
    // an auth host that does not resolve denies the unmatched paths as well
    const unresolved = build(
      [...base, ingress({ name: 'a', annotations: authUrl, rules: [rule('h.example.com', path('/app', 'web'))] })],
      { resolved: new Map([['auth.example.com', []]]) },
    );
    assert.match(server(unresolved.model, 'h.example.com').fallbackLocation?.denied ?? '', /does not resolve/);
    // custom-http-errors on the fallback only (no path of that Ingress on the host): its pages exist
    const errors = build([
      ...base,
      ingress({
        name: 'a',
        created: older,
        annotations: { [`${PREFIX}custom-http-errors`]: '404' },
        rules: [rule('h.example.com', path('/app', 'web'))],
      }),
    ]);
    const pages = server(errors.model, 'h.example.com').ann['custom-errors'] as { pages: { label: string }[] };
    assert.deepEqual(
      pages.pages.map((page) => page.label),
      ['404'],
    );
    assert.ok(server(errors.model, 'h.example.com').fallbackLocation?.ann['custom-errors']);
    // a snippet nginx refused: the Ingress's paths and the unmatched ones answer 503
    const snippet = build(
      [
        ...base,
        configMap({ 'allow-snippet-annotations': 'true' }),
        ingress({
          name: 'a',
          annotations: { [`${PREFIX}configuration-snippet`]: 'bogus_directive on;' },
          rules: [rule('h.example.com', path('/app', 'web'))],
        }),
      ],
      CONFIG_MAP_OPTION,
    );
    const file = (server(snippet.model, 'h.example.com').fallbackLocation!.ann.snippet as { file: string }).file;
    denySnippets(snippet.model, new Map([[file, 'unknown directive']]));
    const refused = server(snippet.model, 'h.example.com');
    assert.equal(refused.fallbackLocation?.ann.snippet, undefined);
    assert.match(refused.fallbackLocation?.denied ?? '', /snippet/);
  });

  it("mirror and the ConfigMap's global auth see it too: a host-only rule gets its mirror location; no-auth-locations", () => {
    // the Ingress names the host with no path of its own there: only the fallback carries its mirror
    const mirrored = build(
      [
        ...base,
        ingress({
          name: 'a',
          annotations: { [`${PREFIX}mirror-target`]: 'http://10.0.0.7/copy' },
          rules: [rule('h.example.com')],
          defaultBackend: backend('def'),
        }),
      ],
      { resolved: new Map() },
    );
    const host = server(mirrored.model, 'h.example.com');
    assert.ok(host.fallbackLocation?.ann.mirror, 'the unmatched paths are mirrored');
    assert.equal((host.ann.mirror as { locations: unknown[] } | undefined)?.locations.length, 1, 'with its location');
    const dropped = build(
      [
        ...base,
        ingress({
          name: 'a',
          annotations: { [`${PREFIX}mirror-target`]: 'http://gone.invalid/copy' },
          rules: [rule('h.example.com', path('/app', 'web'))],
        }),
      ],
      { resolved: new Map([['gone.invalid', []]]) },
    );
    assert.equal(server(dropped.model, 'h.example.com').fallbackLocation?.ann.mirror, undefined);
    // global-auth-url guards the unmatched paths of hosts (ingress-nginx's root location took enable-global-auth)
    const globalAuth = (settings: Record<string, string>) =>
      build(
        [
          ...base,
          configMap({ 'global-auth-url': 'http://10.0.0.8/auth', ...settings }),
          ingress({ name: 'a', rules: [rule('h.example.com', path('/app', 'web'))] }),
        ],
        CONFIG_MAP_OPTION,
      );
    assert.ok(server(globalAuth({}).model, 'h.example.com').fallbackLocation?.ann['external-auth']);
    const exempt = server(globalAuth({ 'no-auth-locations': '/' }).model, 'h.example.com');
    assert.equal(exempt.fallbackLocation?.ann['external-auth'], undefined, 'no-auth-locations "/" covers it');
  });

  it('renders: no annotations, the same "return 404" as before; with them, the 404 after the access phase; nginx accepts it', async () => {
    const plain = build([...base, ingress({ name: 'a', rules: [rule('h.example.com', path('/app', 'web'))] })]);
    const plainBlock = fallbackBlock(renderText(plain.model), 'h.example.com');
    assert.match(plainBlock, /return 404;/);
    assert.doesNotMatch(plainBlock, /try_files/);
    const guarded = build([
      ...base,
      ingress({ name: 'a', annotations: basic, rules: [rule('h.example.com', path('/app', 'web'))] }),
      ingress({
        name: 'b',
        annotations: { [`${PREFIX}backend-protocol`]: 'GRPC' },
        defaultBackend: backend('def'),
        rules: [rule('g.example.com', path('/app', 'web'))],
      }),
    ]);
    for (const mode of ['lua', 'static'] as const) {
      const text = renderText(guarded.model, mode);
      const block = fallbackBlock(text, 'h.example.com');
      assert.match(block, /auth_basic "Authentication Required";/, mode);
      assert.match(block, /root \/dev\/null;\n\s+try_files \/unmatched =404;/, mode);
      assert.doesNotMatch(block, /return 404/, mode);
      assert.match(
        text,
        /# no rule matched: with the annotations of ingress default\/a, as ingress-nginx's root location/,
      );
      // its own spec.defaultBackend over gRPC: the fallback speaks it, and the http level has grpc headers
      assert.match(fallbackBlock(text, 'g.example.com'), /grpc_pass grpc:\/\//, mode);
    }
    await nginxAccepts(guarded.model);
  });
});
