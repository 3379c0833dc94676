// Turns a schema-validated manifest object into the typed resource of resources.ts: defaults filled,
// legacy Ingress forms rewritten to the v1 shape. Input shapes are guaranteed by schemas.ts.
import type {
  ConfigMap,
  EndpointAddress,
  EndpointSlice,
  Endpoints,
  Ingress,
  IngressBackend,
  IngressClass,
  Kind,
  Meta,
  Resource,
  Secret,
  Service,
  Source,
} from '../resources.js';
import { isLegacyIngress } from './schemas.js';

// the schema has checked the shape (schemas.ts); reading it back field by field would only repeat that
// biome-ignore lint/suspicious/noExplicitAny: validated input
type Raw = any;

// Drops undefined members so results compare cleanly and print without noise.
function compact<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
}

const emptyToUndefined = (s: string | undefined): string | undefined => (s === '' ? undefined : s);

function meta(raw: Raw): Meta {
  return compact({
    namespace: raw.namespace ?? 'default',
    name: raw.name,
    creationTimestamp: raw.creationTimestamp,
    annotations: { ...raw.annotations },
    labels: { ...raw.labels },
  });
}

function backendV1(raw: Raw): IngressBackend | undefined {
  if (!raw) return undefined;
  if (raw.resource)
    return { resource: compact({ apiGroup: raw.resource.apiGroup, kind: raw.resource.kind, name: raw.resource.name }) };
  const servicePort = raw.service.port;
  return {
    service: {
      name: raw.service.name,
      port: servicePort.number !== undefined ? { number: servicePort.number } : { name: servicePort.name },
    },
  };
}

function backendLegacy(raw: Raw): IngressBackend | undefined {
  if (!raw) return undefined;
  if (raw.resource) return backendV1(raw);
  const sp = raw.servicePort;
  const port = typeof sp === 'number' || /^[0-9]+$/.test(sp) ? { number: Number(sp) } : { name: sp as string };
  return { service: { name: raw.serviceName, port } };
}

function ingress(raw: Raw, source: Source): Ingress {
  const legacy = isLegacyIngress(raw.apiVersion);
  const backend = legacy ? backendLegacy : backendV1;
  const spec = raw.spec;
  return compact({
    kind: 'Ingress',
    apiVersion: raw.apiVersion,
    meta: meta(raw.metadata),
    source,
    className: spec.ingressClassName,
    defaultBackend: backend(legacy ? spec.backend : spec.defaultBackend),
    tls: (spec.tls ?? []).map((t: Raw) => compact({ hosts: [...(t.hosts ?? [])], secretName: t.secretName })),
    rules: (spec.rules ?? []).map((r: Raw) =>
      compact({
        host: r.host,
        paths: (r.http?.paths ?? []).map((p: Raw) => ({
          path: p.path ?? '/',
          pathType: p.pathType ?? 'ImplementationSpecific',
          backend: backend(p.backend)!,
        })),
      }),
    ),
  });
}

function ingressClass(raw: Raw, source: Source): IngressClass {
  const metadata = meta(raw.metadata);
  return {
    kind: 'IngressClass',
    meta: metadata,
    source,
    controller: raw.spec.controller,
    isDefault: metadata.annotations['ingressclass.kubernetes.io/is-default-class'] === 'true',
  };
}

function service(raw: Raw, source: Source): Service {
  const spec = raw.spec;
  return compact({
    kind: 'Service',
    meta: meta(raw.metadata),
    source,
    type: spec.type ?? 'ClusterIP',
    clusterIP: spec.clusterIP,
    externalName: spec.externalName,
    ports: (spec.ports ?? []).map((p: Raw) =>
      compact({
        name: emptyToUndefined(p.name),
        port: p.port,
        targetPort: p.targetPort,
        protocol: p.protocol ?? 'TCP',
        nodePort: p.nodePort,
      }),
    ),
  });
}

const ref = (r: Raw) => (r ? compact({ kind: r.kind, name: r.name, namespace: r.namespace }) : undefined);
const address = (a: Raw): EndpointAddress => compact({ ip: a.ip, hostname: a.hostname, targetRef: ref(a.targetRef) });
const port = (p: Raw) => compact({ name: emptyToUndefined(p.name), port: p.port, protocol: p.protocol ?? 'TCP' });

function endpoints(raw: Raw, source: Source): Endpoints {
  return {
    kind: 'Endpoints',
    meta: meta(raw.metadata),
    source,
    subsets: (raw.subsets ?? []).map((s: Raw) => ({
      addresses: (s.addresses ?? []).map(address),
      notReadyAddresses: (s.notReadyAddresses ?? []).map(address),
      ports: (s.ports ?? []).map(port),
    })),
  };
}

function endpointSlice(raw: Raw, source: Source): EndpointSlice {
  const metadata = meta(raw.metadata);
  return {
    kind: 'EndpointSlice',
    meta: metadata,
    source,
    serviceName: metadata.labels['kubernetes.io/service-name']!,
    addressType: raw.addressType,
    endpoints: (raw.endpoints ?? []).map((endpoint: Raw) => {
      const conditions = endpoint.conditions ?? {};
      // API defaults: a missing ready means ready; serving follows ready.
      const ready: boolean = conditions.ready ?? true;
      return compact({
        addresses: [...endpoint.addresses],
        ready,
        serving: conditions.serving ?? ready,
        terminating: conditions.terminating ?? false,
        hostname: endpoint.hostname,
        targetRef: ref(endpoint.targetRef),
      });
    }),
    ports: (raw.ports ?? []).map(port),
  };
}

function secret(raw: Raw, source: Source): Secret {
  // fromEntries defines own properties, so a "__proto__" key stays data. Later entries win:
  // like the API server, stringData overrides data.
  const data: Record<string, string> = Object.fromEntries([
    ...Object.entries<string>(raw.data ?? {}).map(([k, v]) => [k, v.replace(/[\r\n]/g, '')]),
    ...Object.entries<string>(raw.stringData ?? {}).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]),
  ]);
  return { kind: 'Secret', meta: meta(raw.metadata), source, type: raw.type ?? 'Opaque', data };
}

function configMap(raw: Raw, source: Source): ConfigMap {
  return { kind: 'ConfigMap', meta: meta(raw.metadata), source, data: { ...raw.data } };
}

const CONVERTERS: Record<Kind, (raw: Raw, source: Source) => Resource> = {
  Ingress: ingress,
  IngressClass: ingressClass,
  Service: service,
  Endpoints: endpoints,
  EndpointSlice: endpointSlice,
  Secret: secret,
  ConfigMap: configMap,
};

export function normalise(kind: Kind, obj: Raw, source: Source): Resource {
  return CONVERTERS[kind](obj, source);
}
