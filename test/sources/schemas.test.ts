// Every constrained field, fed values that must never reach nginx.conf.
import assert from 'node:assert/strict';
import { API_VERSIONS, FORMATS, schemaFor } from '../../src/sources/schemas.js';
import { KINDS } from '../../src/resources.js';
import { assertRejected, parse, show, withField, type Doc } from './helpers.js';

const INGRESS: Doc = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name: 'cafe', namespace: 'shop', annotations: { 'nginx.org/rewrites': 'x' }, labels: { app: 'cafe' } },
  spec: {
    ingressClassName: 'nginx',
    defaultBackend: { service: { name: 'default-svc', port: { name: 'http' } } },
    tls: [{ hosts: ['cafe.example.com'], secretName: 'cafe-secret' }],
    rules: [
      {
        host: 'cafe.example.com',
        http: {
          paths: [
            { path: '/tea', pathType: 'Prefix', backend: { service: { name: 'tea-svc', port: { number: 80 } } } },
          ],
        },
      },
    ],
  },
};
const LEGACY: Doc = {
  apiVersion: 'extensions/v1beta1',
  kind: 'Ingress',
  metadata: { name: 'cafe' },
  spec: {
    rules: [
      {
        host: 'cafe.example.com',
        http: { paths: [{ path: '/tea', backend: { serviceName: 'tea-svc', servicePort: 80 } }] },
      },
    ],
  },
};
const SERVICE: Doc = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'tea-svc' },
  spec: {
    type: 'NodePort',
    clusterIP: '10.0.0.10',
    ports: [{ name: 'http', port: 80, targetPort: 'web', protocol: 'TCP', nodePort: 30080 }],
  },
};
const ENDPOINTS: Doc = {
  apiVersion: 'v1',
  kind: 'Endpoints',
  metadata: { name: 'tea-svc' },
  subsets: [
    { addresses: [{ ip: '10.1.0.5' }], notReadyAddresses: [{ ip: 'fd00::5' }], ports: [{ name: 'http', port: 8080 }] },
  ],
};
const SLICE: Doc = {
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'tea-svc-abc', labels: { 'kubernetes.io/service-name': 'tea-svc' } },
  addressType: 'IPv4',
  endpoints: [{ addresses: ['10.1.0.5'], conditions: { ready: true } }],
  ports: [{ name: 'http', port: 8080 }],
};
const SECRET: Doc = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'cafe-secret' },
  type: 'kubernetes.io/tls',
  data: { 'tls.crt': 'YWJj' },
};
const CONFIGMAP: Doc = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'nginx-config' },
  data: { 'proxy-connect-timeout': '10s' },
};
const CLASS: Doc = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'IngressClass',
  metadata: { name: 'nginx' },
  spec: { controller: 'nginx.org/ingress-controller' },
};

const INJECT = 'cafe.example.com; include /etc/passwd';
const rulePath = ['spec', 'rules', 0, 'http', 'paths', 0];
const svcPort = [...rulePath, 'backend', 'service', 'port'];

// [what, base document, path of the field, bad value, expected field, expected text in the message]
type Case = [string, Doc, (string | number)[], unknown, string, string?];
const CASES: Case[] = [
  ['metadata.name injection', INGRESS, ['metadata', 'name'], INJECT, 'metadata.name', JSON.stringify(INJECT)],
  ['metadata.name upper case', CONFIGMAP, ['metadata', 'name'], 'Nginx', 'metadata.name'],
  ['metadata.name missing', INGRESS, ['metadata', 'name'], undefined, 'metadata.name', 'missing'],
  ['Service name with a dot (must be a DNS label)', SERVICE, ['metadata', 'name'], 'tea.svc', 'metadata.name'],
  ['namespace with a dot', INGRESS, ['metadata', 'namespace'], 'a.b', 'metadata.namespace'],
  ['namespace with $', INGRESS, ['metadata', 'namespace'], '$ns', 'metadata.namespace'],
  [
    'creationTimestamp not RFC 3339',
    CONFIGMAP,
    ['metadata', 'creationTimestamp'],
    'yesterday',
    'metadata.creationTimestamp',
  ],
  [
    'annotation value not a string',
    INGRESS,
    ['metadata', 'annotations', 'nginx.org/rewrites'],
    true,
    'metadata.annotations["nginx.org/rewrites"]',
    'true',
  ],
  [
    'annotation key with a space',
    INGRESS,
    ['metadata', 'annotations', 'bad key'],
    'v',
    'metadata.annotations["bad key"]',
    '"bad key"',
  ],
  ['label key with two slashes', INGRESS, ['metadata', 'labels', 'a/b/c'], 'v', 'metadata.labels["a/b/c"]'],
  ['labels not a mapping', INGRESS, ['metadata', 'labels'], ['a'], 'metadata.labels', 'a mapping'],
  ['host injection', INGRESS, ['spec', 'rules', 0, 'host'], INJECT, 'spec.rules[0].host', JSON.stringify(INJECT)],
  [
    'host with newline',
    INGRESS,
    ['spec', 'rules', 0, 'host'],
    'cafe.example.com\nserver_name x',
    'spec.rules[0].host',
    '\\n',
  ],
  ['host $host', INGRESS, ['spec', 'rules', 0, 'host'], '$host', 'spec.rules[0].host'],
  ['host is an IPv4 address', INGRESS, ['spec', 'rules', 0, 'host'], '10.0.0.1', 'spec.rules[0].host', '"10.0.0.1"'],
  ['host is an IPv6 address', INGRESS, ['spec', 'rules', 0, 'host'], '::1', 'spec.rules[0].host'],
  ['host upper case', INGRESS, ['spec', 'rules', 0, 'host'], 'Cafe.example.com', 'spec.rules[0].host'],
  ['host wildcard in the middle', INGRESS, ['spec', 'rules', 0, 'host'], 'cafe.*.com', 'spec.rules[0].host'],
  ['tls host injection', INGRESS, ['spec', 'tls', 0, 'hosts', 0], INJECT, 'spec.tls[0].hosts[0]'],
  ['tls secretName injection', INGRESS, ['spec', 'tls', 0, 'secretName'], 'cafe-secret;', 'spec.tls[0].secretName'],
  ['tls hosts not a list', INGRESS, ['spec', 'tls', 0, 'hosts'], 'cafe.example.com', 'spec.tls[0].hosts', 'a list'],
  ['path with a brace', INGRESS, [...rulePath, 'path'], '/tea{', 'spec.rules[0].http.paths[0].path', '"/tea{"'],
  ['path with a space', INGRESS, [...rulePath, 'path'], '/a b', 'spec.rules[0].http.paths[0].path'],
  ['path with a newline', INGRESS, [...rulePath, 'path'], '/tea\n', 'spec.rules[0].http.paths[0].path', '"/tea\\n"'],
  ['path with $host', INGRESS, [...rulePath, 'path'], '/$host', 'spec.rules[0].http.paths[0].path'],
  ['path with ;', INGRESS, [...rulePath, 'path'], '/tea;', 'spec.rules[0].http.paths[0].path'],
  ['path with a quote', INGRESS, [...rulePath, 'path'], '/tea"', 'spec.rules[0].http.paths[0].path'],
  ['relative path', INGRESS, [...rulePath, 'path'], 'tea', 'spec.rules[0].http.paths[0].path'],
  ['path too long', INGRESS, [...rulePath, 'path'], `/${'a'.repeat(2048)}`, 'spec.rules[0].http.paths[0].path'],
  ['path a number', INGRESS, [...rulePath, 'path'], 5, 'spec.rules[0].http.paths[0].path', 'a string'],
  [
    'v1 pathType missing',
    INGRESS,
    [...rulePath, 'pathType'],
    undefined,
    'spec.rules[0].http.paths[0].pathType',
    'missing',
  ],
  ['pathType unknown', INGRESS, [...rulePath, 'pathType'], 'Regex', 'spec.rules[0].http.paths[0].pathType', '"Regex"'],
  ['Prefix without path', INGRESS, [...rulePath, 'path'], undefined, 'spec.rules[0].http.paths[0].path', 'missing'],
  ['empty paths', INGRESS, ['spec', 'rules', 0, 'http', 'paths'], [], 'spec.rules[0].http.paths', 'at least 1'],
  ['backend missing', INGRESS, [...rulePath, 'backend'], undefined, 'spec.rules[0].http.paths[0].backend', 'missing'],
  [
    'backend with service and resource',
    INGRESS,
    [...rulePath, 'backend', 'resource'],
    { kind: 'Bucket', name: 'b' },
    'spec.rules[0].http.paths[0].backend',
    'only one',
  ],
  ['backend with neither', INGRESS, [...rulePath, 'backend'], {}, 'spec.rules[0].http.paths[0].backend', 'one of'],
  [
    'service name injection',
    INGRESS,
    [...rulePath, 'backend', 'service', 'name'],
    'tea; drop',
    'spec.rules[0].http.paths[0].backend.service.name',
  ],
  [
    'service name not a DNS label',
    INGRESS,
    [...rulePath, 'backend', 'service', 'name'],
    'tea.svc',
    'spec.rules[0].http.paths[0].backend.service.name',
  ],
  [
    'port number 0',
    INGRESS,
    [...svcPort, 'number'],
    0,
    'spec.rules[0].http.paths[0].backend.service.port.number',
    'got 0',
  ],
  [
    'port number 65536',
    INGRESS,
    [...svcPort, 'number'],
    65536,
    'spec.rules[0].http.paths[0].backend.service.port.number',
  ],
  [
    'port number as a string',
    INGRESS,
    [...svcPort, 'number'],
    '80',
    'spec.rules[0].http.paths[0].backend.service.port.number',
    'an integer',
  ],
  [
    'port number fractional',
    INGRESS,
    [...svcPort, 'number'],
    80.5,
    'spec.rules[0].http.paths[0].backend.service.port.number',
  ],
  [
    'port with number and name',
    INGRESS,
    [...svcPort, 'name'],
    'http',
    'spec.rules[0].http.paths[0].backend.service.port',
    'only one',
  ],
  ['port with neither', INGRESS, svcPort, {}, 'spec.rules[0].http.paths[0].backend.service.port', 'one of'],
  [
    'port name injection',
    INGRESS,
    ['spec', 'defaultBackend', 'service', 'port', 'name'],
    'http;',
    'spec.defaultBackend.service.port.name',
  ],
  [
    'resource backend bad kind',
    INGRESS,
    [...rulePath, 'backend'],
    { resource: { kind: 'a b', name: 'x' } },
    'spec.rules[0].http.paths[0].backend.resource.kind',
  ],
  ['ingressClassName injection', INGRESS, ['spec', 'ingressClassName'], 'nginx;', 'spec.ingressClassName'],
  ['spec missing', INGRESS, ['spec'], undefined, 'spec', 'missing'],
  ['legacy path injection', LEGACY, [...rulePath, 'path'], '/tea{', 'spec.rules[0].http.paths[0].path'],
  [
    'legacy Prefix without path',
    LEGACY,
    [...rulePath],
    { pathType: 'Prefix', backend: { serviceName: 'a', servicePort: 80 } },
    'spec.rules[0].http.paths[0].path',
  ],
  [
    'legacy servicePort too big',
    LEGACY,
    [...rulePath, 'backend', 'servicePort'],
    70000,
    'spec.rules[0].http.paths[0].backend.servicePort',
  ],
  [
    'legacy servicePort digits too big',
    LEGACY,
    [...rulePath, 'backend', 'servicePort'],
    '99999',
    'spec.rules[0].http.paths[0].backend.servicePort',
  ],
  [
    'legacy servicePort bad name',
    LEGACY,
    [...rulePath, 'backend', 'servicePort'],
    'http port',
    'spec.rules[0].http.paths[0].backend.servicePort',
  ],
  [
    'legacy servicePort missing',
    LEGACY,
    [...rulePath, 'backend', 'servicePort'],
    undefined,
    'spec.rules[0].http.paths[0].backend.servicePort',
    'required',
  ],
  [
    'legacy serviceName injection',
    LEGACY,
    [...rulePath, 'backend', 'serviceName'],
    'tea;',
    'spec.rules[0].http.paths[0].backend.serviceName',
  ],
  [
    'legacy spec.backend port',
    LEGACY,
    ['spec', 'backend'],
    { serviceName: 'x', servicePort: -1 },
    'spec.backend.servicePort',
  ],
  ['Service type unknown', SERVICE, ['spec', 'type'], 'Magic', 'spec.type', '"Magic"'],
  ['ExternalName without externalName', SERVICE, ['spec', 'type'], 'ExternalName', 'spec.externalName', 'missing'],
  [
    'externalName injection',
    withField(SERVICE, ['spec', 'type'], 'ExternalName'),
    ['spec', 'externalName'],
    'db.example.com;',
    'spec.externalName',
  ],
  [
    'externalName with two final dots',
    withField(SERVICE, ['spec', 'type'], 'ExternalName'),
    ['spec', 'externalName'],
    'db.example.com..',
    'spec.externalName',
  ],
  ['clusterIP not an IP', SERVICE, ['spec', 'clusterIP'], '10.0.0.300', 'spec.clusterIP'],
  ['service port 0', SERVICE, ['spec', 'ports', 0, 'port'], 0, 'spec.ports[0].port'],
  ['service port missing', SERVICE, ['spec', 'ports', 0, 'port'], undefined, 'spec.ports[0].port', 'missing'],
  ['service port name injection', SERVICE, ['spec', 'ports', 0, 'name'], 'http;', 'spec.ports[0].name'],
  ['targetPort out of range', SERVICE, ['spec', 'ports', 0, 'targetPort'], 0, 'spec.ports[0].targetPort'],
  ['targetPort bad name', SERVICE, ['spec', 'ports', 0, 'targetPort'], 'web$', 'spec.ports[0].targetPort'],
  [
    'targetPort a boolean',
    SERVICE,
    ['spec', 'ports', 0, 'targetPort'],
    false,
    'spec.ports[0].targetPort',
    'an integer or a string',
  ],
  ['protocol unknown', SERVICE, ['spec', 'ports', 0, 'protocol'], 'HTTP', 'spec.ports[0].protocol'],
  ['nodePort out of range', SERVICE, ['spec', 'ports', 0, 'nodePort'], 70000, 'spec.ports[0].nodePort'],
  [
    'endpoint ip invalid',
    ENDPOINTS,
    ['subsets', 0, 'addresses', 0, 'ip'],
    '10.1.0.256',
    'subsets[0].addresses[0].ip',
    '"10.1.0.256"',
  ],
  [
    'endpoint ip injection',
    ENDPOINTS,
    ['subsets', 0, 'addresses', 0, 'ip'],
    '10.1.0.5; deny all',
    'subsets[0].addresses[0].ip',
  ],
  [
    'not-ready ip invalid',
    ENDPOINTS,
    ['subsets', 0, 'notReadyAddresses', 0, 'ip'],
    'fd00::g',
    'subsets[0].notReadyAddresses[0].ip',
  ],
  [
    'endpoint ip missing',
    ENDPOINTS,
    ['subsets', 0, 'addresses', 0],
    { hostname: 'a' },
    'subsets[0].addresses[0].ip',
    'missing',
  ],
  ['endpoint port too big', ENDPOINTS, ['subsets', 0, 'ports', 0, 'port'], 65536, 'subsets[0].ports[0].port'],
  [
    'slice without service-name label',
    SLICE,
    ['metadata', 'labels'],
    { app: 'x' },
    'metadata.labels["kubernetes.io/service-name"]',
    'missing',
  ],
  [
    'slice service-name injection',
    SLICE,
    ['metadata', 'labels', 'kubernetes.io/service-name'],
    'tea;',
    'metadata.labels["kubernetes.io/service-name"]',
  ],
  ['slice addressType unknown', SLICE, ['addressType'], 'IPv5', 'addressType'],
  [
    'slice IPv4 with an IPv6 address',
    SLICE,
    ['endpoints', 0, 'addresses', 0],
    'fd00::1',
    'endpoints[0].addresses[0]',
    'IPv4',
  ],
  ['slice bad address', SLICE, ['endpoints', 0, 'addresses', 0], '10.1.0.5 backup', 'endpoints[0].addresses[0]'],
  [
    'slice FQDN injection',
    withField(SLICE, ['addressType'], 'FQDN'),
    ['endpoints', 0, 'addresses', 0],
    'a.b;',
    'endpoints[0].addresses[0]',
  ],
  ['slice empty addresses', SLICE, ['endpoints', 0, 'addresses'], [], 'endpoints[0].addresses'],
  [
    'slice ready not a boolean',
    SLICE,
    ['endpoints', 0, 'conditions', 'ready'],
    'yes',
    'endpoints[0].conditions.ready',
    'true or false',
  ],
  ['slice port too big', SLICE, ['ports', 0, 'port'], 99999, 'ports[0].port'],
  ['secret data not base64', SECRET, ['data', 'tls.crt'], 'not base64!', 'data["tls.crt"]', 'base64'],
  ['secret data key bad', SECRET, ['data', '../etc'], 'YWJj', 'data["../etc"]'],
  ['secret data key ..data', SECRET, ['data', '..data'], 'YWJj', 'data["..data"]'],
  ['secret stringData not a string', SECRET, ['stringData', 'a'], 5, 'stringData.a'],
  ['secret type with a space', SECRET, ['type'], 'a b', 'type'],
  [
    'configmap value a number',
    CONFIGMAP,
    ['data', 'proxy-connect-timeout'],
    10,
    'data["proxy-connect-timeout"]',
    'a string',
  ],
  ['configmap key bad', CONFIGMAP, ['data', 'a b'], 'x', 'data["a b"]'],
  ['ingressclass controller missing', CLASS, ['spec', 'controller'], undefined, 'spec.controller', 'missing'],
  ['ingressclass controller without domain', CLASS, ['spec', 'controller'], 'nginx', 'spec.controller'],
];

describe('sources/schemas', () => {
  it('accepts each base document', () => {
    for (const doc of [INGRESS, LEGACY, SERVICE, ENDPOINTS, SLICE, SECRET, CONFIGMAP, CLASS]) {
      const loaded = parse(doc);
      assert.equal(loaded.resources.length, 1, `${String(doc.kind)}: ${show(loaded.problems)}`);
      assert.deepEqual(loaded.problems, []);
    }
  });

  for (const [what, base, at, value, field, snippet] of CASES) {
    it(`rejects ${what}`, () => {
      const loaded = parse(withField(base, at, value));
      const problem = assertRejected(loaded, field, snippet);
      assert.ok(problem.object?.startsWith(`${String(base.kind)} `), problem.object);
      if (at[0] !== 'metadata') {
        const meta = base.metadata as { name: string; namespace?: string };
        const ns = meta.namespace ?? 'default';
        assert.equal(problem.object, `${String(base.kind)} ${ns}/${meta.name}`);
        assert.deepEqual(loaded.rejected, [`${String(base.kind)}/${ns}/${meta.name}`]);
      }
    });
  }

  it('accepts an externalName with one final dot, as Kubernetes does (a fully qualified name)', () => {
    const external = withField(
      withField(SERVICE, ['spec', 'type'], 'ExternalName'),
      ['spec', 'externalName'],
      'db.example.com.',
    );
    const loaded = parse(external);
    assert.deepEqual(loaded.problems, []);
    assert.equal(loaded.resources.length, 1);
  });

  it('registers every format the schemas use (ajv ignores unknown formats)', () => {
    const used = new Set<string>();
    const collect = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(collect);
      else if (node && typeof node === 'object') {
        for (const [key, child] of Object.entries(node)) {
          if (key === 'format' && typeof child === 'string') used.add(child);
          else collect(child);
        }
      }
    };
    for (const kind of KINDS) for (const apiVersion of API_VERSIONS[kind]) collect(schemaFor(kind, apiVersion));
    assert.ok(used.size >= 10);
    for (const format of used) assert.ok(FORMATS[format], `format ${format} is not registered`);
  });
});
