// Which Kubernetes Events to write about Ingresses, and when, decided without I/O (src/publish/events.ts does
// the writing), so that the rules against event storms are unit tested with a hand-driven clock:
// - a Warning per distinct problem of an Ingress (object, type, reason, message), written once while the
//   problem lasts; a problem that goes away and comes back is the same Event counted again (a PATCH of its
//   count and lastTimestamp, as client-go's record package does for a repeat), or a new one once forgotten;
// - a Normal Sync when nginx comes to serve an Ingress, or a new version of it, except on the first config
//   after start (a restart or rollout with 10,000 Ingresses would write 10,000 Events per replica);
// - at most `burst` Events per Ingress and type, then one per `refillMs` (client-go's spam filter: 25, then one
//   per 5 minutes), and at most `maxPending` Events waiting to be written; beyond that they are dropped and
//   counted (client-go's broadcaster drops beyond its queue of 1,000 too).
import type { Model } from '../model/index.js';
import type { Ingress, Problem } from '../resources.js';

export type EventType = 'Normal' | 'Warning';

/** The Ingress an Event is about; no uid when it never passed the schema (the store does not hold it). */
export interface IngressRef {
  namespace: string;
  name: string;
  uid?: string;
}

export interface EventIntent {
  /** intents with the same key are the same Event (client-go's event key; our source is always the same) */
  key: string;
  ingress: IngressRef;
  type: EventType;
  reason: string;
  message: string;
}

/**
 * Reasons: Sync and AnnotationParsingFailed are ingress-nginx's (its only reasons on an Ingress); ingress-nginx
 * had none for the rest, which its admission webhook refused or it only logged.
 */
export const REASON = {
  /** Normal: nginx serves this Ingress as it now is */
  sync: 'Sync',
  /** an annotation refused or ignored (ingress-nginx: "Error parsing annotations") */
  annotation: 'AnnotationParsingFailed',
  /** an error anywhere else: the object refused by the schema (its last good version kept), a path refused */
  rejected: 'Rejected',
  /** a warning anywhere else: served, but not all as written (a missing Service answering 503, say) */
  degraded: 'Degraded',
} as const;

/** ingress-nginx wrote "Scheduled for sync" before syncing; this one is written once nginx runs the config. */
export const SYNC_MESSAGE = 'Synced: nginx serves this version of the Ingress';

/** The API's limit on an Event's note (events.k8s.io; core/v1 takes longer ones, kubectl shows them whole). */
export const MAX_MESSAGE = 1024;

const INGRESS_OBJECT = /^Ingress ([^/\s]+)\/(\S+)$/;

/** The Ingress a problem names ("Ingress namespace/name"), if it names one. */
export function ingressOf(problem: Problem): { namespace: string; name: string } | null {
  const match = problem.object ? INGRESS_OBJECT.exec(problem.object) : null;
  return match ? { namespace: match[1]!, name: match[2]! } : null;
}

export function reasonFor(problem: Problem): string {
  if (problem.field?.startsWith('metadata.annotations')) return REASON.annotation;
  return problem.severity === 'error' ? REASON.rejected : REASON.degraded;
}

/** The field, then what is wrong with it, cut at the API's limit. */
export function messageFor(problem: Problem): string {
  const text = problem.field ? `${problem.field}: ${problem.message}` : problem.message;
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 3)}...` : text;
}

function intent(ingress: IngressRef, type: EventType, reason: string, message: string): EventIntent {
  const key = JSON.stringify([ingress.namespace, ingress.name, ingress.uid ?? '', type, reason, message]);
  return { key, ingress, type, reason, message };
}

/**
 * One Warning per distinct problem naming an Ingress. uidOf: the uid of the Ingress the store holds; part of
 * the key, so that an Ingress deleted and created again with the same problem gets an Event of its own.
 */
export function warningIntents(
  problems: readonly Problem[],
  uidOf: (namespace: string, name: string) => string | undefined,
): EventIntent[] {
  const out = new Map<string, EventIntent>();
  for (const problem of problems) {
    const ref = ingressOf(problem);
    if (!ref) continue;
    const uid = uidOf(ref.namespace, ref.name);
    const wanted = intent(uid ? { ...ref, uid } : ref, 'Warning', reasonFor(problem), messageFor(problem));
    if (!out.has(wanted.key)) out.set(wanted.key, wanted);
  }
  return [...out.values()];
}

export function syncIntent(ingress: IngressRef): EventIntent {
  return intent(ingress, 'Normal', REASON.sync, SYNC_MESSAGE);
}

/** "namespace/name" of each Ingress with an error among these problems: no Sync is announced for those. */
export function ingressesWithErrors(problems: readonly Problem[]): Set<string> {
  const out = new Set<string>();
  for (const problem of problems) {
    const ref = problem.severity === 'error' ? ingressOf(problem) : null;
    if (ref) out.add(`${ref.namespace}/${ref.name}`);
  }
  return out;
}

/** "namespace/name" of every Ingress the model serves: its hosts and paths, default backends, canaries. */
export function servedIngresses(model: Model): Set<string> {
  const out = new Set<string>();
  for (const server of model.servers) {
    for (const id of server.ingresses) out.add(id);
    if (server.fallback.ingress) out.add(server.fallback.ingress);
    for (const location of server.locations) out.add(location.ingress);
  }
  for (const backend of model.backends) if (backend.canary) out.add(backend.canary.ingress);
  return out;
}

/**
 * Whether two versions of an Ingress say the same (uid, metadata, spec), wherever they were read. The store
 * keeps an unchanged Ingress as the same object, so the text is compared only for one read again (a relist).
 */
export function sameIngress(left: Ingress, right: Ingress): boolean {
  if (left === right) return true;
  const said = ({ source: _source, ...rest }: Ingress) => JSON.stringify(rest);
  return said(left) === said(right);
}

/**
 * Which served Ingresses are due a Sync: those served for the first time, or in a new version, since the last
 * one announced. The first call only records (no Events on start). An Ingress with an error is not announced,
 * and is announced once the error is gone (the fix is news even when it restores an announced version).
 */
export class ServedIngresses {
  // "namespace/name" -> the version announced: the store's own object while it is unchanged
  private readonly announced = new Map<string, Ingress>();
  private started = false;

  /** served: "namespace/name" -> each Ingress nginx now serves, as the store holds it. */
  update(served: ReadonlyMap<string, Ingress>, withErrors: ReadonlySet<string>): string[] {
    const due: string[] = [];
    for (const [id, ingress] of served) {
      if (withErrors.has(id)) {
        this.announced.delete(id);
        continue;
      }
      const before = this.announced.get(id);
      this.announced.set(id, ingress);
      if (this.started && !(before && sameIngress(before, ingress))) due.push(id);
    }
    // one that stops being served (deleted, another class) is news again when it comes back
    for (const id of this.announced.keys()) if (!served.has(id)) this.announced.delete(id);
    this.started = true;
    return due;
  }
}

/** An Event as written: its name and count, to count a repeat on it with a PATCH. */
export interface Written {
  name: string;
  count: number;
}

/** An Event to write now: previous, the same Event written before (PATCH it: count + 1), else a new one. */
export interface Emission {
  intent: EventIntent;
  previous?: Written;
}

export interface LedgerLimits {
  /** Events waiting to be written, at most; more are dropped and counted */
  maxPending: number;
  /** Events per Ingress and type written at once, at most ... */
  burst: number;
  /** ... then one more per this many ms */
  refillMs: number;
  /** Events (and per-Ingress buckets) remembered, least recently used forgotten first */
  historySize: number;
}

/** client-go's record package's figures: a 1,000-event queue, 25 then one per 5 min, an LRU of 4,096. */
export const DEFAULT_LIMITS: LedgerLimits = { maxPending: 1000, burst: 25, refillMs: 300_000, historySize: 4096 };

type Bucket = { tokens: number; at: number };

/** The Events wanted, waiting, being written and written: the decisions, fed by the recorder and its clock. */
export class EventLedger {
  // every current warning; its state: waiting, being written, or done (written, given up or dropped)
  private readonly warnings = new Map<string, { intent: EventIntent; state: 'pending' | 'sending' | 'done' }>();
  private readonly pending = new Set<string>(); // warning keys waiting, in arrival order
  private readonly once: EventIntent[] = []; // Sync events waiting, each written once
  private readonly history = new Map<string, Written>(); // least recently written first
  private readonly buckets = new Map<string, Bucket>(); // per Ingress and type, least recently used first
  private readonly limits: LedgerLimits;
  /** Events dropped because too many were waiting */
  dropped = 0;

  constructor(limits: Partial<LedgerLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  get waiting(): number {
    return this.pending.size + this.once.length;
  }

  /** The warnings of the latest sync: new ones wait to be written, those gone are forgotten (not their Event). */
  setWarnings(intents: readonly EventIntent[]): void {
    const current = new Set<string>();
    for (const wanted of intents) {
      current.add(wanted.key);
      if (this.warnings.has(wanted.key)) continue;
      if (this.waiting >= this.limits.maxPending) {
        // done without an Event: not tried again while the problem lasts
        this.warnings.set(wanted.key, { intent: wanted, state: 'done' });
        this.dropped++;
        continue;
      }
      this.warnings.set(wanted.key, { intent: wanted, state: 'pending' });
      this.pending.add(wanted.key);
    }
    for (const key of this.warnings.keys()) {
      if (current.has(key)) continue;
      this.warnings.delete(key);
      this.pending.delete(key);
    }
  }

  /** An Event written once (Sync), not kept as a state. */
  add(wanted: EventIntent): void {
    if (this.waiting >= this.limits.maxPending) this.dropped++;
    else this.once.push(wanted);
  }

  /**
   * The next Event to write now; or, when all that wait are throttled, when to look again; or null when none
   * waits. The one returned is being written until written() or failed() says how it went.
   */
  next(now: number): Emission | { retryAt: number } | null {
    let retryAt = Number.POSITIVE_INFINITY;
    for (const key of this.pending) {
      const entry = this.warnings.get(key)!;
      const wait = this.take(entry.intent, now);
      if (wait > 0) {
        retryAt = Math.min(retryAt, now + wait);
        continue;
      }
      this.pending.delete(key);
      entry.state = 'sending';
      return this.emission(entry.intent);
    }
    for (let i = 0; i < this.once.length; i++) {
      const wanted = this.once[i]!;
      const wait = this.take(wanted, now);
      if (wait > 0) {
        retryAt = Math.min(retryAt, now + wait);
        continue;
      }
      this.once.splice(i, 1);
      return this.emission(wanted);
    }
    return retryAt === Number.POSITIVE_INFINITY ? null : { retryAt };
  }

  /** The API holds the Event now (created, or its count patched). */
  written(wanted: EventIntent, written: Written): void {
    this.history.delete(wanted.key);
    this.history.set(wanted.key, written);
    this.trim(this.history);
    const entry = this.warnings.get(wanted.key);
    if (entry?.intent === wanted && entry.state === 'sending') entry.state = 'done';
  }

  /** Writing failed: retry, the Event waits again (if still wanted); else it is given up. */
  failed(wanted: EventIntent, retry: boolean): void {
    const entry = this.warnings.get(wanted.key);
    if (entry?.intent === wanted && entry.state === 'sending') {
      entry.state = retry ? 'pending' : 'done';
      if (retry) this.pending.add(wanted.key);
      return;
    }
    if (retry && wanted.type === 'Normal') {
      if (this.waiting >= this.limits.maxPending) this.dropped++;
      else this.once.unshift(wanted);
    }
  }

  /** The Event a PATCH found gone (expired from the API): the next one of this key is created anew. */
  forget(wanted: EventIntent): void {
    this.history.delete(wanted.key);
  }

  private emission(wanted: EventIntent): Emission {
    const previous = this.history.get(wanted.key);
    return previous ? { intent: wanted, previous } : { intent: wanted };
  }

  /** Takes a token of the Ingress and type: 0, or the ms until the next one. */
  private take(wanted: EventIntent, now: number): number {
    const { burst, refillMs } = this.limits;
    const { namespace, name, uid } = wanted.ingress;
    const key = JSON.stringify([namespace, name, uid ?? '', wanted.type]);
    const known = this.buckets.get(key);
    const bucket: Bucket = known
      ? { tokens: Math.min(burst, known.tokens + (now - known.at) / refillMs), at: now }
      : { tokens: burst, at: now };
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    this.trim(this.buckets);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) * refillMs));
  }

  private trim(map: Map<string, unknown>): void {
    while (map.size > this.limits.historySize) map.delete(map.keys().next().value!);
  }
}
