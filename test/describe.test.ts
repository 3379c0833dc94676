import assert from 'node:assert/strict';
import { describeIngresses } from '../src/describe.js';
import { backend, endpoints, ingress, OPTIONS, path, rule, service, storeOf } from './helpers/resources.js';

describe('describe', () => {
  const store = storeOf(
    service({ name: 'tea-svc' }),
    endpoints({ name: 'tea-svc', subsets: [{ ready: ['10.0.0.1', '10.0.0.2'] }] }),
    service({ name: 'coffee-svc' }),
    ingress({
      name: 'cafe-ingress',
      tls: [{ hosts: ['cafe.example.com'], secretName: 'cafe-secret' }],
      rules: [
        rule('cafe.example.com', path('/tea', 'tea-svc'), path('/coffee', 'coffee-svc'), path('/milk', 'milk-svc')),
      ],
    }),
    ingress({ name: 'other', className: 'traefik', defaultBackend: backend('tea-svc'), rules: [] }),
  );

  it('prints what kubectl describe ingress prints, with ready endpoints per backend', () => {
    const [text] = describeIngresses(store, { classes: OPTIONS }, { namespace: 'default', name: 'cafe-ingress' });
    assert.match(text!, /^Name:\s+cafe-ingress$/m);
    assert.match(text!, /^Namespace:\s+default$/m);
    assert.match(text!, /^Default backend:\s+<default>$/m);
    assert.match(text!, /^TLS:\n {2}cafe-secret terminates cafe\.example\.com$/m);
    assert.match(text!, /^ {2}Host\s+Path\s+Backends$/m);
    assert.match(text!, /^ {2}cafe\.example\.com$/m);
    assert.match(text!, /^\s+\/tea\s+tea-svc:80 \(10\.0\.0\.1:8080,10\.0\.0\.2:8080\)$/m);
    assert.match(text!, /^\s+\/coffee\s+coffee-svc:80 \(<none>\)$/m);
    assert.match(text!, /^\s+\/milk\s+milk-svc:80 \(<error: Service default\/milk-svc not found>\)$/m);
  });

  it('shows live endpoints when given, and marks Ingresses of another class', () => {
    const live = new Map([['default_tea-svc_80', ['10.9.9.9:8080']]]);
    const [cafe] = describeIngresses(store, { classes: OPTIONS, live }, { namespace: 'default', name: 'cafe-ingress' });
    assert.match(cafe!, /tea-svc:80 \(10\.9\.9\.9:8080\)/);
    const [other] = describeIngresses(store, { classes: OPTIONS }, { namespace: 'default', name: 'other' });
    assert.match(other!, /^Ingress Class:\s+traefik {2}\(not served by this controller\)$/m);
    assert.match(other!, /^Default backend:\s+tea-svc:80 \(10\.0\.0\.1:8080,10\.0\.0\.2:8080\)$/m);
    assert.equal(describeIngresses(store, { classes: OPTIONS }).length, 2);
  });
});
