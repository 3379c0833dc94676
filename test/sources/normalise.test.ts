// Defaults and shape changes applied to accepted documents (through parseManifests).
import assert from 'node:assert/strict';
import type {
  ConfigMap,
  EndpointSlice,
  Endpoints,
  Ingress,
  IngressClass,
  Secret,
  Service,
} from '../../src/resources.js';
import { parse, show } from './helpers.js';

function one<T>(text: string): T {
  const loaded = parse(text);
  assert.deepEqual(loaded.problems, [], show(loaded.problems));
  assert.equal(loaded.resources.length, 1);
  return loaded.resources[0] as T;
}

describe('sources/normalise', () => {
  it('fills metadata defaults and keeps what is written', () => {
    const defaults = one<ConfigMap>('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n');
    assert.deepEqual(defaults.meta, { namespace: 'default', name: 'a', annotations: {}, labels: {} });
    assert.deepEqual(defaults.data, {});
    const written = one<ConfigMap>(
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: shop\n  creationTimestamp: "2024-01-02T03:04:05Z"\n  labels: {app: x}\n  annotations: {"example.com/x": "a b; c"}\n',
    );
    assert.deepEqual(written.meta, {
      namespace: 'shop',
      name: 'a',
      creationTimestamp: '2024-01-02T03:04:05Z',
      labels: { app: 'x' },
      annotations: { 'example.com/x': 'a b; c' },
    });
  });

  it('maps a v1 Ingress: className, defaultBackend, resource backends, omitted ImplementationSpecific path', () => {
    const ing = one<Ingress>(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: cafe}
spec:
  ingressClassName: nginx
  defaultBackend: {resource: {apiGroup: k8s.example.com, kind: StorageBucket, name: static}}
  tls: [{secretName: wild}]
  rules:
  - host: "*.example.com"
    http:
      paths:
      - pathType: ImplementationSpecific
        backend: {service: {name: tea-svc, port: {name: http}}}
`);
    assert.equal(ing.className, 'nginx');
    assert.deepEqual(ing.defaultBackend, {
      resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'static' },
    });
    assert.deepEqual(ing.tls, [{ hosts: [], secretName: 'wild' }]);
    assert.deepEqual(ing.rules, [
      {
        host: '*.example.com',
        paths: [
          {
            path: '/',
            pathType: 'ImplementationSpecific',
            backend: { service: { name: 'tea-svc', port: { name: 'http' } } },
          },
        ],
      },
    ]);
  });

  it('gives a rule without http no paths', () => {
    const ing = one<Ingress>(
      'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a}\nspec:\n  rules: [{host: a.example.com}]\n',
    );
    assert.deepEqual(ing.rules, [{ host: 'a.example.com', paths: [] }]);
  });

  it('reads IngressClass isDefault from the annotation', () => {
    const text = (v: string) =>
      `apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata:\n  name: nginx\n  annotations: {ingressclass.kubernetes.io/is-default-class: "${v}"}\nspec: {controller: nginx.org/ingress-controller}\n`;
    const yes = one<IngressClass>(text('true'));
    assert.deepEqual([yes.controller, yes.isDefault], ['nginx.org/ingress-controller', true]);
    assert.equal(one<IngressClass>(text('false')).isDefault, false);
    assert.equal(one<IngressClass>(text('True')).isDefault, false);
  });

  it('fills Service defaults; keeps headless and ExternalName details', () => {
    const svc = one<Service>(
      'apiVersion: v1\nkind: Service\nmetadata: {name: tea}\nspec:\n  clusterIP: None\n  ports: [{name: "", port: 80, targetPort: 8080}]\n',
    );
    assert.deepEqual([svc.type, svc.clusterIP], ['ClusterIP', 'None']);
    assert.deepEqual(svc.ports, [{ port: 80, targetPort: 8080, protocol: 'TCP' }]);
    const ext = one<Service>(
      'apiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec: {type: ExternalName, externalName: db.example.com}\n',
    );
    assert.deepEqual([ext.type, ext.externalName, ext.ports], ['ExternalName', 'db.example.com', []]);
  });

  it('normalises Endpoints subsets', () => {
    const ep = one<Endpoints>(`apiVersion: v1
kind: Endpoints
metadata: {name: tea}
subsets:
- addresses: [{ip: 10.1.0.5, targetRef: {kind: Pod, name: tea-1, namespace: default}}]
  ports: [{port: 8080}]
- notReadyAddresses: [{ip: "fd00::5"}]
`);
    assert.deepEqual(ep.subsets, [
      {
        addresses: [{ ip: '10.1.0.5', targetRef: { kind: 'Pod', name: 'tea-1', namespace: 'default' } }],
        notReadyAddresses: [],
        ports: [{ port: 8080, protocol: 'TCP' }],
      },
      { addresses: [], notReadyAddresses: [{ ip: 'fd00::5' }], ports: [] },
    ]);
  });

  it('applies EndpointSlice condition defaults and reads the service name label', () => {
    const slice = one<EndpointSlice>(`apiVersion: discovery.k8s.io/v1beta1
kind: EndpointSlice
metadata:
  name: tea-abc
  labels: {kubernetes.io/service-name: tea}
addressType: IPv6
endpoints:
- addresses: ["fd00::1"]
- addresses: ["fd00::2"]
  conditions: {ready: false}
- addresses: ["fd00::3"]
  conditions: {ready: false, serving: true, terminating: true}
ports: [{name: "", protocol: UDP}]
`);
    assert.equal(slice.serviceName, 'tea');
    assert.equal(slice.addressType, 'IPv6');
    assert.deepEqual(
      slice.endpoints.map((e) => [e.addresses[0], e.ready, e.serving, e.terminating]),
      [
        ['fd00::1', true, true, false],
        ['fd00::2', false, false, false],
        ['fd00::3', false, true, true],
      ],
    );
    assert.deepEqual(slice.ports, [{ protocol: 'UDP' }]);
  });

  it('folds Secret stringData into data as base64, stringData winning', () => {
    const secret = one<Secret>(
      'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  a: YWJj\n  b: |\n    YWJj\n    ZGVm\nstringData: {a: "héllo", c: x}\n',
    );
    assert.equal(secret.type, 'Opaque');
    assert.deepEqual(secret.data, { a: Buffer.from('héllo').toString('base64'), b: 'YWJjZGVm', c: 'eA==' });
  });

  it('keeps a "__proto__" data key as data without touching prototypes', () => {
    const configMap = one<ConfigMap>('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {__proto__: x}\n');
    assert.ok(Object.hasOwn(configMap.data, '__proto__'));
    assert.equal(Object.getPrototypeOf(configMap.data), Object.prototype);
    const secret = one<Secret>('apiVersion: v1\nkind: Secret\nmetadata: {name: a}\nstringData: {__proto__: x}\n');
    assert.ok(Object.hasOwn(secret.data, '__proto__'));
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });
});
