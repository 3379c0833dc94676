// status.loadBalancer.ingress on every Ingress the controller serves, written by the leader of its replicas
// (leader-election.ts) as ingress-nginx's status sync did: only when an Ingress's status differs (compared as
// ingress-nginx sorted it), through the status subresource with the resourceVersion just read (a 409 reads
// again and retries), at most STATUS_WRITERS writes at a time, and the address taken away from an Ingress the
// controller stops serving. The sync loop only tells it which model nginx runs (applied) and when to stop;
// its I/O runs on its own: its own watches of the Ingresses' status (the store drops status), of the
// --publish-service Service (maybe outside --watch-namespace) and of that Service's EndpointSlices (whether
// other replicas still run, on shutdown).
import type { Logger } from '../log.js';
import type { Model } from '../model/index.js';
import type { ApiConfig } from '../sources/kubernetes/config.js';
import { type KubeObject, Reflector, type ReflectorConsumer } from '../sources/kubernetes/reflector.js';
import { type Clock, settleWithin, systemClock } from '../sync/clock.js';
import type { SyncObserver } from '../sync/parts.js';
import { type JsonCall, jsonCall, replyMessage } from './api-call.js';
import { apiLeaseClient, electionTiming, LeaderElector } from './leader-election.js';
import {
  formatAddresses,
  type LoadBalancerAddress,
  sameAddresses,
  servedIngresses,
  serviceAddresses,
  type StatusWrite,
  statusAddresses,
  statusDiff,
} from './status-address.js';

/** ingress-nginx's pool of status writers */
export const STATUS_WRITERS = 10;
/** a write that meets a newer resourceVersion this many times in a row is retried later, with the others */
const ATTEMPTS = 5;
/** watch events (our own writes coming back among them) are gathered this long before the statuses are compared */
const SETTLE_MS = 200;
/** failed writes are tried again after this, doubling up to a minute */
const RETRY_MS = 2000;
const MAX_RETRY_MS = 60_000;
/** on shutdown: the removal of the addresses, then the release of the Lease, within the loop's 3 s */
const SHUTDOWN_WRITES_MS = 1500;

export interface StatusOptions {
  api: ApiConfig;
  /** where the address comes from */
  publish: { service: { namespace: string; name: string } } | { addresses: LoadBalancerAddress[] };
  /** --watch-namespace: the Ingresses watched */
  watchNamespace?: string;
  /** the Lease: POD_NAMESPACE and --election-id; held as POD_NAME */
  lease: { namespace: string; name: string };
  identity: string;
  /** --election-ttl */
  electionTtlMs: number;
  /** --update-status-on-shutdown */
  clearOnShutdown: boolean;
  /** this pod's addresses: its own endpoint of the publish Service does not count as another replica */
  podIPs: string[];
  log: Logger;
  clock?: Clock;
}

type Outcome = { outcome: 'written' | 'unchanged'; addresses: LoadBalancerAddress[] } | { outcome: 'gone' };

const ingressPaths = (key: string) => {
  const [namespace, name] = key.split('/') as [string, string];
  const collection = `/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/ingresses`;
  return {
    // a list of the one name: the controller may list Ingresses but not get them (ingress-nginx's role had get)
    read: `${collection}?${new URLSearchParams({ fieldSelector: `metadata.name=${name}` })}`,
    status: `${collection}/${encodeURIComponent(name)}/status`,
  };
};

/**
 * One Ingress's status set to addresses: read it, and PUT it back to its status subresource with the new
 * addresses and the resourceVersion just read; a 409 (it changed in between) reads it again. `conflicts` counts
 * the 409s met.
 */
export async function writeIngressStatus(
  call: JsonCall,
  key: string,
  addresses: LoadBalancerAddress[],
  conflicts: { count: number } = { count: 0 },
): Promise<Outcome> {
  const paths = ingressPaths(key);
  for (let attempt = 1; ; attempt++) {
    const read = await call('GET', paths.read);
    if (read.status !== 200) throw new Error(`read Ingress ${key}: ${replyMessage(read)}`);
    const item = (read.body as { items?: (KubeObject & { status?: Record<string, unknown> })[] }).items?.[0];
    if (!item) return { outcome: 'gone' };
    // a list's items come without them; the PUT names them
    const ingress = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', ...item };
    const current = statusAddresses(ingress);
    if (sameAddresses(current, addresses)) return { outcome: 'unchanged', addresses: current };
    const status = { ...ingress.status, loadBalancer: addresses.length ? { ingress: addresses } : {} };
    const written = await call('PUT', paths.status, { ...ingress, status });
    if (written.status === 200) return { outcome: 'written', addresses: statusAddresses(written.body) };
    if (written.status === 404) return { outcome: 'gone' };
    if (written.status !== 409 || attempt >= ATTEMPTS)
      throw new Error(`update the status of Ingress ${key}: ${replyMessage(written)}`);
    conflicts.count++;
  }
}

/**
 * work on each item, at most `limit` at once (thousands of Ingresses must not mean thousands of requests in
 * flight); no new item is started once `going` says no. How many failed (work resolved false).
 */
export async function runBounded<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<boolean>,
  going: () => boolean = () => true,
): Promise<number> {
  const queue = [...items];
  let failed = 0;
  const worker = async () => {
    while (queue.length && going()) {
      if (!(await work(queue.shift()!))) failed++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, worker));
  return failed;
}

/** What a list/watch delivers, kept as a map of objects by "namespace/name" (of one small projection each). */
class View<T> implements ReflectorConsumer {
  readonly items = new Map<string, T>();
  listed = false;

  constructor(
    private readonly project: (object: KubeObject) => T,
    private readonly changed: (key: string | null) => void,
  ) {}

  replace(objects: KubeObject[]): void {
    this.items.clear();
    for (const object of objects) this.items.set(keyOf(object), this.project(object));
    this.listed = true;
    this.changed(null);
  }
  upsert(object: KubeObject): void {
    this.items.set(keyOf(object), this.project(object));
    this.changed(keyOf(object));
  }
  remove(object: KubeObject): void {
    this.items.delete(keyOf(object));
    this.changed(keyOf(object));
  }
}

const keyOf = (object: KubeObject) => `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;

interface SliceEndpoint {
  addresses?: string[];
  conditions?: { ready?: boolean | null; terminating?: boolean | null };
}

export class IngressStatusPublisher implements SyncObserver {
  private readonly clock: Clock;
  private readonly call: JsonCall;
  private readonly elector: LeaderElector;
  private readonly reflectors: Reflector[] = [];
  private readonly ingresses: View<LoadBalancerAddress[]>;
  private service: View<KubeObject> | null = null;
  private slices: View<SliceEndpoint[]> | null = null;
  /** the addresses to publish: null while unknown (the Service not listed yet, missing, or without one) */
  private desired: LoadBalancerAddress[] | null = null;
  private served: Set<string> | null = null;
  private readonly written = new Set<string>();
  private started = false;
  private stopping = false;
  private dirty = false;
  private timer: unknown = null;
  private running: Promise<void> | null = null;
  private failures = 0;
  private serviceProblem = '';
  private retryTimer: unknown = null;

  constructor(private readonly options: StatusOptions) {
    this.clock = options.clock ?? systemClock;
    this.call = jsonCall(options.api);
    const { lease, log } = options;
    const timing = electionTiming(options.electionTtlMs);
    this.elector = new LeaderElector({
      // a renewal that hangs must fail before the next one is due
      client: apiLeaseClient(jsonCall(options.api, timing.retryPeriodMs), lease.namespace, lease.name),
      identity: options.identity,
      leaseName: `${lease.namespace}/${lease.name}`,
      timing,
      clock: this.clock,
      log,
      // a new leader compares every status: the old one may have died in the middle of its writes
      onStartedLeading: () => this.poke(0),
    });
    this.ingresses = new View(statusAddresses, () => this.poke(SETTLE_MS));
    if ('addresses' in options.publish) this.desired = options.publish.addresses;
  }

  /** The first config nginx runs starts the election and the watches: a replica that never serves never leads. */
  applied(model: Model): void {
    if (this.stopping) return;
    if (!this.started) this.start();
    const served = servedIngresses(model);
    if (this.served && sameSet(this.served, served)) return;
    this.served = served;
    this.poke(0);
  }

  private start(): void {
    this.started = true;
    const { watchNamespace, publish } = this.options;
    const ingressPath = watchNamespace
      ? `/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(watchNamespace)}/ingresses`
      : '/apis/networking.k8s.io/v1/ingresses';
    this.watch({ path: ingressPath }, this.ingresses, 'Ingress');
    if ('service' in publish) {
      const { namespace, name } = publish.service;
      this.service = new View(
        (object) => object,
        () => this.serviceChanged(),
      );
      const namespaced = `/api/v1/namespaces/${encodeURIComponent(namespace)}`;
      this.watch({ path: `${namespaced}/services`, fieldSelector: `metadata.name=${name}` }, this.service, 'Service');
      if (this.options.clearOnShutdown) {
        this.slices = new View(
          (object) => (Array.isArray(object.endpoints) ? (object.endpoints as SliceEndpoint[]) : []),
          () => undefined,
        );
        this.watch(
          {
            path: `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/endpointslices`,
            labelSelector: `kubernetes.io/service-name=${name}`,
          },
          this.slices,
          'EndpointSlice',
        );
      }
    }
    this.elector.start();
  }

  private watch(
    where: { path: string; fieldSelector?: string; labelSelector?: string },
    consumer: ReflectorConsumer,
    what: string,
  ): void {
    const reflector = new Reflector(
      {
        api: this.options.api,
        ...where,
        onProblem: (problem) =>
          this.options.log('warn', `${what} ${problem.phase} (for Ingress status) failed: ${problem.message}`, {
            event: 'status_watch_failed',
            status: problem.statusCode,
            retryInMs: Math.round(problem.retryInMs),
          }),
      },
      consumer,
    );
    this.reflectors.push(reflector);
    reflector.start();
  }

  private serviceChanged(): void {
    if (!('service' in this.options.publish) || !this.service) return;
    const { namespace, name } = this.options.publish.service;
    const object = this.service.items.get(`${namespace}/${name}`);
    const found = object ? serviceAddresses(object) : { problem: 'no such Service' };
    if ('problem' in found) {
      if (found.problem !== this.serviceProblem)
        this.options.log(
          'warn',
          `--publish-service ${namespace}/${name}: ${found.problem}; no Ingress status written`,
          {
            event: 'publish_service_unusable',
          },
        );
      this.serviceProblem = found.problem;
      this.desired = null;
      return;
    }
    this.serviceProblem = '';
    if (this.desired && sameAddresses(this.desired, found.addresses)) return;
    this.desired = found.addresses;
    this.options.log(
      'info',
      `the address to publish is ${formatAddresses(found.addresses)} (Service ${namespace}/${name})`,
      {
        event: 'publish_address',
        addresses: formatAddresses(found.addresses),
      },
    );
    this.poke(0);
  }

  /** Compare the statuses after ms (again after the comparison in progress, if one runs). */
  private poke(ms: number): void {
    this.dirty = true;
    if (this.stopping || this.running || this.timer !== null) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.running = this.reconcile().finally(() => {
        this.running = null;
        if (this.dirty && !this.stopping) this.poke(SETTLE_MS);
      });
    }, ms);
  }

  private async reconcile(): Promise<void> {
    this.dirty = false;
    const { desired, served } = this;
    if (!this.elector.isLeader() || !desired || !served || !this.ingresses.listed) return;
    const writes = statusDiff({ desired, served, observed: this.ingresses.items, written: this.written });
    if (!writes.length) return;
    const failed = await this.runWrites(writes, () => this.elector.isLeader() && !this.stopping);
    if (!failed) {
      this.failures = 0;
      return;
    }
    const delay = Math.min(MAX_RETRY_MS, RETRY_MS * 2 ** this.failures++);
    this.options.log('warn', `${failed} Ingress status write(s) failed; trying again in ${delay} ms`, {
      event: 'ingress_status_retry',
      failed,
      retryInMs: delay,
    });
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = null;
      this.poke(0);
    }, delay);
  }

  /** The writes, STATUS_WRITERS at a time, while `going` says so; how many failed. */
  private runWrites(writes: StatusWrite[], going: () => boolean): Promise<number> {
    return runBounded(writes, STATUS_WRITERS, (write) => this.writeOne(write), going);
  }

  private async writeOne({ key, addresses }: StatusWrite): Promise<boolean> {
    const conflicts = { count: 0 };
    try {
      const done = await writeIngressStatus(this.call, key, addresses, conflicts);
      if (done.outcome === 'gone') {
        this.ingresses.items.delete(key);
        return true;
      }
      // the watch brings the same later; until then the next comparison must not write it again
      if (this.ingresses.items.has(key)) this.ingresses.items.set(key, done.addresses);
      if (addresses.length) this.written.add(key);
      else this.written.delete(key);
      if (done.outcome === 'written')
        this.options.log('info', `Ingress ${key} status: ${formatAddresses(addresses)}`, {
          event: 'ingress_status',
          ingress: key,
          addresses: formatAddresses(addresses),
          ...(conflicts.count ? { conflicts: conflicts.count } : {}),
        });
      return true;
    } catch (error) {
      this.options.log('warn', `Ingress ${key} status not written: ${(error as Error).message}`, {
        event: 'ingress_status_failed',
        ingress: key,
      });
      return false;
    }
  }

  /**
   * Whether other replicas still serve behind the publish Service: a ready endpoint of its EndpointSlices
   * that is not this pod. Unknown (no Service, slices not listed yet) counts as yes: addresses are only
   * removed when it is certain nothing serves them any more.
   */
  private othersRemain(): boolean {
    if (!this.slices?.listed) return true;
    const own = new Set(this.options.podIPs);
    for (const endpoints of this.slices.items.values()) {
      for (const endpoint of endpoints) {
        const ready = endpoint.conditions?.ready !== false && endpoint.conditions?.terminating !== true;
        if (ready && !(endpoint.addresses ?? []).some((address) => own.has(address))) return true;
      }
    }
    return false;
  }

  /**
   * The last writes, then the Lease released for another replica to take at once. With
   * --update-status-on-shutdown the leader removes the addresses when no other replica remains (as
   * ingress-nginx did); with --publish-status-address it cannot tell, and leaves them.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of [this.timer, this.retryTimer]) if (timer !== null) this.clock.clearTimeout(timer);
    this.timer = null;
    await settleWithin(this.running, 500, this.clock);
    if (this.elector.isLeader()) await this.clearOnShutdown();
    await this.elector.stop();
    await Promise.all(this.reflectors.map((reflector) => reflector.stop()));
  }

  private async clearOnShutdown(): Promise<void> {
    const { log, clearOnShutdown, publish } = this.options;
    const leave = (why: string) =>
      log('info', `leaving the Ingress status as it is: ${why}`, { event: 'ingress_status_kept' });
    if (!clearOnShutdown) return leave('--update-status-on-shutdown=false');
    if (!('service' in publish))
      return leave('with --publish-status-address this replica cannot tell whether others still serve it');
    if (this.othersRemain()) return leave('other replicas still serve behind the publish Service');
    const writes: StatusWrite[] = [];
    for (const [key, current] of this.ingresses.items) {
      const ours =
        this.served?.has(key) || this.written.has(key) || (this.desired && sameAddresses(current, this.desired));
      if (current.length && ours) writes.push({ key, addresses: [] });
    }
    log('info', `no other replica remains: removing the address from ${writes.length} Ingress(es)`, {
      event: 'ingress_status_clear',
      ingresses: writes.length,
    });
    const deadline = this.clock.now() + SHUTDOWN_WRITES_MS;
    await this.runWrites(writes, () => this.clock.now() < deadline);
  }
}

function sameSet(left: ReadonlySet<string>, right: ReadonlySet<string>): boolean {
  if (left.size !== right.size) return false;
  for (const item of left) if (!right.has(item)) return false;
  return true;
}
