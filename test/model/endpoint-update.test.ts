import assert from 'node:assert/strict';
import { buildModel } from '../../src/model/index.js';
import { servicesOf, updateEndpoints } from '../../src/model/endpoint-update.js';
import { Store } from '../../src/store.js';
import type { Resource } from '../../src/resources.js';
import { endpoints, ingress, OPTIONS, path, rule, service, slice } from '../helpers/resources.js';

const ANNOTATION_PREFIX = 'nginx.ingress.kubernetes.io/';
const file = (...resources: Resource[]) => ({ resources, rejected: [], parseFailed: false });

// routes: web (Endpoints), api (EndpointSlices), ext (ExternalName), plus a canary of web
function cluster(): Store {
  const store = new Store();
  store.setFile(
    'routes.yaml',
    file(
      ingress({ name: 'web', rules: [rule('web.test', path('/', 'web'), path('/api', 'api'))] }),
      ingress({ name: 'ext', rules: [rule('ext.test', path('/', 'ext'))] }),
      service({ name: 'web' }),
      service({ name: 'api' }),
      service({ name: 'ext', type: 'ExternalName', externalName: '192.0.2.1' }),
    ),
  );
  store.setFile('ep/web.yaml', file(endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1', '10.0.0.2'] }] })));
  store.setFile('ep/api.yaml', file(slice({ name: 'api-a', service: 'api', endpoints: ['10.0.1.1'] })));
  store.takeChanges();
  return store;
}

function fastEqualsFull(store: Store, before: ReturnType<typeof buildModel>) {
  const services = servicesOf(store.takeChanges());
  assert.ok(services, 'only endpoint kinds changed');
  const update = updateEndpoints(before.model, store, services);
  assert.ok(update, 'the fast path applies');
  assert.deepEqual(update.model, buildModel(store, OPTIONS).model, 'same model as a full build');
  return update;
}

describe('model/update', () => {
  it('an Endpoints change updates that backend only, exactly as a full build would', () => {
    const store = cluster();
    const before = buildModel(store, OPTIONS);
    store.setFile(
      'ep/web.yaml',
      file(endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.3'], notReady: ['10.0.0.1'] }] })),
    );
    const update = fastEqualsFull(store, before);
    assert.deepEqual(
      update.changed.map((b) => [b.name, b.endpoints.map((e) => e.address)]),
      [['default_web_80', ['10.0.0.3']]],
    );
  });

  it('EndpointSlices: added, changed, moved to another Service, removed', () => {
    const store = cluster();
    let before = buildModel(store, OPTIONS);
    store.setFile(
      'ep/api-b.yaml',
      file(
        slice({ name: 'api-b', service: 'api', endpoints: ['10.0.1.2', { addresses: ['10.0.1.3'], ready: false }] }),
      ),
    );
    let update = fastEqualsFull(store, before);
    assert.deepEqual(
      update.changed[0]!.endpoints.map((e) => e.address),
      ['10.0.1.1', '10.0.1.2'],
    );
    before = buildModel(store, OPTIONS);
    // the same slice now labelled for web: both Services change
    store.setFile(
      'ep/api-b.yaml',
      file(slice({ name: 'api-b', service: 'web', endpoints: ['10.0.0.9'], ports: [{ name: 'http', port: 8080 }] })),
    );
    update = fastEqualsFull(store, before);
    assert.deepEqual(update.changed.map((b) => b.name).sort(), ['default_api_80', 'default_web_80']);
    before = buildModel(store, OPTIONS);
    store.removeFile('ep/api-b.yaml');
    store.removeFile('ep/api.yaml');
    update = fastEqualsFull(store, before);
    assert.ok(update.changed.some((b) => b.name === 'default_api_80' && b.endpoints.length === 0));
  });

  it('endpoints of a Service no backend uses change nothing', () => {
    const store = cluster();
    const before = buildModel(store, OPTIONS);
    store.setFile('ep/other.yaml', file(endpoints({ name: 'other', subsets: [{ ready: ['10.0.9.1'] }] })));
    const update = fastEqualsFull(store, before);
    assert.deepEqual(update.changed, []);
    update.model.backends.forEach((b, i) => assert.equal(b, before.model.backends[i], 'the same objects, untouched'));
  });

  it('any other kind among the changes needs the full build', () => {
    const store = cluster();
    store.setFile('ep/web.yaml', file(endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.3'] }] })));
    store.setFile('routes.yaml', file(service({ name: 'web' })));
    assert.equal(servicesOf(store.takeChanges()), null);
  });

  it('a backend that serves as a canary needs the full build (its problems depend on its endpoints)', () => {
    const store = cluster();
    store.setFile(
      'canary.yaml',
      file(
        ingress({
          name: 'web-canary',
          annotations: { [`${ANNOTATION_PREFIX}canary`]: 'true', [`${ANNOTATION_PREFIX}canary-weight`]: '10' },
          rules: [rule('web.test', path('/', 'web-v2'))],
        }),
        service({ name: 'web-v2' }),
      ),
    );
    const before = buildModel(store, { ...OPTIONS, balancer: 'lua' });
    assert.ok(
      before.model.backends.some((b) => b.canary?.backend === 'default_web-v2_80'),
      'the canary is set up',
    );
    store.takeChanges();
    store.setFile('ep/web-v2.yaml', file(endpoints({ name: 'web-v2', subsets: [{ ready: ['10.0.2.1'] }] })));
    assert.equal(updateEndpoints(before.model, store, servicesOf(store.takeChanges())!), null);
  });

  it('ExternalName backends keep their resolved addresses', () => {
    const store = cluster();
    const before = buildModel(store, OPTIONS);
    store.setFile('ep/ext.yaml', file(endpoints({ name: 'ext', subsets: [{ ready: ['10.0.3.1'] }] })));
    const update = fastEqualsFull(store, before);
    assert.deepEqual(update.changed, []);
  });
});
