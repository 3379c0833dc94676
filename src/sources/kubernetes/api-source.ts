// The Kubernetes API as a source of the sync loop, beside the manifest directory: one list/watch per kind
// feeds raw objects in; a load converts them (the loader's schemas, convert.ts) and puts each into the store
// as a "file" of its own, so an update replaces one object, a refused update keeps the object's last good
// version (as for a file), and a relist replaces a kind at once without a flap. No source knows about nginx.
import type { Logger } from '../../log.js';
import type { Kind, Problem } from '../../resources.js';
import { resourceKey } from '../../resources.js';
import type { Store } from '../../store.js';
import type { Source } from '../../sync/source.js';
import { convertApiObject } from './convert.js';

/** What a list/watch of one kind hands over: the raw objects as the API serves them. */
export interface ObjectFeed {
  /** the kind's whole set, after a (re)list: objects missing from it are gone */
  replace(objects: unknown[]): void;
  upsert(object: unknown): void;
  remove(object: unknown): void;
}

/** A running list/watch of one kind (reflector.ts). */
export interface KindWatch {
  start(feed: ObjectFeed): void;
  stop(): Promise<void>;
}

/** One kind the controller watches, and where the API serves it. */
export interface WatchedKind {
  kind: Kind;
  apiVersion: string;
  /** collection path, e.g. /apis/networking.k8s.io/v1/ingresses or /api/v1/namespaces/NS/services */
  path: string;
  fieldSelector?: string;
  labelSelector?: string;
}

export interface WatchScope {
  /** --watch-namespace: only this namespace's namespaced objects (IngressClasses are cluster-wide) */
  namespace?: string;
  /** --configmap NS/NAME: the settings ConfigMap, the only ConfigMap watched */
  configMap?: { namespace: string; name: string };
}

const collection = (group: string, version: string, plural: string, namespace?: string): string => {
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  return namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${plural}` : `${base}/${plural}`;
};

/** The kinds a controller of this scope watches (the ClusterRole in deploy/ grants list and watch on each). */
export function watchedKinds(scope: WatchScope): WatchedKind[] {
  const ns = scope.namespace;
  const kinds: WatchedKind[] = [
    {
      kind: 'Ingress',
      apiVersion: 'networking.k8s.io/v1',
      path: collection('networking.k8s.io', 'v1', 'ingresses', ns),
    },
    {
      kind: 'IngressClass',
      apiVersion: 'networking.k8s.io/v1',
      path: collection('networking.k8s.io', 'v1', 'ingressclasses'),
    },
    { kind: 'Service', apiVersion: 'v1', path: collection('', 'v1', 'services', ns) },
    {
      kind: 'EndpointSlice',
      apiVersion: 'discovery.k8s.io/v1',
      path: collection('discovery.k8s.io', 'v1', 'endpointslices', ns),
      // slices that belong to a Service; those a user made by hand without the label are not ours to read
      labelSelector: 'kubernetes.io/service-name',
    },
    // every Secret: annotations name Opaque ones too (auth-secret, CA bundles), not only kubernetes.io/tls
    { kind: 'Secret', apiVersion: 'v1', path: collection('', 'v1', 'secrets', ns) },
  ];
  if (scope.configMap) {
    kinds.push({
      kind: 'ConfigMap',
      apiVersion: 'v1',
      path: collection('', 'v1', 'configmaps', scope.configMap.namespace),
      fieldSelector: `metadata.name=${scope.configMap.name}`,
    });
  }
  return kinds;
}

type Pending = { kind: WatchedKind; replace?: unknown[]; upserts: Map<string, unknown>; removals: Set<string> };

export interface ApiSourceOptions {
  store: Store;
  kinds: WatchedKind[];
  /** starts the list/watch of one kind */
  watch: (kind: WatchedKind) => KindWatch;
  log: Logger;
}

const API_FILE_PREFIX = 'api:';

/** "api:Kind/namespace/name": the store's file key of one API object (also the key problems are kept by). */
function fileKeyOf(kind: Kind, raw: unknown): string | null {
  const meta = (raw as { metadata?: { namespace?: unknown; name?: unknown } } | null)?.metadata;
  if (typeof meta?.name !== 'string') return null;
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : '';
  return `${API_FILE_PREFIX}${resourceKey(kind, namespace, meta.name)}`;
}

export class ApiSource implements Source {
  private readonly pending = new Map<Kind, Pending>();
  private readonly watches: KindWatch[] = [];
  private readonly filesOf = new Map<Kind, Set<string>>(); // the store files each kind holds
  private readonly refusals = new Map<string, Problem[]>(); // by file key
  private stopped = false;
  private readonly listed = new Set<Kind>(); // kinds whose first list has arrived
  private allListed: (() => void) | null = null;

  constructor(private readonly options: ApiSourceOptions) {}

  start(onChange: () => void): void {
    for (const kind of this.options.kinds) {
      const pending: Pending = { kind, upserts: new Map(), removals: new Set() };
      this.pending.set(kind.kind, pending);
      const watch = this.options.watch(kind);
      this.watches.push(watch);
      watch.start({
        replace: (objects) => {
          if (this.stopped) return;
          // a relist supersedes every event before it
          pending.replace = objects;
          this.listed.add(kind.kind);
          if (this.listed.size === this.options.kinds.length) this.allListed?.();
          pending.upserts.clear();
          pending.removals.clear();
          onChange();
        },
        upsert: (object) => {
          const key = fileKeyOf(kind.kind, object);
          if (this.stopped || !key) return;
          pending.removals.delete(key);
          pending.upserts.set(key, object);
          onChange();
        },
        remove: (object) => {
          const key = fileKeyOf(kind.kind, object);
          if (this.stopped || !key) return;
          pending.upserts.delete(key);
          pending.removals.add(key);
          onChange();
        },
      });
    }
  }

  /**
   * Applies what arrived since the last load; the API source has no "full" reading beyond its watches. The
   * first load waits until every kind has been listed once: a config built from half the kinds (Ingresses
   * without their Services, say) would answer 503 and 404 where the cluster serves, as a controller that
   * starts before its caches sync would.
   */
  async load(_full: boolean): Promise<boolean> {
    if (this.listed.size < this.options.kinds.length && !this.stopped) {
      await new Promise<void>((resolve) => {
        this.allListed = resolve;
      });
      this.allListed = null;
    }
    let applied = false;
    for (const pending of this.pending.values()) {
      const held = this.filesOf.get(pending.kind.kind) ?? new Set<string>();
      this.filesOf.set(pending.kind.kind, held);
      if (pending.replace) {
        const objects = pending.replace;
        pending.replace = undefined;
        const present = new Set<string>();
        for (const object of objects) {
          const key = fileKeyOf(pending.kind.kind, object);
          if (!key) continue;
          present.add(key);
          this.put(pending.kind, key, object, held);
        }
        for (const key of [...held]) if (!present.has(key)) this.drop(key, held);
        applied = true;
      }
      for (const [key, object] of pending.upserts) this.put(pending.kind, key, object, held);
      for (const key of pending.removals) this.drop(key, held);
      if (pending.upserts.size || pending.removals.size) applied = true;
      pending.upserts.clear();
      pending.removals.clear();
    }
    return applied;
  }

  private put(kind: WatchedKind, key: string, raw: unknown, held: Set<string>): void {
    const converted = convertApiObject(raw, { kind: kind.kind, apiVersion: kind.apiVersion });
    held.add(key);
    if ('resource' in converted) {
      this.refusals.delete(key);
      this.options.store.setFile(key, { resources: [converted.resource], rejected: [], parseFailed: false });
      return;
    }
    // refused: the object keeps its last good version, as a refused edit of a file does
    this.refusals.set(key, converted.problems);
    const storeKey = converted.key ?? key.slice(API_FILE_PREFIX.length);
    this.options.store.setFile(key, { resources: [], rejected: [storeKey], parseFailed: false });
  }

  private drop(key: string, held: Set<string>): void {
    held.delete(key);
    this.refusals.delete(key);
    this.options.store.removeFile(key);
  }

  problems(): Problem[] {
    return [...this.refusals.values()].flat();
  }

  rejectedCount(): number {
    return this.refusals.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.allListed?.();
    await Promise.all(this.watches.map((watch) => watch.stop()));
  }
}
