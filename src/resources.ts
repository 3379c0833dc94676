// Typed resources: what the loader produces from manifests and the store holds.
// Legacy forms (extensions/v1beta1, networking.k8s.io/v1beta1) are normalised to the v1 shape here.

export interface Source {
  file: string; // path relative to the manifests directory
  line: number; // 1-based line where the object starts
}

export interface Meta {
  namespace: string; // "default" when omitted
  name: string;
  creationTimestamp?: string; // RFC 3339, as written
  // metadata.uid of an Ingress read from the API (src/sources/kubernetes/convert.ts), for the Events written
  // about it (src/publish/events.ts): kubectl describe finds an object's Events by its uid. Never rendered.
  uid?: string;
  annotations: Record<string, string>;
  labels: Record<string, string>;
}

interface Base {
  meta: Meta;
  source: Source;
}

export interface ServiceBackendPort {
  number?: number;
  name?: string;
}

export interface IngressBackend {
  service?: { name: string; port: ServiceBackendPort };
  resource?: { apiGroup?: string; kind: string; name: string };
}

export type PathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';

export interface IngressPath {
  path: string; // "/" when omitted
  pathType: PathType; // legacy forms without pathType become ImplementationSpecific
  backend: IngressBackend;
}

export interface IngressRule {
  host?: string;
  paths: IngressPath[];
}

export interface IngressTLS {
  hosts: string[];
  secretName?: string;
}

export interface Ingress extends Base {
  kind: 'Ingress';
  apiVersion: string;
  className?: string; // spec.ingressClassName
  defaultBackend?: IngressBackend; // spec.defaultBackend or legacy spec.backend
  tls: IngressTLS[];
  rules: IngressRule[];
}

export interface IngressClass extends Base {
  kind: 'IngressClass';
  controller: string;
  isDefault: boolean; // annotation ingressclass.kubernetes.io/is-default-class: "true"
}

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol: string; // TCP when omitted
  nodePort?: number;
}

export interface Service extends Base {
  kind: 'Service';
  type: ServiceType;
  clusterIP?: string; // "None" for headless
  externalName?: string;
  ports: ServicePort[];
}

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  targetRef?: { kind?: string; name?: string; namespace?: string };
}

export interface EndpointPort {
  name?: string;
  port: number;
  protocol: string;
}

export interface EndpointSubset {
  addresses: EndpointAddress[];
  notReadyAddresses: EndpointAddress[];
  ports: EndpointPort[];
}

export interface Endpoints extends Base {
  kind: 'Endpoints';
  subsets: EndpointSubset[];
}

export interface SliceEndpoint {
  addresses: string[];
  // conditions as written; the API treats a missing ready as true
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  hostname?: string;
  targetRef?: { kind?: string; name?: string; namespace?: string };
}

export interface SlicePort {
  name?: string;
  port?: number;
  protocol: string;
}

export interface EndpointSlice extends Base {
  kind: 'EndpointSlice';
  serviceName: string; // label kubernetes.io/service-name
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: SliceEndpoint[];
  ports: SlicePort[];
}

export interface Secret extends Base {
  kind: 'Secret';
  type: string;
  data: Record<string, string>; // base64, as in the manifest (stringData is folded in, encoded)
}

export interface ConfigMap extends Base {
  kind: 'ConfigMap';
  data: Record<string, string>;
}

export type Resource = Ingress | IngressClass | Service | Endpoints | EndpointSlice | Secret | ConfigMap;
export type Kind = Resource['kind'];

export const KINDS: readonly Kind[] = [
  'Ingress',
  'IngressClass',
  'Service',
  'Endpoints',
  'EndpointSlice',
  'Secret',
  'ConfigMap',
];

// A problem found in the input: always names where it is, so a user can fix it.
export interface Problem {
  severity: 'error' | 'warning';
  file?: string;
  line?: number;
  object?: string; // "Kind namespace/name"
  field?: string; // JSON path, e.g. spec.rules[0].http.paths[1].path
  message: string;
}

export function resourceKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

export function objectRef(resource: { kind: string; meta: Meta }): string {
  return `${resource.kind} ${resource.meta.namespace}/${resource.meta.name}`;
}

/** A problem of one object, at its place in the manifests (file, line) and the field it concerns. */
export function problemAt(
  resource: { kind: string; meta: Meta; source: Source },
  severity: Problem['severity'],
  field: string,
  message: string,
): Problem & { object: string; field: string } {
  return {
    severity,
    file: resource.source.file,
    line: resource.source.line,
    object: objectRef(resource),
    field,
    message,
  };
}

export function formatProblem(problem: Problem): string {
  const where = [
    problem.file && (problem.line ? `${problem.file}:${problem.line}` : problem.file),
    problem.object,
    problem.field,
  ]
    .filter(Boolean)
    .join(' ');
  return `${problem.severity}: ${where ? `${where}: ` : ''}${problem.message}`;
}
