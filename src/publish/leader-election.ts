// Which replica writes back to the cluster: a coordination.k8s.io/v1 Lease named after --election-id in the
// pod's namespace, held by POD_NAME, the way client-go's leaderelection package (which ingress-nginx used)
// holds one. With the TTL t: the Lease is valid t after it was last seen to change, the leader renews every
// t/4 and gives up when it could not renew for t/2, so it stops acting well before another replica may take
// over (ingress-nginx: LeaseDuration t, RenewDeadline t/2, RetryPeriod t/4). A write that meets a newer
// resourceVersion (409) means another replica got there first. On stop the leader releases the Lease
// (holder cleared, duration 1 s, as client-go's ReleaseOnCancel) so that another replica takes over at its
// next try instead of after the TTL.
import type { Logger } from '../log.js';
import type { Clock } from '../sync/clock.js';
import { type JsonCall, replyMessage } from './api-call.js';

/** coordination.k8s.io/v1 LeaseSpec: the times are MicroTime strings. */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion?: string; [key: string]: unknown };
  spec?: LeaseSpec;
}

/** The Lease changed under us: another replica wrote it since we read it (or created it first). */
export class LeaseConflict extends Error {}

/** Reads and writes the one Lease; null: it does not exist. */
export interface LeaseClient {
  get(): Promise<Lease | null>;
  create(lease: Lease): Promise<Lease>;
  update(lease: Lease): Promise<Lease>;
}

export function apiLeaseClient(call: JsonCall, namespace: string, name: string): LeaseClient {
  const collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const item = `${collection}/${encodeURIComponent(name)}`;
  const answer = (what: string, reply: { status: number; body: unknown }): Lease => {
    if (reply.status === 200 || reply.status === 201) return reply.body as Lease;
    if (reply.status === 409) throw new LeaseConflict(`${what} Lease ${namespace}/${name}: ${replyMessage(reply)}`);
    throw new Error(`${what} Lease ${namespace}/${name}: ${replyMessage(reply)}`);
  };
  return {
    async get() {
      const reply = await call('GET', item);
      return reply.status === 404 ? null : answer('get', reply);
    },
    create: async (lease) => answer('create', await call('POST', collection, lease)),
    update: async (lease) => answer('update', await call('PUT', item, lease)),
  };
}

export interface ElectionTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** ingress-nginx's timing for --election-ttl. */
export function electionTiming(ttlMs: number): ElectionTiming {
  return { leaseDurationMs: ttlMs, renewDeadlineMs: ttlMs / 2, retryPeriodMs: ttlMs / 4 };
}

/** A MicroTime: RFC 3339 with six fraction digits, as the API server parses it. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** What one try writes, or who holds the Lease (nothing to write): client-go's tryAcquireOrRenew, pure. */
export type Attempt = { write: 'create' | 'update'; spec: LeaseSpec } | { write: null; holder: string };

export interface AttemptInput {
  /** the Lease's spec as just read; null when there is no Lease */
  lease: LeaseSpec | null;
  identity: string;
  now: number;
  /**
   * when this replica last saw the Lease change (its own clock): the Lease is valid for its duration from
   * then, so clocks that disagree between nodes do not matter (client-go's observedTime)
   */
  observedAt: number;
  leaseDurationSeconds: number;
}

export function nextAttempt({ lease, identity, now, observedAt, leaseDurationSeconds }: AttemptInput): Attempt {
  const stamp = microTime(now);
  if (!lease) {
    const spec = { holderIdentity: identity, leaseDurationSeconds, acquireTime: stamp, renewTime: stamp };
    return { write: 'create', spec: { ...spec, leaseTransitions: 0 } };
  }
  const holder = lease.holderIdentity ?? '';
  const validUntil = observedAt + (lease.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
  if (holder && holder !== identity && validUntil > now) return { write: null, holder };
  const transitions = lease.leaseTransitions ?? 0;
  const ours = holder === identity;
  return {
    write: 'update',
    spec: {
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTime: ours ? (lease.acquireTime ?? stamp) : stamp,
      renewTime: stamp,
      leaseTransitions: ours ? transitions : transitions + 1,
    },
  };
}

/** The Lease spec client-go writes on release: nobody holds it, and it expires one second after. */
export function releasedSpec(lease: LeaseSpec, now: number): LeaseSpec {
  const stamp = microTime(now);
  return {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: stamp,
    renewTime: stamp,
    leaseTransitions: lease.leaseTransitions ?? 0,
  };
}

export interface ElectorOptions {
  client: LeaseClient;
  /** POD_NAME */
  identity: string;
  /** "namespace/name" of the Lease, for the log */
  leaseName: string;
  timing: ElectionTiming;
  clock: Clock;
  log: Logger;
  /** [0, 1): the jitter of a candidate's retries (client-go: up to 1.2 times the period more) */
  random?: () => number;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
}

const recordOf = (spec: LeaseSpec | undefined) =>
  JSON.stringify([spec?.holderIdentity, spec?.renewTime, spec?.leaseTransitions, spec?.leaseDurationSeconds]);

export class LeaderElector {
  private leading = false;
  private lastRenewAt = 0;
  private observed = '';
  private observedAt = 0;
  private holder: string | null = null;
  private lease: Lease | null = null; // as last read or written
  private timer: unknown = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private failing = false;

  constructor(private readonly options: ElectorOptions) {}

  /** Leader now: it holds the Lease and renewed it less than the renew deadline ago. */
  isLeader(): boolean {
    return this.leading && this.options.clock.now() - this.lastRenewAt < this.options.timing.renewDeadlineMs;
  }

  /** Who holds the Lease as last seen ('' for nobody, null before the first read). */
  get currentHolder(): string | null {
    return this.holder;
  }

  start(): void {
    if (this.stopped || this.running || this.timer !== null) return;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = null;
      this.running = this.tick().finally(() => {
        this.running = null;
      });
    }, ms);
  }

  private async tick(): Promise<void> {
    const { clock, timing } = this.options;
    let held = false;
    try {
      held = await this.tryAcquireOrRenew();
      if (this.failing)
        this.options.log('info', `Lease ${this.options.leaseName} reachable again`, { event: 'lease_ok' });
      this.failing = false;
    } catch (error) {
      if (!this.failing)
        this.options.log('warn', `Lease ${this.options.leaseName}: ${(error as Error).message}; retrying`, {
          event: 'lease_failed',
        });
      this.failing = true;
    }
    if (this.stopped) return;
    if (held) {
      this.lastRenewAt = clock.now();
      if (!this.leading) {
        this.leading = true;
        this.options.log('info', `became the leader (Lease ${this.options.leaseName}): writing Ingress status`, {
          event: 'leader_elected',
          identity: this.options.identity,
        });
        this.options.onStartedLeading?.();
      }
    } else if (this.leading) {
      const takenOver = this.holder !== null && this.holder !== this.options.identity;
      if (takenOver || clock.now() - this.lastRenewAt >= timing.renewDeadlineMs) this.lose(takenOver);
    }
    const jitter = this.leading ? 0 : (this.options.random ?? Math.random)() * 1.2;
    this.schedule(timing.retryPeriodMs * (1 + jitter));
  }

  private lose(takenOver: boolean): void {
    this.leading = false;
    const why = takenOver ? `${this.holder} holds it now` : `not renewed for ${this.options.timing.renewDeadlineMs} ms`;
    this.options.log('warn', `no longer the leader (Lease ${this.options.leaseName}: ${why})`, {
      event: 'leader_lost',
      identity: this.options.identity,
    });
    this.options.onStoppedLeading?.();
  }

  private observe(lease: Lease | null): void {
    const record = recordOf(lease?.spec);
    if (record !== this.observed) {
      this.observed = record;
      this.observedAt = this.options.clock.now();
    }
    this.lease = lease;
    const holder = lease?.spec?.holderIdentity ?? '';
    if (holder !== this.holder) {
      if (holder && holder !== this.options.identity)
        this.options.log('info', `the leader is ${holder} (Lease ${this.options.leaseName})`, {
          event: 'leader_observed',
          leader: holder,
        });
      this.holder = holder;
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, identity, clock, timing } = this.options;
    const lease = await client.get();
    if (this.stopped) return false;
    this.observe(lease);
    const attempt = nextAttempt({
      lease: lease?.spec ?? null,
      identity,
      now: clock.now(),
      observedAt: this.observedAt,
      leaseDurationSeconds: Math.max(1, Math.ceil(timing.leaseDurationMs / 1000)),
    });
    if (attempt.write === null) return false;
    const [namespace, name] = this.options.leaseName.split('/') as [string, string];
    try {
      const written =
        attempt.write === 'create' || !lease
          ? await client.create({
              apiVersion: 'coordination.k8s.io/v1',
              kind: 'Lease',
              metadata: { name, namespace },
              spec: attempt.spec,
            })
          : await client.update({ ...lease, spec: attempt.spec });
      this.observe(written);
      return true;
    } catch (error) {
      if (error instanceof LeaseConflict) return false; // another replica wrote first
      throw error;
    }
  }

  /**
   * Stops trying; a leader releases the Lease so that another replica takes over at its next try. Call it
   * once the leader's own last writes are done.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) this.options.clock.clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    if (!this.leading) return;
    this.leading = false;
    const lease = this.lease;
    if (lease?.spec?.holderIdentity === this.options.identity) {
      try {
        await this.options.client.update({ ...lease, spec: releasedSpec(lease.spec, this.options.clock.now()) });
        this.options.log('info', `released the Lease ${this.options.leaseName}`, {
          event: 'leader_released',
          identity: this.options.identity,
        });
      } catch (error) {
        // another replica holds it already, or the API is away: it expires after the TTL anyway
        this.options.log('warn', `could not release the Lease ${this.options.leaseName}: ${(error as Error).message}`, {
          event: 'lease_release_failed',
        });
      }
    }
    this.options.onStoppedLeading?.();
  }
}
