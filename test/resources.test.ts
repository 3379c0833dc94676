import assert from 'node:assert/strict';
import { formatProblem, KINDS, objectRef, resourceKey } from '../src/resources.js';
import { ingress, service } from './helpers/resources.js';

describe('resources', () => {
  describe('formatProblem', () => {
    it('severity, then where (file:line, object, field), then the message', () => {
      assert.equal(
        formatProblem({
          severity: 'error',
          file: 'shop/cafe.yaml',
          line: 12,
          object: 'Ingress shop/cafe',
          field: 'spec.rules[0].host',
          message: 'must be a DNS name',
        }),
        'error: shop/cafe.yaml:12 Ingress shop/cafe spec.rules[0].host: must be a DNS name',
      );
    });

    it('leaves out what it does not know: no line, no file, nothing at all', () => {
      assert.equal(
        formatProblem({ severity: 'warning', file: 'a.yaml', message: 'not loaded' }),
        'warning: a.yaml: not loaded',
      );
      assert.equal(
        formatProblem({ severity: 'error', object: 'Service default/web', message: 'no such port' }),
        'error: Service default/web: no such port',
      );
      assert.equal(
        formatProblem({ severity: 'warning', message: '2 snippet(s) not tested' }),
        'warning: 2 snippet(s) not tested',
      );
    });

    it('a line without a file says nothing (a line of what?)', () => {
      assert.equal(formatProblem({ severity: 'error', line: 3, message: 'x' }), 'error: x');
    });
  });

  describe('objectRef and resourceKey', () => {
    it('objectRef: "Kind namespace/name", as problems and logs name an object', () => {
      assert.equal(objectRef(ingress({ name: 'cafe', namespace: 'shop' })), 'Ingress shop/cafe');
      assert.equal(objectRef(service({ name: 'web' })), 'Service default/web');
    });

    it('resourceKey: one key per kind, namespace and name; the same name in another kind or namespace differs', () => {
      assert.equal(resourceKey('Service', 'shop', 'web'), 'Service/shop/web');
      const keys = new Set([
        resourceKey('Service', 'shop', 'web'),
        resourceKey('Endpoints', 'shop', 'web'),
        resourceKey('Service', 'default', 'web'),
      ]);
      assert.equal(keys.size, 3);
    });
  });

  it('KINDS lists each kind once', () => {
    assert.equal(new Set(KINDS).size, KINDS.length);
    assert.ok(KINDS.includes('Ingress') && KINDS.includes('EndpointSlice'));
  });
});
