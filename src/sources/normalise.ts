// Turns a schema-validated manifest object into the typed resource of types.ts: defaults filled,
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
function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

const emptyToUndefined = (s: string | undefined): string | undefined => (s === '' ? undefined : s);

function meta(m: Raw): Meta {
  return compact({
    namespace: m.namespace ?? 'default',
    name: m.name,
    creationTimestamp: m.creationTimestamp,
    annotations: { ...m.annotations },
    labels: { ...m.labels },
  });
}

function backendV1(b: Raw): IngressBackend | undefined {
  if (!b) return undefined;
  if (b.resource)
    return { resource: compact({ apiGroup: b.resource.apiGroup, kind: b.resource.kind, name: b.resource.name }) };
  const p = b.service.port;
  return { service: { name: b.service.name, port: p.number !== undefined ? { number: p.number } : { name: p.name } } };
}

function backendLegacy(b: Raw): IngressBackend | undefined {
  if (!b) return undefined;
  if (b.resource) return backendV1(b);
  const sp = b.servicePort;
  const port = typeof sp === 'number' || /^[0-9]+$/.test(sp) ? { number: Number(sp) } : { name: sp as string };
  return { service: { name: b.serviceName, port } };
}

function ingress(o: Raw, source: Source): Ingress {
  const legacy = isLegacyIngress(o.apiVersion);
  const backend = legacy ? backendLegacy : backendV1;
  const spec = o.spec;
  return compact({
    kind: 'Ingress',
    apiVersion: o.apiVersion,
    meta: meta(o.metadata),
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

function ingressClass(o: Raw, source: Source): IngressClass {
  const m = meta(o.metadata);
  return {
    kind: 'IngressClass',
    meta: m,
    source,
    controller: o.spec.controller,
    isDefault: m.annotations['ingressclass.kubernetes.io/is-default-class'] === 'true',
  };
}

function service(o: Raw, source: Source): Service {
  const spec = o.spec;
  return compact({
    kind: 'Service',
    meta: meta(o.metadata),
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

function endpoints(o: Raw, source: Source): Endpoints {
  return {
    kind: 'Endpoints',
    meta: meta(o.metadata),
    source,
    subsets: (o.subsets ?? []).map((s: Raw) => ({
      addresses: (s.addresses ?? []).map(address),
      notReadyAddresses: (s.notReadyAddresses ?? []).map(address),
      ports: (s.ports ?? []).map(port),
    })),
  };
}

function endpointSlice(o: Raw, source: Source): EndpointSlice {
  const m = meta(o.metadata);
  return {
    kind: 'EndpointSlice',
    meta: m,
    source,
    serviceName: m.labels['kubernetes.io/service-name']!,
    addressType: o.addressType,
    endpoints: (o.endpoints ?? []).map((e: Raw) => {
      const c = e.conditions ?? {};
      // API defaults: a missing ready means ready; serving follows ready.
      const ready: boolean = c.ready ?? true;
      return compact({
        addresses: [...e.addresses],
        ready,
        serving: c.serving ?? ready,
        terminating: c.terminating ?? false,
        hostname: e.hostname,
        targetRef: ref(e.targetRef),
      });
    }),
    ports: (o.ports ?? []).map(port),
  };
}

function secret(o: Raw, source: Source): Secret {
  // fromEntries defines own properties, so a "__proto__" key stays data. Later entries win:
  // like the API server, stringData overrides data.
  const data: Record<string, string> = Object.fromEntries([
    ...Object.entries<string>(o.data ?? {}).map(([k, v]) => [k, v.replace(/[\r\n]/g, '')]),
    ...Object.entries<string>(o.stringData ?? {}).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]),
  ]);
  return { kind: 'Secret', meta: meta(o.metadata), source, type: o.type ?? 'Opaque', data };
}

function configMap(o: Raw, source: Source): ConfigMap {
  return { kind: 'ConfigMap', meta: meta(o.metadata), source, data: { ...o.data } };
}

const CONVERTERS: Record<Kind, (o: Raw, source: Source) => Resource> = {
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
