// The pure decisions of the Ingress status: the address of the publish Service by type (as ingress-nginx's
// statusAddressFromService), the fixed list, ingress-nginx's order, which Ingresses a real model serves, and
// which Ingresses need a write.
import assert from 'node:assert/strict';
import {
  fixedAddresses,
  servedIngresses,
  serviceAddresses,
  sortAddresses,
  statusDiff,
} from '../../src/publish/status-address.js';
import { backend, build, ingress, path, rule, service, show } from '../helpers/resources.js';

const CANARY = { 'nginx.ingress.kubernetes.io/canary': 'true', 'nginx.ingress.kubernetes.io/canary-weight': '10' };

describe('publish/status-address', () => {
  it("the publish Service's address by type, as ingress-nginx took it", () => {
    const loadBalancer = {
      spec: { type: 'LoadBalancer', clusterIP: '10.96.0.10', externalIPs: ['192.0.2.9', '192.0.2.1'] },
      status: {
        loadBalancer: { ingress: [{ ip: '192.0.2.1' }, { hostname: 'lb.example.com', ports: [{ port: 80 }] }] },
      },
    };
    assert.deepEqual(serviceAddresses(loadBalancer), {
      // the status first, then the externalIPs it does not list; sorted by hostname, then IP; no ports
      addresses: [{ ip: '192.0.2.1' }, { ip: '192.0.2.9' }, { hostname: 'lb.example.com' }],
    });
    assert.deepEqual(serviceAddresses({ spec: { type: 'LoadBalancer' } }), { addresses: [] }, 'pending: no address');
    assert.deepEqual(serviceAddresses({ spec: { type: 'NodePort', clusterIP: '10.96.0.10' } }), {
      addresses: [{ ip: '10.96.0.10' }],
    });
    assert.deepEqual(
      serviceAddresses({ spec: { type: 'NodePort', clusterIP: '10.96.0.10', externalIPs: ['192.0.2.5'] } }),
      {
        addresses: [{ ip: '192.0.2.5' }],
      },
    );
    assert.deepEqual(serviceAddresses({ spec: { clusterIP: '10.96.0.10' } }), { addresses: [{ ip: '10.96.0.10' }] });
    assert.deepEqual(serviceAddresses({ spec: { type: 'ExternalName', externalName: 'lb.example.net' } }), {
      addresses: [{ hostname: 'lb.example.net' }],
    });
    assert.ok('problem' in serviceAddresses({ spec: { type: 'ClusterIP', clusterIP: 'None' } }), 'headless');
  });

  it('--publish-status-address: IPs and host names, commas with or without spaces, sorted', () => {
    assert.deepEqual(fixedAddresses('lb.example.com, 192.0.2.7,2001:db8::1'), [
      { ip: '192.0.2.7' },
      { ip: '2001:db8::1' },
      { hostname: 'lb.example.com' },
    ]);
  });

  it("ingress-nginx's order: by hostname, then by IP as strings", () => {
    assert.deepEqual(sortAddresses([{ hostname: 'b' }, { ip: '10.0.0.2' }, { hostname: 'a' }, { ip: '10.0.0.10' }]), [
      { ip: '10.0.0.10' },
      { ip: '10.0.0.2' },
      { hostname: 'a' },
      { hostname: 'b' },
    ]);
  });

  it('the Ingresses a model serves: rules, a default backend alone; not another class, not one left out entirely', () => {
    const { model, problems } = build(
      [
        service({ name: 'web' }),
        ingress({ name: 'web', rules: [rule('web.example.com', path('/', 'web'))] }),
        ingress({ name: 'fallback', defaultBackend: backend('web') }),
        ingress({ name: 'theirs', className: 'other', rules: [rule('theirs.example.com', path('/', 'web'))] }),
        ingress({ name: 'no-host-paths', rules: [rule(undefined, path('/api', 'web'))] }),
        // a canary takes part of a main Ingress's traffic: served; one with no main Ingress to split is left out
        service({ name: 'web-canary' }),
        ingress({ name: 'canary', annotations: CANARY, rules: [rule('web.example.com', path('/', 'web-canary'))] }),
        ingress({
          name: 'canary-nowhere',
          annotations: CANARY,
          rules: [rule('nowhere.example.com', path('/', 'web-canary'))],
        }),
      ],
      { balancer: 'lua' },
    );
    assert.match(show(problems), /canary-nowhere[^\n]*no main Ingress routes/);
    assert.deepEqual([...servedIngresses(model)].sort(), [
      'default/canary',
      'default/fallback',
      'default/no-host-paths',
      'default/web',
    ]);
  });

  describe('statusDiff', () => {
    const desired = [{ ip: '192.0.2.1' }];
    const other = [{ ip: '198.51.100.1' }];

    it('writes a served Ingress whose status differs, and nothing when all agree', () => {
      const observed = new Map([
        ['default/a', []],
        ['default/b', desired],
        ['default/c', other],
      ]);
      const served = new Set(['default/a', 'default/b', 'default/c']);
      assert.deepEqual(statusDiff({ desired, served, observed, written: new Set() }), [
        { key: 'default/a', addresses: desired },
        { key: 'default/c', addresses: desired },
      ]);
      const agreed = new Map([...observed.keys()].map((key) => [key, desired]));
      assert.deepEqual(statusDiff({ desired, served, observed: agreed, written: new Set() }), []);
    });

    it("clears an Ingress no longer served that holds our address or that we wrote, never another controller's", () => {
      const observed = new Map([
        ['default/left', desired], // left the class: still shows our address
        ['default/old', other], // we wrote it, before the address changed
        ['default/theirs', other], // another controller's Ingress and address
        ['default/empty', []],
      ]);
      const writes = statusDiff({ desired, served: new Set(), observed, written: new Set(['default/old']) });
      assert.deepEqual(writes, [
        { key: 'default/left', addresses: [] },
        { key: 'default/old', addresses: [] },
      ]);
    });

    it('a served Ingress not watched yet waits for its watch event', () => {
      const writes = statusDiff({ desired, served: new Set(['default/new']), observed: new Map(), written: new Set() });
      assert.deepEqual(writes, []);
    });
  });
});
