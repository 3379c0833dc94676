// What the model will read besides the watched kinds: the Secrets of spec.tls and of annotations, the
// ConfigMap the settings name. The guard: the list equals what buildModel actually looks up, for every
// annotation that names an object, so a family that starts reading a Secret cannot forget its hook.
import assert from 'node:assert/strict';
import { buildModel } from '../../src/model/index.js';
import type { ModelInput } from '../../src/model/index.js';
import { referencedObjects } from '../../src/model/references.js';
import type { Resource } from '../../src/resources.js';
import { CONFIG_MAP_OPTION, configMap, ingress, OPTIONS, path, rule, service, storeOf } from '../helpers/resources.js';

const PREFIX = 'nginx.ingress.kubernetes.io/';
const names = (refs: { kind: string; namespace: string; name: string }[]) =>
  refs.map((ref) => `${ref.kind} ${ref.namespace}/${ref.name}`);

function everyReference(): Resource[] {
  return [
    service({ name: 'web' }),
    configMap({ 'proxy-set-headers': 'default/custom-headers', 'add-headers': 'default/add-headers' }),
    ingress({
      name: 'all',
      annotations: {
        [`${PREFIX}auth-type`]: 'basic',
        [`${PREFIX}auth-secret`]: 'basic-users',
        [`${PREFIX}auth-tls-secret`]: 'default/client-ca',
        [`${PREFIX}proxy-ssl-secret`]: 'default/backend-ca',
        [`${PREFIX}backend-protocol`]: 'FCGI',
        [`${PREFIX}fastcgi-params-configmap`]: 'php-params',
        [`${PREFIX}custom-headers`]: 'response-headers',
      },
      tls: [{ hosts: ['a.example.com'], secretName: 'a-tls' }],
      rules: [rule('a.example.com', path('/', 'web'))],
    }),
  ];
}

describe('model/references', () => {
  it('the Secrets of spec.tls and of the annotations, and the ConfigMaps of the settings and annotations, each once and sorted', () => {
    const resources = everyReference();
    const again = ingress({
      name: 'again',
      annotations: { [`${PREFIX}auth-type`]: 'basic', [`${PREFIX}auth-secret`]: 'default/basic-users' },
      tls: [{ hosts: ['b.example.com'], secretName: 'a-tls' }],
      rules: [rule('b.example.com', path('/', 'web'))],
    });
    const refs = referencedObjects(storeOf(...resources, again), { ...OPTIONS, ...CONFIG_MAP_OPTION });
    assert.deepEqual(names(refs), [
      'ConfigMap default/add-headers',
      'ConfigMap default/custom-headers',
      'ConfigMap default/php-params',
      'ConfigMap default/response-headers',
      'Secret default/a-tls',
      'Secret default/backend-ca',
      'Secret default/basic-users',
      'Secret default/client-ca',
    ]);
  });

  it('only Ingresses of this controller, and never another namespace Secret that the model refuses', () => {
    const other = ingress({
      name: 'other',
      className: 'traefik',
      tls: [{ hosts: ['c.example.com'], secretName: 'c-tls' }],
      rules: [rule('c.example.com', path('/', 'web'))],
    });
    const borrowing = ingress({
      name: 'borrowing',
      annotations: {
        [`${PREFIX}auth-type`]: 'basic',
        [`${PREFIX}auth-secret`]: 'kube-system/admins',
        [`${PREFIX}auth-tls-secret`]: 'kube-system/ca',
        [`${PREFIX}custom-headers`]: 'kube-system/headers',
      },
      rules: [rule('d.example.com', path('/', 'web'))],
    });
    const refs = referencedObjects(storeOf(service({ name: 'web' }), other, borrowing), OPTIONS);
    assert.deepEqual(names(refs), []);
  });

  it('equals what buildModel looks up beyond the kinds every source holds', () => {
    const store = storeOf(...everyReference());
    const looked = new Set<string>();
    const recording: ModelInput = {
      list: (kind) => store.list(kind),
      get: (kind, namespace, name) => {
        if (kind === 'Secret' || kind === 'ConfigMap') looked.add(`${kind} ${namespace}/${name}`);
        return store.get(kind, namespace, name);
      },
    };
    buildModel(recording, { ...OPTIONS, ...CONFIG_MAP_OPTION });
    looked.delete('ConfigMap default/ingress-templater'); // the settings: a watched kind of its own
    const refs = referencedObjects(store, { ...OPTIONS, ...CONFIG_MAP_OPTION });
    assert.deepEqual(names(refs), [...looked].sort());
  });

  it('--default-ssl-certificate: its Secret is named, found or not, and is what buildModel looks up', () => {
    const store = storeOf(
      service({ name: 'web' }),
      ingress({ name: 'plain', rules: [rule('a.example.com', path('/', 'web'))] }),
    );
    const options = { ...OPTIONS, defaultSslCertificate: { namespace: 'infra', name: 'fallback' } };
    assert.deepEqual(names(referencedObjects(store, options)), ['Secret infra/fallback']);
    const looked: string[] = [];
    const recording: ModelInput = {
      list: (kind) => store.list(kind),
      get: (kind, namespace, name) => {
        if (kind === 'Secret') looked.push(`${kind} ${namespace}/${name}`);
        return store.get(kind, namespace, name);
      },
    };
    const { model, problems } = buildModel(recording, options);
    assert.deepEqual(looked, ['Secret infra/fallback']);
    assert.equal(model.defaultCertificate, undefined, 'a missing Secret: the generated certificate');
    assert.match(problems.map((problem) => problem.message).join('\n'), /infra\/fallback not found; the generated/);
  });
});
