// Factories for the typed resources of src/resources.ts, with sensible defaults, for model and render tests.
// Plus a Store builder, buildModel with the usual options, and test certificates made with openssl.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import type { Placement } from '../../src/plan.js';
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

/** Where a plan's nginx lives in the pure tests (plan, planner, controller): paths and ports never used. */
export const PLACEMENT: Placement = {
  prefix: '/srv/it',
  listenAddress: '*',
  httpPort: 8080,
  httpsPort: 8443,
  internalPort: 10246,
  defaultCertificate: '/srv/it/ssl/default.pem',
  nginxUser: null,
  version: 'test',
};

let nextLine = 1;

interface MetaInput {
  name: string;
  namespace?: string;
  created?: string; // creationTimestamp
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  file?: string;
}

function base(input: MetaInput): { meta: Meta; source: { file: string; line: number } } {
  const meta: Meta = {
    namespace: input.namespace ?? 'default',
    name: input.name,
    annotations: input.annotations ?? {},
    labels: input.labels ?? {},
  };
  if (input.created !== undefined) meta.creationTimestamp = input.created;
  return { meta, source: { file: input.file ?? 'test.yaml', line: nextLine++ } };
}

/** A backend reference: a number is a port number, a string a port name. */
export function backend(service: string, port: number | string = 80): IngressBackend {
  return { service: { name: service, port: typeof port === 'number' ? { number: port } : { name: port } } };
}

export function path(
  requestPath: string,
  service: string,
  port: number | string = 80,
  pathType: PathType = 'Prefix',
): IngressPath {
  return { path: requestPath, pathType, backend: backend(service, port) };
}

export function exact(requestPath: string, service: string, port: number | string = 80): IngressPath {
  return path(requestPath, service, port, 'Exact');
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

export function ingress(input: IngressInput): Ingress {
  const ing: Ingress = {
    kind: 'Ingress',
    apiVersion: 'networking.k8s.io/v1',
    ...base(input),
    tls: input.tls ?? [],
    rules: input.rules ?? [],
  };
  const cls = input.className === undefined ? 'nginx' : input.className;
  if (cls !== null) ing.className = cls;
  if (input.defaultBackend) ing.defaultBackend = input.defaultBackend;
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
export function service(input: ServiceInput): Service {
  const ports = (input.ports ?? [{ name: 'http', port: 80, targetPort: 8080 }]).map((portSpec) => {
    const out: ServicePort = { port: portSpec.port ?? 80, protocol: portSpec.protocol ?? 'TCP' };
    if (portSpec.name !== undefined) out.name = portSpec.name;
    if (portSpec.targetPort !== undefined) out.targetPort = portSpec.targetPort;
    return out;
  });
  const svc: Service = { kind: 'Service', ...base(input), type: input.type ?? 'ClusterIP', ports };
  if (input.clusterIP !== undefined) svc.clusterIP = input.clusterIP;
  if (input.externalName !== undefined) svc.externalName = input.externalName;
  return svc;
}

export interface SubsetInput {
  ready?: string[];
  notReady?: string[];
  ports?: { name?: string; port: number; protocol?: string }[];
}

/** Default ports: one port 8080 named "http" (the default Service's port name). */
export function endpoints(input: MetaInput & { subsets: SubsetInput[] }): Endpoints {
  const addr = (ip: string): EndpointAddress => ({ ip });
  return {
    kind: 'Endpoints',
    ...base(input),
    subsets: input.subsets.map((s) => ({
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
export function slice(input: SliceInput): EndpointSlice {
  return {
    kind: 'EndpointSlice',
    ...base({ ...input, labels: { 'kubernetes.io/service-name': input.service, ...input.labels } }),
    serviceName: input.service,
    addressType: input.addressType ?? 'IPv4',
    endpoints: input.endpoints.map((endpoint) => {
      const ep = typeof endpoint === 'string' ? { addresses: [endpoint] } : endpoint;
      return { ready: true, serving: true, terminating: false, ...ep };
    }),
    ports: (input.ports ?? [{ name: 'http', port: 8080 }]).map((p) => ({ ...p, protocol: p.protocol ?? 'TCP' })),
  };
}

export const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** A kubernetes.io/tls Secret from PEM text (encoded here), or raw base64 data when given. */
export function secret(
  input: MetaInput & { cert?: TestCert; crt?: string; key?: string; data?: Record<string, string>; type?: string },
): Secret {
  const data = input.data ?? {
    'tls.crt': b64(input.crt ?? input.cert?.crt ?? ''),
    'tls.key': b64(input.key ?? input.cert?.key ?? ''),
  };
  return { kind: 'Secret', ...base(input), type: input.type ?? 'kubernetes.io/tls', data };
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
  const problem = problems[0]!;
  assert.equal(problem.severity, 'error');
  assert.equal(problem.object, object);
  assert.equal(problem.field, `metadata.annotations["${key}"]`);
  assert.ok(problem.message.includes(JSON.stringify(value)), problem.message);
  return problem;
}

/** The problems whose message (or field) matches. */
export function problemsMatching(problems: Problem[], re: RegExp): Problem[] {
  return problems.filter((p) => re.test(p.message) || (p.field !== undefined && re.test(p.field)));
}

/** A deterministic shuffle (reverse and rotate) to check that input order does not matter. */
export function reorder<T>(list: T[], seed: number): T[] {
  const reversed = [...list].reverse();
  const shift = seed % Math.max(1, reversed.length);
  return [...reversed.slice(shift), ...reversed.slice(0, shift)];
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
