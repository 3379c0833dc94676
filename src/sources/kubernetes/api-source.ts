// The Kubernetes API as a source of the sync loop, beside the manifest directory: one list/watch per kind
// feeds raw objects in; a load converts them (the loader's schemas, convert.ts) and puts each into the store
// as a "file" of its own, so an update replaces one object, a refused update keeps the object's last good
// version (as for a file), and a relist replaces a kind at once without a flap. No source knows about nginx.
// Secrets: only kubernetes.io/tls ones are watched as a kind; any other Secret (or ConfigMap) the served
// Ingresses or the settings name is watched by name, so a cluster's other Secrets (Helm keeps a release of up
// to a megabyte in each) are never listed, transferred or held.
import type { Logger } from '../../log.js';
import type { ObjectReference } from '../../model/references.js';
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
    // TLS Secrets, which spec.tls names; Secrets of other types are watched one by one when named (namedWatch)
    {
      kind: 'Secret',
      apiVersion: 'v1',
      path: collection('', 'v1', 'secrets', ns),
      fieldSelector: 'type=kubernetes.io/tls',
    },
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

/** The watch of one Secret or ConfigMap an Ingress or the settings name (a field selector on its name). */
export function namedWatch(ref: ObjectReference): WatchedKind {
  const plural = ref.kind === 'Secret' ? 'secrets' : 'configmaps';
  return {
    kind: ref.kind,
    apiVersion: 'v1',
    path: collection('', 'v1', plural, ref.namespace),
    fieldSelector: `metadata.name=${ref.name}`,
  };
}

/** One running list/watch and what it handed over since the last load. */
interface Feed {
  kind: WatchedKind;
  watch: KindWatch;
  replace?: unknown[];
  upserts: Map<string, unknown>;
  removals: Set<string>;
  held: Set<string>; // the store files this watch's objects are in
  listed: boolean; // its first list has arrived
}

export interface ApiSourceOptions {
  store: Store;
  kinds: WatchedKind[];
  /** starts the list/watch of one kind */
  watch: (kind: WatchedKind) => KindWatch;
  log: Logger;
  /** the Secrets and ConfigMaps the model will read (model/references.ts): those the kinds miss are watched by name */
  references?: (store: Store) => ObjectReference[];
  /** how long a load waits for the first list of a newly named object before planning without it */
  namedListWaitMs?: number;
}

const API_FILE_PREFIX = 'api:';
const NAMED_LIST_WAIT_MS = 5000;
// changes of these never change what is named or which watch holds it: the endpoint fast path skips the rest
const NAMING_NOTHING: ReadonlySet<Kind> = new Set<Kind>(['Service', 'EndpointSlice', 'Endpoints']);

/** "api:Kind/namespace/name": the store's file key of one API object (also the key problems are kept by). */
function fileKeyOf(kind: Kind, raw: unknown): string | null {
  const meta = (raw as { metadata?: { namespace?: unknown; name?: unknown } } | null)?.metadata;
  if (typeof meta?.name !== 'string') return null;
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : '';
  return `${API_FILE_PREFIX}${resourceKey(kind, namespace, meta.name)}`;
}

export class ApiSource implements Source {
  private readonly feeds: Feed[] = []; // one per kind, in the order given
  private readonly named = new Map<string, Feed>(); // by the file key of the object named
  private readonly refusals = new Map<string, Problem[]>(); // by file key
  private onChange: () => void = () => undefined;
  private stopped = false;
  private listedWaiter: (() => void) | null = null; // woken by any first list
  private firstLoad = true;

  constructor(private readonly options: ApiSourceOptions) {}

  start(onChange: () => void): void {
    this.onChange = onChange;
    for (const kind of this.options.kinds) this.feeds.push(this.startFeed(kind));
  }

  private startFeed(kind: WatchedKind): Feed {
    const watch = this.options.watch(kind);
    const feed: Feed = { kind, watch, upserts: new Map(), removals: new Set(), held: new Set(), listed: false };
    watch.start({
      replace: (objects) => {
        if (this.stopped) return;
        // a relist supersedes every event before it
        feed.replace = objects;
        feed.listed = true;
        this.listedWaiter?.();
        feed.upserts.clear();
        feed.removals.clear();
        this.onChange();
      },
      upsert: (object) => {
        const key = fileKeyOf(kind.kind, object);
        if (this.stopped || !key) return;
        feed.removals.delete(key);
        feed.upserts.set(key, object);
        this.onChange();
      },
      remove: (object) => {
        const key = fileKeyOf(kind.kind, object);
        if (this.stopped || !key) return;
        feed.upserts.delete(key);
        feed.removals.add(key);
        this.onChange();
      },
    });
    return feed;
  }

  /**
   * Applies what arrived since the last load; the API source has no "full" reading beyond its watches. The
   * first load waits until every kind has been listed once: a config built from half the kinds (Ingresses
   * without their Services, say) would answer 503 and 404 where the cluster serves, as a controller that
   * starts before its caches sync would. Then the objects the Ingresses name and no kind holds get a watch
   * of their own, whose first list the load waits for too (a little while only: the API may be away).
   */
  async load(_full: boolean): Promise<boolean> {
    await this.listedWithin(this.feeds, Number.POSITIVE_INFINITY);
    let applied = false;
    let naming = this.firstLoad; // what is named, or which watch holds it, may have changed
    this.firstLoad = false;
    for (const feed of [...this.feeds, ...this.named.values()]) {
      if (!this.apply(feed)) continue;
      applied = true;
      if (!NAMING_NOTHING.has(feed.kind.kind)) naming = true;
    }
    // a named ConfigMap of the settings cannot name further objects, so two rounds settle it; a third is cheap
    for (let round = 0; naming && round < 3 && this.options.references && !this.stopped; round++) {
      const { started, dropped } = this.followReferences(this.options.references(this.options.store));
      if (dropped) applied = true;
      if (!started.length) break;
      await this.listedWithin(started, this.options.namedListWaitMs ?? NAMED_LIST_WAIT_MS);
      for (const feed of started) if (this.apply(feed)) applied = true;
    }
    return applied;
  }

  /** Starts a watch for each named object no kind holds; stops those no longer named (their objects go). */
  private followReferences(refs: ObjectReference[]): { started: Feed[]; dropped: boolean } {
    let dropped = false;
    const wanted = new Map<string, ObjectReference>();
    for (const ref of refs) {
      const key = `${API_FILE_PREFIX}${resourceKey(ref.kind, ref.namespace, ref.name)}`;
      if (!this.heldByKind(key)) wanted.set(key, ref);
    }
    for (const [key, feed] of this.named) {
      if (wanted.has(key)) continue;
      this.named.delete(key);
      void feed.watch.stop();
      for (const file of [...feed.held]) if (this.drop(file, feed.held)) dropped = true;
    }
    const started: Feed[] = [];
    for (const [key, ref] of wanted) {
      if (this.named.has(key)) continue;
      const feed = this.startFeed(namedWatch(ref));
      this.named.set(key, feed);
      started.push(feed);
    }
    return { started, dropped };
  }

  private heldByKind(key: string): boolean {
    return this.feeds.some((feed) => feed.held.has(key));
  }

  /** Waits until each feed has its first list, or the time is up, or the source stops. */
  private async listedWithin(feeds: Feed[], ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.stopped && feeds.some((feed) => !feed.listed)) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const timer = Number.isFinite(left) ? setTimeout(resolve, left) : null;
        this.listedWaiter = () => {
          if (timer) clearTimeout(timer);
          resolve();
        };
      });
      this.listedWaiter = null;
    }
  }

  /** Puts what a feed handed over into the store; whether that changed anything there. */
  private apply(feed: Feed): boolean {
    let changed = false;
    if (feed.replace) {
      const objects = feed.replace;
      feed.replace = undefined;
      const present = new Set<string>();
      for (const object of objects) {
        const key = fileKeyOf(feed.kind.kind, object);
        if (!key) continue;
        present.add(key);
        if (this.put(feed.kind, key, object, feed.held)) changed = true;
      }
      for (const key of [...feed.held]) if (!present.has(key) && this.drop(key, feed.held)) changed = true;
    }
    for (const [key, object] of feed.upserts) if (this.put(feed.kind, key, object, feed.held)) changed = true;
    for (const key of feed.removals) if (this.drop(key, feed.held)) changed = true;
    feed.upserts.clear();
    feed.removals.clear();
    return changed;
  }

  /**
   * Converts an object and puts it into the store; whether that changed the store or the problems. An update
   * that changes only what is not kept (status written by a controller, resourceVersion, managedFields) changes
   * nothing: a relist or the status this controller writes on 10,000 Ingresses plans nothing.
   */
  private put(kind: WatchedKind, key: string, raw: unknown, held: Set<string>): boolean {
    const converted = convertApiObject(raw, { kind: kind.kind, apiVersion: kind.apiVersion });
    held.add(key);
    if ('resource' in converted) {
      const wasRefused = this.refusals.delete(key);
      if (!wasRefused && this.options.store.holds(key, converted.resource)) return false;
      this.options.store.setFile(key, { resources: [converted.resource], rejected: [], parseFailed: false });
      return true;
    }
    // refused: the object keeps its last good version, as a refused edit of a file does
    this.refusals.set(key, converted.problems);
    const storeKey = converted.key ?? key.slice(API_FILE_PREFIX.length);
    this.options.store.setFile(key, { resources: [], rejected: [storeKey], parseFailed: false });
    return true;
  }

  /** Removes an object this watch held; whether it left the store (another watch may still hold it). */
  private drop(key: string, held: Set<string>): boolean {
    held.delete(key);
    // a TLS Secret named by an annotation too is held by both its kind's watch and its own: the other keeps it
    const elsewhere = [...this.feeds, ...this.named.values()].some((feed) => feed.held.has(key));
    if (elsewhere) return false;
    this.refusals.delete(key);
    this.options.store.removeFile(key);
    return true;
  }

  problems(): Problem[] {
    return [...this.refusals.values()].flat();
  }

  rejectedCount(): number {
    return this.refusals.size;
  }

  /** How many objects are watched by name (the Secrets and ConfigMaps no kind's watch holds). */
  get namedWatches(): number {
    return this.named.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.listedWaiter?.();
    const feeds = [...this.feeds, ...this.named.values()];
    await Promise.all(feeds.map((feed) => feed.watch.stop()));
  }
}
