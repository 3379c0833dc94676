// Endpoints that would send nginx to the controller's own listeners (status server, internal API, its
// own http/https ports) in any address spelling are left out and reported with the object and field
// that named them; a backend over the endpoint limit keeps its previous endpoints (src/model/endpoint-policy.ts).
import assert from 'node:assert/strict';
import { backendName } from '../../src/model/backends.js';
import { canonicalAddress, endpointRefusal, MAX_ENDPOINTS } from '../../src/model/endpoint-policy.js';
import type { EndpointPolicy } from '../../src/model/endpoint-policy.js';
import { buildModel } from '../../src/model/index.js';
import type { Endpoint } from '../../src/model/index.js';
import { servicesOf, updateEndpoints } from '../../src/model/endpoint-update.js';
import { Store } from '../../src/store.js';
import type { Resource } from '../../src/resources.js';
import { formatProblem } from '../../src/resources.js';
import { build, endpoints, ingress, OPTIONS, path, rule, service, show, slice } from '../helpers/resources.js';

const STATUS = 10254;
const INTERNAL = 10246;
const POLICY: EndpointPolicy = { protectedPorts: [80, 443, INTERNAL, STATUS], localAddresses: ['10.1.2.3', 'fd00::3'] };
const ANNOTATION_PREFIX = 'nginx.ingress.kubernetes.io/';

describe('model/endpoint-policy', () => {
  it('canonicalAddress: one spelling for IPv4-mapped, -compatible and long IPv6 forms', () => {
    assert.equal(canonicalAddress('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(canonicalAddress('::FFFF:7f00:1'), '127.0.0.1');
    assert.equal(canonicalAddress('0:0:0:0:0:ffff:7f00:0001'), '127.0.0.1');
    assert.equal(canonicalAddress('::127.0.0.2'), '127.0.0.2');
    assert.equal(canonicalAddress('::1'), '0:0:0:0:0:0:0:1');
    assert.equal(canonicalAddress('0:0:0:0:0:0:0:1'), '0:0:0:0:0:0:0:1');
    assert.equal(canonicalAddress('::'), '0:0:0:0:0:0:0:0');
    assert.equal(canonicalAddress('FD00:0::3'), 'fd00:0:0:0:0:0:0:3');
    assert.equal(canonicalAddress('nope'), null);
  });

  it('a port bound to some addresses: only those, in any spelling, are refused on it; other local addresses reach another socket', () => {
    const bound: EndpointPolicy = {
      ...POLICY,
      boundTo: { [STATUS]: ['127.0.0.1'], [INTERNAL]: ['127.0.0.1', '127.0.0.2'], 80: ['*'] },
    };
    for (const [address, port] of [
      ['127.0.0.1', STATUS],
      ['::ffff:7f00:1', STATUS],
      ['127.0.0.2', INTERNAL],
      ['::ffff:127.0.0.1', INTERNAL],
      ['127.0.9.9', 80],
      ['10.1.2.3', 80],
    ] as [string, number][]) {
      assert.ok(endpointRefusal(address, port, bound), `${address}:${port} refused`);
    }
    // a listener on 127.0.0.1:STATUS is not reached through 127.0.7.1:STATUS (a test pod's port may be the same number)
    for (const [address, port] of [
      ['127.0.7.1', STATUS],
      ['127.0.0.3', INTERNAL],
      ['10.1.2.3', STATUS],
    ] as [string, number][]) {
      assert.equal(endpointRefusal(address, port, bound), null, `${address}:${port} allowed`);
    }
    // a port not in boundTo (443 here) accepts on every local address: the old rule
    assert.ok(endpointRefusal('127.0.7.1', 443, bound));
    assert.ok(endpointRefusal('0.0.0.0', STATUS, bound), 'unspecified stays refused everywhere');
  });

  it('refuses every local spelling on a protected port, unspecified/link-local/multicast on any port; allows loopback elsewhere', () => {
    const refused: [string, number][] = [
      ['127.0.0.1', STATUS],
      ['127.0.0.2', INTERNAL],
      ['127.1.2.3', STATUS],
      ['127.0.0.1', 80],
      ['127.0.0.1', 443],
      ['::1', STATUS],
      ['0:0:0:0:0:0:0:1', INTERNAL],
      ['::ffff:127.0.0.1', STATUS],
      ['::ffff:7f00:1', STATUS],
      ['::127.0.0.1', STATUS],
      ['10.1.2.3', STATUS],
      ['::ffff:10.1.2.3', INTERNAL],
      ['fd00:0:0::3', 443],
      ['0.0.0.0', 8080],
      ['0.1.2.3', 8080],
      ['::', 8080],
      ['::ffff:0.0.0.0', STATUS],
      ['169.254.169.254', 80],
      ['169.254.1.1', 8080],
      ['fe80::1', 8080],
      ['::ffff:169.254.169.254', 80],
      ['224.0.0.1', 8080],
      ['ff02::1', 8080],
    ];
    for (const [address, port] of refused)
      assert.ok(endpointRefusal(address, port, POLICY), `${address}:${port} must be refused`);
    const allowed: [string, number][] = [
      ['127.0.0.1', 8080],
      ['127.0.1.1', 40000],
      ['::1', 8080],
      ['10.1.2.3', 8080],
      ['10.1.2.4', STATUS],
      ['192.0.2.1', 80],
      ['2001:db8::1', 443],
    ];
    for (const [address, port] of allowed)
      assert.equal(endpointRefusal(address, port, POLICY), null, `${address}:${port} must be allowed`);
  });

  const statusIngress = (svc: string) => ingress({ name: 'grab', rules: [rule('grab.test', path('/', svc))] });
  const grabName = backendName('default', 'grab', 80);

  it('Endpoints naming the status port (any spelling): left out and reported with object, field and Ingress; the backend answers 503', () => {
    for (const address of ['127.0.0.1', '::ffff:127.0.0.1', '::1', '10.1.2.3', '0.0.0.0']) {
      const result = build(
        [
          statusIngress('grab'),
          service({ name: 'grab' }),
          endpoints({
            name: 'grab',
            subsets: [{ ready: ['10.0.0.9', address], ports: [{ name: 'http', port: STATUS }] }],
          }),
        ],
        { endpointPolicy: POLICY },
      );
      const backend = result.model.backends.find((x) => x.name === grabName)!;
      assert.deepEqual(backend.endpoints, [{ address: '10.0.0.9', port: STATUS }], address);
      assert.deepEqual(backend.withheld, { refused: 1 });
      const problems = result.problems.filter((x) => x.object === 'Endpoints default/grab');
      assert.equal(problems.length, 1, show(result.problems));
      assert.equal(problems[0]!.severity, 'error');
      assert.equal(problems[0]!.field, 'subsets[0].addresses[1].ip');
      assert.match(
        formatProblem(problems[0]!),
        new RegExp(
          `${address.replace(/[.:]/g, '\\$&')}.*left out.*Ingress default/grab spec\\.rules\\[0\\]\\.http\\.paths\\[0\\]\\.backend`,
        ),
      );
    }
  });

  it('EndpointSlices, IP and resolved ExternalNames, and service-upstream ClusterIPs are screened alike', () => {
    const result = build(
      [
        ingress({
          name: 'a',
          rules: [rule('a.test', path('/', 'sliced'), path('/ext', 'ext'), path('/name', 'named'))],
        }),
        ingress({
          name: 'b',
          annotations: { [`${ANNOTATION_PREFIX}service-upstream`]: 'true' },
          rules: [rule('b.test', path('/', 'cluster', INTERNAL))],
        }),
        service({ name: 'sliced' }),
        slice({
          name: 'sliced-1',
          service: 'sliced',
          endpoints: ['10.0.0.1', { addresses: ['::ffff:127.0.0.1'] }],
          ports: [{ name: 'http', port: STATUS }],
        }),
        service({
          name: 'ext',
          type: 'ExternalName',
          externalName: '127.0.0.1',
          ports: [{ port: 80, targetPort: STATUS }],
        }),
        service({
          name: 'named',
          type: 'ExternalName',
          externalName: 'localhost',
          ports: [{ port: 80, targetPort: INTERNAL }],
        }),
        service({ name: 'cluster', clusterIP: '127.0.0.1', ports: [{ port: INTERNAL }] }),
      ],
      { endpointPolicy: POLICY, resolved: new Map([['localhost', ['127.0.0.1', '::1']]]) },
    );
    const eps = (svc: string, port = 80) =>
      result.model.backends.find((x) => x.name === backendName('default', svc, port))!.endpoints;
    assert.deepEqual(eps('sliced'), [{ address: '10.0.0.1', port: STATUS }]);
    assert.deepEqual(eps('ext'), []);
    assert.deepEqual(eps('named'), []);
    assert.deepEqual(eps('cluster', INTERNAL), []);
    const where = result.problems
      .filter((p) => p.severity === 'error')
      .map((p) => `${p.object} ${p.field}`)
      .sort();
    assert.deepEqual(
      where,
      [
        'EndpointSlice default/sliced-1 endpoints[1].addresses[0]',
        'Service default/cluster spec.clusterIP',
        'Service default/ext spec.externalName',
        'Service default/named spec.externalName',
        'Service default/named spec.externalName',
      ],
      show(result.problems),
    );
    assert.ok(
      result.problems.some((p) => /localhost resolves to it/.test(p.message)),
      show(result.problems),
    );
  });

  it('without a policy only the never-valid addresses are refused (render, unit tests)', () => {
    const result = build([
      statusIngress('grab'),
      service({ name: 'grab' }),
      endpoints({
        name: 'grab',
        subsets: [{ ready: ['127.0.0.1', '169.254.169.254'], ports: [{ name: 'http', port: STATUS }] }],
      }),
    ]);
    assert.deepEqual(result.model.backends[0]!.endpoints, [{ address: '127.0.0.1', port: STATUS }]);
  });

  it("an auth-url naming the status port or internal API (IP or a name resolving to loopback) denies the Ingress's paths, reported", () => {
    const auth = (name: string, url: string) =>
      ingress({
        name,
        annotations: { [`${ANNOTATION_PREFIX}auth-url`]: url },
        rules: [rule(`${name}.test`, path('/', 'web'))],
      });
    const result = build(
      [
        auth('ip', `http://127.0.0.1:${STATUS}/status`),
        auth('named', `http://localhost:${INTERNAL}/configuration/backends`),
        auth('mapped', `http://[::ffff:127.0.0.1]:${STATUS}/`),
        auth('fine', 'http://127.0.0.1:8080/auth'),
        service({ name: 'web' }),
        endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] }),
      ],
      { endpointPolicy: POLICY, resolved: new Map([['localhost', ['127.0.0.1']]]) },
    );
    const denied = (host: string) => result.model.servers.find((s) => s.host === host)!.locations[0]!.denied;
    for (const name of ['ip', 'named', 'mapped']) {
      assert.equal(denied(`${name}.test`), 'auth-url names the controller itself', name);
      const problem = result.problems.find((x) => x.object === `Ingress default/${name}` && x.severity === 'error');
      assert.match(problem?.message ?? '', /loopback address on a port of the controller/, show(result.problems));
      assert.equal(problem?.field, `metadata.annotations["${ANNOTATION_PREFIX}auth-url"]`);
    }
    assert.equal(denied('fine.test'), null);
  });

  describe('the endpoint limit', () => {
    const many = (n: number, offset = 0) =>
      Array.from(
        { length: n },
        (_, i) => `10.${(i + offset) >> 16}.${((i + offset) >> 8) & 255}.${(i + offset) & 255}`,
      );
    const cluster = (addresses: string[]): Resource[] => [
      ingress({ name: 'big', rules: [rule('big.test', path('/', 'big'))] }),
      service({ name: 'big' }),
      endpoints({ name: 'big', subsets: [{ ready: addresses }] }),
    ];
    const bigName = backendName('default', 'big', 80);

    it(`a Service with more than ${MAX_ENDPOINTS} ready endpoints keeps the previous ones; reported on the Service and the Ingress`, () => {
      const previous: Endpoint[] = [{ address: '10.9.9.9', port: 8080 }];
      const result = build(cluster(many(MAX_ENDPOINTS + 1)), {
        endpointPolicy: POLICY,
        lastGood: new Map([[bigName, previous]]),
      });
      const upstream = result.model.backends.find((x) => x.name === bigName)!;
      assert.deepEqual(upstream.endpoints, previous);
      assert.deepEqual(upstream.withheld, { refused: 0, overLimit: MAX_ENDPOINTS + 1 });
      const svc = result.problems.find((p) => p.object === 'Service default/big');
      assert.match(
        svc?.message ?? '',
        /10001 ready endpoints, more than the limit of 10000; backend .* keeps its previous 1 endpoint\(s\) \(backend .* of Ingress default\/big/,
        show(result.problems),
      );
      const ing = result.problems.find((p) => p.object === 'Ingress default/big');
      assert.equal(ing?.field, 'spec.rules[0].http.paths[0].backend');
      assert.equal(ing?.severity, 'error');
      // no previous endpoints (the first build): none at all, rather than a list nginx would refuse
      assert.deepEqual(
        build(cluster(many(MAX_ENDPOINTS + 1)), { endpointPolicy: POLICY }).model.backends[0]!.endpoints,
        [],
      );
      // exactly the limit is fine
      const edge = build(cluster(many(MAX_ENDPOINTS)), { endpointPolicy: POLICY });
      assert.equal(edge.model.backends[0]!.endpoints.length, MAX_ENDPOINTS);
      assert.equal(edge.problems.filter((p) => p.severity === 'error').length, 0, show(edge.problems));
    });

    it('the endpoint fast path leaves a change over the limit, and any change of a held-back backend, to the full build', () => {
      const file = (...resources: Resource[]) => ({ resources, rejected: [], parseFailed: false });
      const store = new Store();
      const [ing, svc, ep] = cluster(many(3));
      store.setFile('a.yaml', file(ing!, svc!));
      store.setFile('ep.yaml', file(ep!));
      store.takeChanges();
      const before = buildModel(store, { ...OPTIONS, endpointPolicy: POLICY });
      store.setFile('ep.yaml', file(endpoints({ name: 'big', subsets: [{ ready: many(MAX_ENDPOINTS + 1) }] })));
      assert.equal(
        updateEndpoints(before.model, store, servicesOf(store.takeChanges())!, POLICY),
        null,
        'over the limit: full build',
      );
      const held = buildModel(store, {
        ...OPTIONS,
        endpointPolicy: POLICY,
        lastGood: new Map(before.model.backends.map((b) => [b.name, b.endpoints])),
      });
      assert.equal(held.model.backends[0]!.endpoints.length, 3);
      store.setFile('ep.yaml', file(endpoints({ name: 'big', subsets: [{ ready: many(2) }] })));
      assert.equal(
        updateEndpoints(held.model, store, servicesOf(store.takeChanges())!, POLICY),
        null,
        'back under the limit: full build clears the problem',
      );
      store.setFile(
        'ep.yaml',
        file(
          endpoints({
            name: 'big',
            subsets: [{ ready: ['10.0.0.1', '127.0.0.1'], ports: [{ name: 'http', port: STATUS }] }],
          }),
        ),
      );
      assert.equal(
        updateEndpoints(before.model, store, servicesOf(store.takeChanges())!, POLICY),
        null,
        'a refused endpoint: full build',
      );
    });
  });
});
