import assert from 'node:assert/strict';
import { backendName, resolveBackend, sortEndpoints } from '../../src/model/backends.js';
import type { BackendLookup } from '../../src/model/backends.js';
import type { Backend } from '../../src/model/index.js';
import type { Resource } from '../../src/resources.js';
import {
  backend,
  build,
  endpoints,
  ingress,
  problemsMatching,
  reorder,
  service,
  show,
  slice,
} from '../helpers/resources.js';

/** Route h.example.com/ to the backend reference and return what the model made of it. */
function route(resources: Resource[], ref = backend('web'), opts: Parameters<typeof build>[1] = {}) {
  const ing = ingress({
    name: 'ing',
    rules: [{ host: 'h.example.com', paths: [{ path: '/', pathType: 'Prefix', backend: ref }] }],
  });
  const result = build([...resources, ing], opts);
  const name = result.model.servers.find((s) => s.host === 'h.example.com')!.locations[0]!.backend;
  const upstream = name === null ? undefined : result.model.backends.find((x) => x.name === name);
  return { ...result, name, backend: upstream };
}
const eps = (b: Backend | undefined) => (b?.endpoints ?? []).map((e) => `${e.address}:${e.port}`);

describe('backends', () => {
  it('names a backend namespace-service-port after the Service port', () => {
    assert.equal(backendName('shop', 'web', 8080), 'shop_web_8080');
    const {
      name,
      backend: upstream,
      problems,
    } = route([service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })]);
    assert.equal(problems.length, 0, show(problems));
    assert.equal(name, 'default_web_80');
    assert.deepEqual(upstream, {
      name: 'default_web_80',
      namespace: 'default',
      service: 'web',
      port: 80,
      endpoints: [{ address: '10.0.0.1', port: 8080 }],
      balance: { loadBalance: 'round_robin' },
    });
  });

  describe('Service ports', () => {
    const svc = service({
      name: 'web',
      ports: [
        { name: 'http', port: 80, targetPort: 'web' },
        { name: 'admin', port: 9000, targetPort: 9090 },
      ],
    });
    const ep = endpoints({
      name: 'web',
      subsets: [
        {
          ready: ['10.0.0.1'],
          ports: [
            { name: 'http', port: 8080 },
            { name: 'admin', port: 9090 },
          ],
        },
      ],
    });

    it('finds the Service port by number', () => {
      const result = route([svc, ep], backend('web', 9000));
      assert.equal(result.name, 'default_web_9000');
      assert.deepEqual(eps(result.backend), ['10.0.0.1:9090']);
    });

    it('finds the Service port by name, and names the backend by its number', () => {
      const result = route([svc, ep], backend('web', 'admin'));
      assert.equal(result.name, 'default_web_9000');
      assert.deepEqual(eps(result.backend), ['10.0.0.1:9090']);
    });

    it('resolves a named targetPort through the Endpoints port named like the Service port', () => {
      const result = route([svc, ep], backend('web', 'http'));
      assert.deepEqual(eps(result.backend), ['10.0.0.1:8080']);
    });

    it('resolves a named targetPort through the EndpointSlice port named like the Service port', () => {
      const sl = slice({
        name: 'web-1',
        service: 'web',
        endpoints: ['10.0.0.5'],
        ports: [
          { name: 'admin', port: 9091 },
          { name: 'http', port: 8081 },
        ],
      });
      assert.deepEqual(eps(route([svc, sl], backend('web', 80)).backend), ['10.0.0.5:8081']);
      assert.deepEqual(eps(route([svc, sl], backend('web', 9000)).backend), ['10.0.0.5:9091']);
    });

    it('matches a single unnamed Service port with the single unnamed endpoint port', () => {
      const one = service({ name: 'web', ports: [{ port: 80, targetPort: 8080 }] });
      const result = route([
        one,
        endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'], ports: [{ port: 8080 }] }] }),
      ]);
      assert.deepEqual(eps(result.backend), ['10.0.0.1:8080']);
      const server = route([
        one,
        slice({ name: 'web-x', service: 'web', endpoints: ['10.0.0.2'], ports: [{ port: 8080 }] }),
      ]);
      assert.deepEqual(eps(server.backend), ['10.0.0.2:8080']);
    });

    it('reports a port the Service does not have, listing the ports it has, and answers 503', () => {
      const result = route([svc, ep], backend('web', 81));
      assert.equal(result.name, null);
      const problems = problemsMatching(result.problems, /has no port 81/);
      assert.equal(problems.length, 1, show(result.problems));
      assert.match(problems[0]!.message, /http:80, admin:9000/);
      assert.match(problems[0]!.message, /503/);
      assert.equal(problems[0]!.object, 'Ingress default/ing');
      assert.equal(problems[0]!.field, 'spec.rules[0].http.paths[0].backend');
      assert.equal(route([svc, ep], backend('web', 'nope')).name, null);
    });

    it('reports a UDP port and answers 503', () => {
      const udp = service({ name: 'dns', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] });
      const result = route([udp], backend('dns', 53));
      assert.equal(result.name, null);
      assert.equal(problemsMatching(result.problems, /UDP, not TCP/).length, 1, show(result.problems));
      assert.deepEqual(result.model.backends, []);
    });
  });

  it('reports a missing Service and answers 503', () => {
    const result = route([], backend('ghost'));
    assert.equal(result.name, null);
    const problems = problemsMatching(result.problems, /Service default\/ghost not found/);
    assert.equal(problems.length, 1, show(result.problems));
    assert.equal(problems[0]!.severity, 'warning');
    assert.deepEqual(result.model.backends, []);
  });

  it('does not look for the Service in another namespace', () => {
    const result = route([service({ name: 'web', namespace: 'other' })]);
    assert.equal(result.name, null);
  });

  it("leaves a path with a resource backend to the host's unmatched paths (404), as ingress-nginx", () => {
    const ing = ingress({
      name: 'ing',
      rules: [
        {
          host: 'h.example.com',
          paths: [{ path: '/', pathType: 'Prefix', backend: { resource: { kind: 'StorageBucket', name: 'static' } } }],
        },
      ],
    });
    const result = build([ing]);
    const server = result.model.servers.find((s) => s.host === 'h.example.com')!;
    assert.deepEqual(server.locations, []);
    assert.deepEqual(server.fallback, { backend: null, ingress: null });
    assert.equal(problemsMatching(result.problems, /StorageBucket.*not a Service/).length, 1, show(result.problems));
  });

  describe('Endpoints', () => {
    it('uses only ready addresses, never notReadyAddresses', () => {
      const result = route([
        service({ name: 'web' }),
        endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.2', '10.0.0.1'], notReady: ['10.0.0.9'] }] }),
      ]);
      assert.deepEqual(eps(result.backend), ['10.0.0.1:8080', '10.0.0.2:8080']);
    });

    it('merges subsets with different ports and skips subsets without the port', () => {
      const result = route([
        service({ name: 'web' }),
        endpoints({
          name: 'web',
          subsets: [
            { ready: ['10.0.0.1'], ports: [{ name: 'http', port: 8080 }] },
            { ready: ['10.0.0.2'], ports: [{ name: 'http', port: 8081 }] },
            { ready: ['10.0.0.3'], ports: [{ name: 'metrics', port: 9100 }] },
          ],
        }),
      ]);
      assert.deepEqual(eps(result.backend), ['10.0.0.1:8080', '10.0.0.2:8081']);
    });

    it('keeps a backend without endpoints (the renderer answers 503 for it)', () => {
      const result = route([service({ name: 'web' })]);
      assert.equal(result.name, 'default_web_80');
      assert.deepEqual(result.backend?.endpoints, []);
      const none = route([service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ notReady: ['10.0.0.1'] }] })]);
      assert.deepEqual(none.backend?.endpoints, []);
    });
  });

  describe('EndpointSlices', () => {
    const svc = service({ name: 'web' });

    it('uses only ready endpoints that are not terminating', () => {
      const result = route([
        svc,
        slice({
          name: 'web-a',
          service: 'web',
          endpoints: [
            '10.0.0.1',
            { addresses: ['10.0.0.2'], ready: false },
            { addresses: ['10.0.0.3'], ready: true, terminating: true },
            { addresses: ['10.0.0.4'], ready: false, serving: true, terminating: true },
            { addresses: ['10.0.0.5'], ready: true, serving: false },
          ],
        }),
      ]);
      assert.deepEqual(eps(result.backend), ['10.0.0.1:8080', '10.0.0.5:8080']);
    });

    it('prefers EndpointSlices over Endpoints when both exist', () => {
      const result = route([
        svc,
        endpoints({ name: 'web', subsets: [{ ready: ['10.9.9.9'] }] }),
        slice({ name: 'web-a', service: 'web', endpoints: ['10.0.0.1'] }),
      ]);
      assert.deepEqual(eps(result.backend), ['10.0.0.1:8080']);
    });

    it('merges several slices of one Service and removes duplicates', () => {
      const result = route([
        svc,
        slice({ name: 'web-a', service: 'web', endpoints: ['10.0.0.3', '10.0.0.1'] }),
        slice({ name: 'web-b', service: 'web', endpoints: ['10.0.0.2', '10.0.0.1'] }),
        slice({ name: 'other-a', service: 'other', endpoints: ['10.7.7.7'] }),
      ]);
      assert.deepEqual(eps(result.backend), ['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080']);
    });

    it('uses every address of an endpoint, IPv6 too, and skips FQDN slices', () => {
      const result = route([
        svc,
        slice({ name: 'web-a', service: 'web', endpoints: [{ addresses: ['10.0.0.1', '10.0.0.2'] }] }),
        slice({ name: 'web-6', service: 'web', addressType: 'IPv6', endpoints: ['fd00::1'] }),
        slice({ name: 'web-f', service: 'web', addressType: 'FQDN', endpoints: ['pod.example.com'] }),
      ]);
      assert.deepEqual(eps(result.backend), ['10.0.0.1:8080', '10.0.0.2:8080', 'fd00::1:8080']);
    });

    it('only takes slices from the Service namespace', () => {
      const result = route([
        svc,
        slice({ name: 'web-a', namespace: 'other', service: 'web', endpoints: ['10.0.0.1'] }),
      ]);
      assert.deepEqual(eps(result.backend), []);
    });

    it('skips a slice port without a number', () => {
      const result = route([
        svc,
        slice({ name: 'web-a', service: 'web', endpoints: ['10.0.0.1'], ports: [{ name: 'http' }] }),
      ]);
      assert.deepEqual(eps(result.backend), []);
    });
  });

  it('treats headless Services like any other', () => {
    const headless = service({ name: 'web', clusterIP: 'None' });
    assert.deepEqual(
      eps(route([headless, slice({ name: 'web-a', service: 'web', endpoints: ['10.0.0.1'] })]).backend),
      ['10.0.0.1:8080'],
    );
    assert.deepEqual(eps(route([headless, endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.2'] }] })]).backend), [
      '10.0.0.2:8080',
    ]);
  });

  describe('ExternalName', () => {
    const ext = service({
      name: 'web',
      type: 'ExternalName',
      externalName: 'api.example.net',
      ports: [{ name: 'https', port: 443 }],
    });

    it('uses the addresses resolved for the name and reports the name to resolve', () => {
      const resolved = new Map([['api.example.net', ['192.0.2.2', '192.0.2.1']]]);
      const result = route([ext], backend('web', 443), { resolved });
      assert.equal(result.problems.length, 0, show(result.problems));
      assert.deepEqual(result.externalNames, ['api.example.net']);
      assert.equal(result.backend?.externalName, 'api.example.net');
      assert.deepEqual(eps(result.backend), ['192.0.2.1:443', '192.0.2.2:443']);
    });

    it('has no endpoints until the name is resolved, and still reports the name', () => {
      const result = route([ext], backend('web', 443));
      assert.deepEqual(result.externalNames, ['api.example.net']);
      assert.deepEqual(result.backend?.endpoints, []);
    });

    it('a name looked up without an answer: no endpoints, and a warning that it does not resolve', () => {
      const result = route([ext], backend('web', 443), { resolved: new Map([['api.example.net', []]]) });
      assert.deepEqual(result.backend?.endpoints, []);
      assert.match(show(result.problems), /spec\.externalName "api\.example\.net" does not resolve; answering 503/);
      // not yet looked up at all: nothing to say yet
      assert.equal(route([ext], backend('web', 443)).problems.length, 0);
    });

    it('dials a numeric targetPort, and takes an IP address as is', () => {
      const ip = service({
        name: 'web',
        type: 'ExternalName',
        externalName: '192.0.2.7',
        ports: [{ port: 80, targetPort: 8443 }],
      });
      const result = route([ip]);
      assert.deepEqual(eps(result.backend), ['192.0.2.7:8443']);
      assert.deepEqual(result.externalNames, []);
    });

    it("without ports (as the walkthrough writes it), dials the Ingress's numeric port, as ingress-nginx did", () => {
      const portless = service({ name: 'web', type: 'ExternalName', externalName: '192.0.2.9', ports: [] });
      assert.deepEqual(eps(route([portless], backend('web', 8081)).backend), ['192.0.2.9:8081']);
      // a port the Service lists is still its own; a name it does not list cannot be dialled
      assert.deepEqual(
        eps(route([ext], backend('web', 8443), { resolved: new Map([['api.example.net', ['192.0.2.1']]]) }).backend),
        ['192.0.2.1:8443'],
      );
      const named = route([portless], backend('web', 'http'));
      assert.equal(named.backend, undefined);
      assert.match(show(named.problems), /has no port http \(ports: none\)/);
    });

    it('ignores Endpoints and slices of an ExternalName Service', () => {
      const result = route(
        [ext, slice({ name: 'web-a', service: 'web', endpoints: ['10.0.0.1'], ports: [{ name: 'https', port: 443 }] })],
        backend('web', 443),
      );
      assert.deepEqual(result.backend?.endpoints, []);
    });

    it('drops resolved values that are not IP addresses', () => {
      const result = route([ext], backend('web', 443), {
        resolved: new Map([['api.example.net', ['192.0.2.1', 'evil;', '']]]),
      });
      assert.deepEqual(eps(result.backend), ['192.0.2.1:443']);
    });
  });

  it('orders endpoints deterministically, whatever order they come in', () => {
    const ips = ['10.0.0.10', '10.0.0.9', '10.0.0.1', 'fd00::2', '10.0.0.2'];
    const want = eps(route([service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ips }] })]).backend);
    assert.equal(want.length, 5);
    for (let seed = 0; seed < ips.length; seed++) {
      const result = route([
        service({ name: 'web' }),
        slice({ name: 'web-a', service: 'web', endpoints: reorder(ips, seed) }),
      ]);
      assert.deepEqual(eps(result.backend), want);
    }
    assert.deepEqual(
      sortEndpoints([
        { address: '10.0.0.1', port: 2 },
        { address: '10.0.0.1', port: 1 },
        { address: '10.0.0.1', port: 2 },
      ]),
      [
        { address: '10.0.0.1', port: 1 },
        { address: '10.0.0.1', port: 2 },
      ],
    );
  });

  it('resolveBackend works against any lookup', () => {
    const lookup: BackendLookup = {
      service: (ns, name) => (ns === 'x' && name === 'web' ? service({ name: 'web', namespace: 'x' }) : undefined),
      endpoints: () => undefined,
      slices: () => [slice({ name: 'web-a', namespace: 'x', service: 'web', endpoints: ['10.0.0.1'] })],
      resolved: () => undefined,
    };
    const good = resolveBackend('x', backend('web'), lookup);
    assert.ok(good.ok);
    assert.deepEqual(good.backend.endpoints, [{ address: '10.0.0.1', port: 8080 }]);
    const bad = resolveBackend('y', backend('web'), lookup);
    assert.equal(bad.ok, false);
  });
});
