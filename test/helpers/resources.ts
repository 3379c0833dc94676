// Factories for the typed resources of src/resources.ts, with sensible defaults, for model and render tests.
// Plus a Store builder, buildModel with the usual options, and test certificates made with openssl.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import { buildModel } from '../../src/model/index.js';
import type { BuildResult, ModelOptions } from '../../src/model/index.js';
import { Store } from '../../src/store.js';
import type {
  ConfigMap,
  EndpointAddress,
  EndpointSlice,
  Endpoints,
  Ingress,
  IngressBackend,
  IngressClass,
  IngressPath,
  IngressRule,
  IngressTLS,
  Meta,
  PathType,
  Problem,
  Resource,
  Secret,
  Service,
  ServicePort,
  SliceEndpoint,
  SlicePort,
} from '../../src/resources.js';
import { formatProblem } from '../../src/resources.js';

export const CONTROLLER = 'ingress-templater.dev/controller';
export const OPTIONS: ModelOptions = { ingressClass: 'nginx', controllerClass: CONTROLLER, watchWithoutClass: true };

let nextLine = 1;

interface MetaInput {
  name: string;
  namespace?: string;
  created?: string; // creationTimestamp
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  file?: string;
}

function base(m: MetaInput): { meta: Meta; source: { file: string; line: number } } {
  const meta: Meta = {
    namespace: m.namespace ?? 'default',
    name: m.name,
    annotations: m.annotations ?? {},
    labels: m.labels ?? {},
  };
  if (m.created !== undefined) meta.creationTimestamp = m.created;
  return { meta, source: { file: m.file ?? 'test.yaml', line: nextLine++ } };
}

/** A backend reference: a number is a port number, a string a port name. */
export function backend(service: string, port: number | string = 80): IngressBackend {
  return { service: { name: service, port: typeof port === 'number' ? { number: port } : { name: port } } };
}

export function path(
  p: string,
  service: string,
  port: number | string = 80,
  pathType: PathType = 'Prefix',
): IngressPath {
  return { path: p, pathType, backend: backend(service, port) };
}

export function exact(p: string, service: string, port: number | string = 80): IngressPath {
  return path(p, service, port, 'Exact');
}

/** A rule; host undefined or '' means a rule without host. */
export function rule(host: string | undefined, ...paths: IngressPath[]): IngressRule {
  return host ? { host, paths } : { paths };
}

export interface IngressInput extends MetaInput {
  className?: string | null; // null: no class at all; default "nginx"
  rules?: IngressRule[];
  tls?: IngressTLS[];
  defaultBackend?: IngressBackend;
}

export function ingress(i: IngressInput): Ingress {
  const ing: Ingress = {
    kind: 'Ingress',
    apiVersion: 'networking.k8s.io/v1',
    ...base(i),
    tls: i.tls ?? [],
    rules: i.rules ?? [],
  };
  const cls = i.className === undefined ? 'nginx' : i.className;
  if (cls !== null) ing.className = cls;
  if (i.defaultBackend) ing.defaultBackend = i.defaultBackend;
  return ing;
}

export function ingressClass(name: string, controller = CONTROLLER, isDefault = false): IngressClass {
  return { kind: 'IngressClass', ...base({ name }), controller, isDefault };
}

export interface ServiceInput extends MetaInput {
  ports?: Partial<ServicePort>[];
  type?: Service['type'];
  clusterIP?: string;
  externalName?: string;
}

/** Default: one TCP port 80 named "http", targetPort 8080. */
export function service(s: ServiceInput): Service {
  const ports = (s.ports ?? [{ name: 'http', port: 80, targetPort: 8080 }]).map((p) => {
    const out: ServicePort = { port: p.port ?? 80, protocol: p.protocol ?? 'TCP' };
    if (p.name !== undefined) out.name = p.name;
    if (p.targetPort !== undefined) out.targetPort = p.targetPort;
    return out;
  });
  const svc: Service = { kind: 'Service', ...base(s), type: s.type ?? 'ClusterIP', ports };
  if (s.clusterIP !== undefined) svc.clusterIP = s.clusterIP;
  if (s.externalName !== undefined) svc.externalName = s.externalName;
  return svc;
}

export interface SubsetInput {
  ready?: string[];
  notReady?: string[];
  ports?: { name?: string; port: number; protocol?: string }[];
}

/** Default ports: one port 8080 named "http" (the default Service's port name). */
export function endpoints(e: MetaInput & { subsets: SubsetInput[] }): Endpoints {
  const addr = (ip: string): EndpointAddress => ({ ip });
  return {
    kind: 'Endpoints',
    ...base(e),
    subsets: e.subsets.map((s) => ({
      addresses: (s.ready ?? []).map(addr),
      notReadyAddresses: (s.notReady ?? []).map(addr),
      ports: (s.ports ?? [{ name: 'http', port: 8080 }]).map((p) => ({ ...p, protocol: p.protocol ?? 'TCP' })),
    })),
  };
}

export interface SliceInput extends MetaInput {
  service: string;
  addressType?: EndpointSlice['addressType'];
  endpoints: (string | (Partial<SliceEndpoint> & { addresses: string[] }))[];
  ports?: Partial<SlicePort>[];
}

/** An EndpointSlice; a string endpoint is one ready address. Default ports as for endpoints(). */
export function slice(s: SliceInput): EndpointSlice {
  return {
    kind: 'EndpointSlice',
    ...base({ ...s, labels: { 'kubernetes.io/service-name': s.service, ...s.labels } }),
    serviceName: s.service,
    addressType: s.addressType ?? 'IPv4',
    endpoints: s.endpoints.map((e) => {
      const ep = typeof e === 'string' ? { addresses: [e] } : e;
      return { ready: true, serving: true, terminating: false, ...ep };
    }),
    ports: (s.ports ?? [{ name: 'http', port: 8080 }]).map((p) => ({ ...p, protocol: p.protocol ?? 'TCP' })),
  };
}

export const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** A kubernetes.io/tls Secret from PEM text (encoded here), or raw base64 data when given. */
export function secret(
  s: MetaInput & { cert?: TestCert; crt?: string; key?: string; data?: Record<string, string>; type?: string },
): Secret {
  const data = s.data ?? {
    'tls.crt': b64(s.crt ?? s.cert?.crt ?? ''),
    'tls.key': b64(s.key ?? s.cert?.key ?? ''),
  };
  return { kind: 'Secret', ...base(s), type: s.type ?? 'kubernetes.io/tls', data };
}

export function configMap(data: Record<string, string>, name = 'ingress-templater', namespace = 'default'): ConfigMap {
  return { kind: 'ConfigMap', ...base({ name, namespace }), data };
}

export const CONFIG_MAP_OPTION = { configMap: { namespace: 'default', name: 'ingress-templater' } };

/** A Store holding the resources, one file per entry of `files` (default: all in test.yaml). */
export function storeOf(...resources: Resource[]): Store {
  const store = new Store();
  store.setFile('test.yaml', { resources, rejected: [], parseFailed: false });
  return store;
}

export function build(resources: Resource[], opts: Partial<ModelOptions> = {}): BuildResult {
  return buildModel(storeOf(...resources), { ...OPTIONS, ...opts });
}

export const show = (problems: Problem[]) => problems.map(formatProblem).join('\n') || '(no problems)';

/**
 * Asserts that problems holds exactly one problem, an error on object (e.g. "Ingress shop/web") about the
 * annotation key whose message quotes value; returns it for further checks of its message.
 */
export function assertAnnotationError(problems: Problem[], object: string, key: string, value: string): Problem {
  assert.equal(problems.length, 1, show(problems));
  const p = problems[0]!;
  assert.equal(p.severity, 'error');
  assert.equal(p.object, object);
  assert.equal(p.field, `metadata.annotations["${key}"]`);
  assert.ok(p.message.includes(JSON.stringify(value)), p.message);
  return p;
}

/** The problems whose message (or field) matches. */
export function problemsMatching(problems: Problem[], re: RegExp): Problem[] {
  return problems.filter((p) => re.test(p.message) || (p.field !== undefined && re.test(p.field)));
}

/** A deterministic shuffle (reverse and rotate) to check that input order does not matter. */
export function reorder<T>(list: T[], seed: number): T[] {
  const r = [...list].reverse();
  const k = seed % Math.max(1, r.length);
  return [...r.slice(k), ...r.slice(0, k)];
}

// --- certificates ---

export interface TestCert {
  crt: string; // PEM certificate
  key: string; // PEM PKCS#8 private key
}

/** A self-signed certificate for the DNS names (first is the CN), key made with node:crypto, signed by openssl. */
export function makeCert(names: string[], days = 30): TestCert {
  const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'it-cert-'));
  try {
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const keyFile = nodePath.join(dir, 'key.pem');
    fs.writeFileSync(keyFile, key);
    const crt = execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-new',
        '-key',
        keyFile,
        '-sha256',
        '-days',
        String(days),
        '-subj',
        `/CN=${names[0]}`,
        '-addext',
        `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return { crt, key };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
