import assert from 'node:assert/strict';
import { formatProblem, type Resource } from '../../../src/resources.js';
import { API_SOURCE, type Converted, convertApiObject } from '../../../src/sources/kubernetes/convert.js';
import { parseManifests } from '../../../src/sources/loader.js';
import { plan, renderOptionsFor } from '../../../src/plan.js';
import { loadTemplates } from '../../../src/render/index.js';
import { Store } from '../../../src/store.js';
import { apiObject, type CapturedKind } from '../../helpers/api-objects.js';
import { OPTIONS, PLACEMENT, storeOf } from '../../helpers/resources.js';

const KINDS: Exclude<CapturedKind, 'IngressList'>[] = [
  'Ingress',
  'IngressClass',
  'Service',
  'EndpointSlice',
  'Endpoints',
  'Secret',
  'ConfigMap',
];
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function resourceOf(converted: Converted): Resource {
  assert.ok('resource' in converted, JSON.stringify(converted));
  return converted.resource;
}

function problemsOf(converted: Converted) {
  assert.ok('problems' in converted, JSON.stringify(converted));
  return converted;
}

describe('convertApiObject (objects as the API serves them)', () => {
  for (const kind of KINDS) {
    it(`${kind}: the same resource the manifest loader makes of it, without what the model does not read`, () => {
      const raw = apiObject(kind);
      const resource = resourceOf(convertApiObject(raw));
      assert.equal(resource.kind, kind);
      assert.deepEqual(resource.source, API_SOURCE);
      // the loader on the same object (the dropped annotation taken out) gives the same resource
      const manifest = apiObject(kind);
      delete manifest.metadata.annotations?.[LAST_APPLIED];
      if (manifest.metadata.annotations && Object.keys(manifest.metadata.annotations).length === 0)
        delete manifest.metadata.annotations;
      const loaded = parseManifests(JSON.stringify(manifest), 'x.json');
      assert.deepEqual(loaded.problems, []);
      // an Ingress keeps its uid for the Events about it (src/publish/events.ts), the only difference
      const { uid, ...meta } = resource.meta;
      assert.equal(uid, kind === 'Ingress' ? raw.metadata.uid : undefined);
      assert.deepEqual({ ...resource, meta, source: null }, { ...loaded.resources[0], source: null });
      const held = JSON.stringify({ ...resource, meta });
      for (const dropped of ['managedFields', 'resourceVersion', raw.metadata.uid, LAST_APPLIED, 'status'])
        assert.ok(!held.includes(dropped), `${dropped} kept: ${held}`);
    });
  }

  it('an Ingress keeps its own annotations and spec; the raw object can change afterwards without effect', () => {
    const raw = apiObject('Ingress');
    const ingress = resourceOf(convertApiObject(raw));
    assert.ok(ingress.kind === 'Ingress');
    assert.deepEqual(ingress.meta, {
      namespace: 'default',
      name: 'web',
      creationTimestamp: raw.metadata.creationTimestamp,
      uid: raw.metadata.uid,
      annotations: { 'nginx.ingress.kubernetes.io/rewrite-target': '/' },
      labels: {},
    });
    assert.equal(ingress.className, 'nginx');
    assert.deepEqual(ingress.tls, [{ hosts: ['web.example.com'], secretName: 'web-tls' }]);
    assert.deepEqual(ingress.rules[0], {
      host: 'web.example.com',
      paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } }],
    });
    raw.spec.rules[0].host = 'changed.example.com';
    raw.spec.tls[0].hosts.push('changed.example.com');
    raw.metadata.annotations['nginx.ingress.kubernetes.io/rewrite-target'] = '/changed';
    assert.equal(ingress.rules[0]!.host, 'web.example.com');
    assert.deepEqual(ingress.tls[0]!.hosts, ['web.example.com']);
    assert.equal(ingress.meta.annotations['nginx.ingress.kubernetes.io/rewrite-target'], '/');
  });

  it("a list's items, which omit kind and apiVersion, take them from the list", () => {
    const list = apiObject('IngressList');
    assert.equal(list.items[0].kind, undefined);
    const refused = problemsOf(convertApiObject(list.items[0]));
    assert.equal(refused.problems[0]!.field, 'kind');
    const ingress = resourceOf(convertApiObject(list.items[0], { kind: 'Ingress', apiVersion: list.apiVersion }));
    assert.equal(ingress.kind, 'Ingress');
    assert.equal(ingress.meta.name, 'web');
  });

  it("an EndpointSlice's conditions as the API wrote them: a terminating endpoint still serving", () => {
    const slice = resourceOf(convertApiObject(apiObject('EndpointSlice')));
    assert.ok(slice.kind === 'EndpointSlice');
    assert.equal(slice.serviceName, 'web');
    assert.deepEqual(
      slice.endpoints.map((endpoint) => [
        endpoint.addresses[0],
        endpoint.ready,
        endpoint.serving,
        endpoint.terminating,
      ]),
      [
        ['10.0.0.1', true, true, false],
        ['10.0.0.2', false, true, true],
      ],
    );
    assert.deepEqual(slice.endpoints[0]!.targetRef, { kind: 'Pod', namespace: 'default', name: 'web-1' });
  });

  it('a Service keeps type, clusterIP and ports only', () => {
    const service = resourceOf(convertApiObject(apiObject('Service')));
    assert.ok(service.kind === 'Service');
    assert.deepEqual(
      { type: service.type, ports: service.ports },
      { type: 'ClusterIP', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
    );
    assert.match(service.clusterIP!, /^10\.96\./);
    assert.ok(!JSON.stringify(service).includes('sessionAffinity'));
  });

  it('nulls mean "not set", as in the loader', () => {
    const raw = apiObject('ConfigMap');
    raw.metadata.creationTimestamp = null;
    raw.metadata.labels = null;
    const configMap = resourceOf(convertApiObject(raw));
    assert.equal(configMap.meta.creationTimestamp, undefined);
    assert.deepEqual(configMap.meta.labels, {});
  });

  describe('refused objects name the object and the field, with no file', () => {
    it('a bad host', () => {
      const raw = apiObject('Ingress');
      raw.spec.rules[0].host = 'bad_host!.example.com';
      const refused = problemsOf(convertApiObject(raw));
      assert.equal(refused.key, 'Ingress/default/web');
      assert.equal(refused.problems.length, 1);
      const [problem] = refused.problems;
      assert.equal(problem!.file, undefined);
      assert.equal(problem!.object, 'Ingress default/web');
      assert.equal(problem!.field, 'spec.rules[0].host');
      assert.match(
        formatProblem(problem!),
        /^error: Ingress default\/web spec\.rules\[0\]\.host: must be .*, got "bad_host!\.example\.com"$/,
      );
    });

    it('a path with a brace that is no repetition', () => {
      const raw = apiObject('Ingress');
      raw.spec.rules[0].http.paths[0].path = '/api}{';
      const [problem] = problemsOf(convertApiObject(raw)).problems;
      assert.equal(problem!.field, 'spec.rules[0].http.paths[0].path');
      assert.match(problem!.message, /"\/api\}\{"/);
    });

    it("a Secret's bad value is not echoed", () => {
      const raw = apiObject('Secret');
      raw.data['tls.key'] = 'not base64 PRIVATE KEY';
      const [problem] = problemsOf(convertApiObject(raw)).problems;
      assert.equal(problem!.object, 'Secret default/web-tls');
      assert.equal(problem!.field, 'data["tls.key"]');
      assert.ok(!problem!.message.includes('PRIVATE'), problem!.message);
    });

    it('an EndpointSlice without its Service label, an unsupported apiVersion, a kind not read, not an object', () => {
      const slice = apiObject('EndpointSlice');
      delete slice.metadata.labels['kubernetes.io/service-name'];
      const [missing] = problemsOf(convertApiObject(slice)).problems;
      assert.equal(missing!.object, 'EndpointSlice default/web-abc12');
      assert.equal(missing!.field, 'metadata.labels["kubernetes.io/service-name"]');

      const old = apiObject('Ingress');
      old.apiVersion = 'networking.k8s.io/v2';
      const refused = problemsOf(convertApiObject(old));
      assert.equal(refused.key, 'Ingress/default/web');
      assert.deepEqual(refused.problems.map(formatProblem), [
        'error: Ingress default/web apiVersion: unsupported apiVersion "networking.k8s.io/v2" for Ingress; supported: networking.k8s.io/v1, networking.k8s.io/v1beta1, extensions/v1beta1',
      ]);

      const pod = { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'p' } };
      assert.deepEqual(problemsOf(convertApiObject(pod)).problems.map(formatProblem), [
        'error: kind: not a kind this controller reads: "Pod"',
      ]);
      assert.deepEqual(problemsOf(convertApiObject('oops')).problems.map(formatProblem), [
        'error: expected a Kubernetes object from the API, got "oops"',
      ]);
    });

    it('at most 50 problems for one object, then a count', () => {
      const raw = apiObject('Ingress');
      raw.spec.rules = Array.from({ length: 60 }, (_, index) => ({
        host: `bad_${index}`,
        http: raw.spec.rules[0].http,
      }));
      const { problems } = problemsOf(convertApiObject(raw));
      assert.equal(problems.length, 51);
      assert.equal(problems[50]!.message, '10 more problem(s) not shown');
    });
  });

  it("an Ingress's uid is never rendered, and the same object listed again is no store change", () => {
    const converted = resourceOf(convertApiObject(apiObject('Ingress')));
    assert.ok(converted.meta.uid);
    const withoutUid = { ...converted, meta: { ...converted.meta, uid: undefined } };
    const environment = {
      model: { ...OPTIONS, balancer: 'lua' as const },
      resolved: new Map(),
      snippetVerdicts: new Map(),
      renderer: loadTemplates(),
      render: renderOptionsFor(PLACEMENT, { features: { tempPaths: [] }, luaModules: [] }, 'lua', '/lua'),
    };
    assert.equal(plan(storeOf(converted), environment).text, plan(storeOf(withoutUid), environment).text);
    const store = new Store();
    store.setFile('api:Ingress/default/web', { resources: [converted], rejected: [], parseFailed: false });
    assert.equal(store.takeChanges().length, 1);
    const relisted = resourceOf(convertApiObject(apiObject('Ingress')));
    store.setFile('api:Ingress/default/web', { resources: [relisted], rejected: [], parseFailed: false });
    assert.deepEqual(store.takeChanges(), []);
  });
});
