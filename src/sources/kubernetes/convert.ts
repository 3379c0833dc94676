// An object as the Kubernetes API serves it (a list item or a watch event's object, parsed JSON) -> the typed
// resource of resources.ts, through the same schemas and normalisation the manifest loader uses, so nothing
// from the API reaches the model unvalidated and the problems read as they do for files.
//
// Naming: an API object has no file and no line, so its problems carry no file; the object ("Ingress ns/name")
// and the field say where, and formatProblem prints "error: Ingress shop/web spec.rules[0].host: ...". The
// resources carry source { file: '', line: 0 } (API_SOURCE), which the model's problems copy: empty, so
// formatProblem leaves it out there too.
//
// Memory: only what the model reads is kept. The typed resource is built afresh by normalise (it keeps no
// reference into the API's JSON), and of the metadata only name, namespace, creationTimestamp, labels and
// annotations are read; managedFields, resourceVersion, ownerReferences and status are never copied, and
// kubectl's last-applied-configuration annotation (a second copy of the whole object) is dropped. An Ingress
// also keeps its uid, which the Events about it must name (src/publish/events.ts); other kinds do not.
import { KINDS, type Kind, type Problem, type Resource, resourceKey, type Source } from '../../resources.js';
import { display, MAX_PROBLEMS_PER_OBJECT, quote, schemaErrors, stripNulls } from '../loader.js';
import { normalise } from '../normalise.js';
import { API_VERSIONS, validatorFor } from '../schemas.js';

/** The source of every resource read from the API: no file, no line. */
export const API_SOURCE: Readonly<Source> = Object.freeze({ file: '', line: 0 });

/** Annotations dropped before storing: written by kubectl apply, read by nothing here, as large as the object. */
export const DROPPED_ANNOTATIONS: readonly string[] = ['kubectl.kubernetes.io/last-applied-configuration'];

export type Converted =
  | { resource: Resource }
  /** key: the object's store key when it has a kind, namespace and name (the loader's "rejected") */
  | { problems: Problem[]; key?: string };

type Obj = Record<string, unknown>;
const isObject = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);

// Top-level fields each kind's schema checks and normalise reads; the rest (status, most of a Service's spec)
// is not looked at.
const KEPT: Readonly<Record<Kind, readonly string[]>> = {
  Ingress: ['spec'],
  IngressClass: ['spec'],
  Service: ['spec'],
  Endpoints: ['subsets'],
  EndpointSlice: ['addressType', 'endpoints', 'ports'],
  Secret: ['type', 'data', 'stringData'],
  ConfigMap: ['data'],
};
const SERVICE_SPEC = ['type', 'clusterIP', 'externalName', 'ports'];

function slimMetadata(metadata: Obj): Obj {
  const out: Obj = {};
  for (const key of ['name', 'namespace', 'creationTimestamp', 'labels']) {
    if (metadata[key] !== undefined) out[key] = metadata[key];
  }
  if (isObject(metadata.annotations)) {
    const annotations = { ...metadata.annotations };
    for (const key of DROPPED_ANNOTATIONS) delete annotations[key];
    out.annotations = annotations;
  } else if (metadata.annotations !== undefined) {
    out.annotations = metadata.annotations; // not a mapping: the schema says so
  }
  return out;
}

function slim(kind: Kind, apiVersion: string, raw: Obj): Obj {
  const out: Obj = { kind, apiVersion };
  if (raw.metadata !== undefined) out.metadata = isObject(raw.metadata) ? slimMetadata(raw.metadata) : raw.metadata;
  for (const key of KEPT[kind]) if (raw[key] !== undefined) out[key] = raw[key];
  if (kind === 'Service' && isObject(raw.spec)) {
    const spec: Obj = {};
    for (const key of SERVICE_SPEC) if (raw.spec[key] !== undefined) spec[key] = raw.spec[key];
    out.spec = spec;
  }
  return out;
}

/**
 * One object from the API as a validated resource, or the problems that refuse it (each naming the object and
 * the field). `defaults`: the kind and apiVersion of the list it came from (a list's items omit them).
 * Nulls inside raw are removed in place (the API's null means "not set").
 */
export function convertApiObject(raw: unknown, defaults?: { kind: Kind; apiVersion: string }): Converted {
  const refuse = (message: string, extra: Partial<Problem> = {}, key?: string): Converted => ({
    problems: [{ severity: 'error', ...extra, message }],
    ...(key ? { key } : {}),
  });
  if (!isObject(raw)) return refuse(`expected a Kubernetes object from the API, got ${quote(raw)}`);
  const kind = raw.kind ?? defaults?.kind;
  const apiVersion = raw.apiVersion ?? defaults?.apiVersion;
  if (typeof kind !== 'string' || !(KINDS as readonly string[]).includes(kind))
    return refuse(`not a kind this controller reads: ${quote(kind)}`, { field: 'kind' });

  const metadata = isObject(raw.metadata) ? raw.metadata : {};
  const namespace = metadata.namespace === undefined ? 'default' : metadata.namespace;
  const name = metadata.name;
  const identified = typeof namespace === 'string' && typeof name === 'string';
  const key = identified ? resourceKey(kind, namespace, name) : undefined;
  const object = `${kind} ${typeof namespace === 'string' ? display(namespace) : '?'}/${
    typeof name === 'string' ? display(name) : '(unnamed)'
  }`;

  const validate = typeof apiVersion === 'string' ? validatorFor(kind as Kind, apiVersion) : undefined;
  if (!validate) {
    const supported = API_VERSIONS[kind as Kind].join(', ');
    return refuse(
      `unsupported apiVersion ${quote(apiVersion)} for ${kind}; supported: ${supported}`,
      { object, field: 'apiVersion' },
      key,
    );
  }
  const obj = slim(kind as Kind, apiVersion as string, raw);
  stripNulls(obj);
  if (validate(obj)) {
    const resource = normalise(kind as Kind, obj, { ...API_SOURCE });
    // after the schema and normalise, which know no uid (the directory source's objects have none); a uid
    // never changes for one object, so keeping it makes no store change of its own
    if (resource.kind === 'Ingress' && typeof metadata.uid === 'string' && metadata.uid)
      resource.meta.uid = metadata.uid;
    return { resource };
  }

  const problems: Problem[] = schemaErrors(validate.errors ?? [], obj).map(({ field, message }) => ({
    severity: 'error',
    object,
    field,
    message,
  }));
  if (problems.length > MAX_PROBLEMS_PER_OBJECT) {
    const more = problems.length - MAX_PROBLEMS_PER_OBJECT;
    problems.length = MAX_PROBLEMS_PER_OBJECT;
    problems.push({ severity: 'error', object, message: `${more} more problem(s) not shown` });
  }
  return { problems, ...(key ? { key } : {}) };
}
