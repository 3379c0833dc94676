// Kubernetes Events about Ingresses, written back to the cluster in API mode, where `kubectl describe ingress`
// users look: a Warning per problem the controller reports about an Ingress, a Normal Sync when nginx comes to
// serve a new or changed one. What to write and when is decided in event-decisions.ts; this is the I/O: one
// request at a time, off the sync loop (each observer call returns at once), through ApiConfig.request.
//
// Every replica writes its own (as ingress-nginx's did): each one's nginx and checks give their own verdict,
// and a replica reports without needing the Lease. source.host and reportingInstance (POD_NAME) tell them apart.
//
// The API refusing (403: the role lacks create or patch on events) is logged once, and no Event is tried
// for FORBIDDEN_PAUSE_MS; an API that does not answer is retried with a growing pause. Neither ever holds up
// a sync: the ledger keeps at most its maxPending Events waiting, and what waits is what is still wanted.
import crypto from 'node:crypto';
import os from 'node:os';
import type { Logger } from '../log.js';
import type { Model } from '../model/index.js';
import type { Ingress, Problem } from '../resources.js';
import type { ApiConfig } from '../sources/kubernetes/config.js';
import { type Clock, systemClock } from '../sync/clock.js';
import type { SyncObserver } from '../sync/parts.js';
import {
  type Emission,
  EventLedger,
  type EventIntent,
  type IngressRef,
  ingressesWithErrors,
  type LedgerLimits,
  ServedIngresses,
  servedIngresses,
  syncIntent,
  warningIntents,
  type Written,
} from './event-decisions.js';

/** source.component and reportingComponent of every Event written. */
export const COMPONENT = 'ingress-templater';
const INGRESS_API_VERSION = 'networking.k8s.io/v1';

/** After a 403, how long no Event is tried (RBAC may be fixed meanwhile). */
export const FORBIDDEN_PAUSE_MS = 10 * 60_000;
/** An API that does not answer: the pause before the next try, doubling from the first to at most the last. */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 5 * 60_000;
/** One request's deadline. */
const REQUEST_MS = 10_000;
/** stop(): how long the Events still waiting may take to be written. */
const STOP_DRAIN_MS = 2000;
const MAX_BODY = 64 * 1024;

export interface EventRecorderOptions {
  api: ApiConfig;
  /** The Ingress the store holds now (its uid, what it says); src/sync/assemble.ts passes the store's. */
  ingress: (namespace: string, name: string) => Ingress | undefined;
  log: Logger;
  /** POD_NAME: source.host and reportingInstance (the host name when not set) */
  podName?: string;
  /** Normal Sync Events; --disable-sync-events turns them off (Warnings are still written) */
  syncEvents: boolean;
  clock?: Clock;
  limits?: Partial<LedgerLimits>;
}

interface Reply {
  status: number;
  body: string;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** RFC 3339 to the second, as the API writes an Event's timestamps. */
function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function statusMessage(body: string): string {
  try {
    const status = JSON.parse(body) as { message?: unknown };
    if (typeof status.message === 'string') return status.message;
  } catch {
    // not a Status
  }
  return body.slice(0, 200) || '(no body)';
}

export class EventRecorder implements SyncObserver {
  private readonly ledger: EventLedger;
  private readonly served = new ServedIngresses();
  private readonly clock: Clock;
  private readonly abort = new AbortController();
  private withErrors = new Set<string>();
  private busy = false; // a drain() runs
  private draining: Promise<void> = Promise.resolve();
  private pausedUntil = 0;
  private wake: { at: number; timer: unknown } | null = null;
  private failures = 0; // consecutive unanswered attempts
  private closing = false; // stop() called: nothing new is taken
  private stopped = false; // nothing more is written
  private sequence = 0;
  private droppedSaid = 0; // the ledger's drops already logged
  /** Events created, Events whose count was patched, Events given up (refused by the API) */
  readonly stats = { created: 0, patched: 0, givenUp: 0 };

  constructor(private readonly options: EventRecorderOptions) {
    this.ledger = new EventLedger(options.limits);
    this.clock = options.clock ?? systemClock;
  }

  /** Events dropped because too many waited. */
  get dropped(): number {
    return this.ledger.dropped;
  }

  problems(problems: Problem[]): void {
    if (this.closing) return;
    const uidOf = (namespace: string, name: string) => this.options.ingress(namespace, name)?.meta.uid;
    this.ledger.setWarnings(warningIntents(problems, uidOf));
    this.withErrors = ingressesWithErrors(problems);
    this.sayDrops();
    this.kick();
  }

  applied(model: Model): void {
    if (this.closing || !this.options.syncEvents) return;
    const served = new Map<string, Ingress>();
    for (const id of servedIngresses(model)) {
      const slash = id.indexOf('/');
      const ingress = this.options.ingress(id.slice(0, slash), id.slice(slash + 1));
      if (ingress) served.set(id, ingress);
    }
    for (const id of this.served.update(served, this.withErrors)) {
      const slash = id.indexOf('/');
      const [namespace, name] = [id.slice(0, slash), id.slice(slash + 1)];
      const uid = this.options.ingress(namespace, name)?.meta.uid;
      this.ledger.add(syncIntent(uid ? { namespace, name, uid } : { namespace, name }));
    }
    this.sayDrops();
    this.kick();
  }

  /** Drops are logged with their total, once per sync that drops some. */
  private sayDrops(): void {
    const { dropped } = this.ledger;
    if (dropped === this.droppedSaid) return;
    this.options.log('warn', `events: ${dropped - this.droppedSaid} Event(s) dropped, too many waiting to be written`, {
      event: 'events_dropped',
      dropped: dropped - this.droppedSaid,
      total: dropped,
    });
    this.droppedSaid = dropped;
  }

  /** Writes what still waits for a moment, then gives up the rest and the request in flight. */
  async stop(): Promise<void> {
    this.closing = true;
    this.clearWake();
    const giveUp = this.clock.setTimeout(() => {
      this.stopped = true;
      this.abort.abort();
    }, STOP_DRAIN_MS);
    await this.draining;
    this.clock.clearTimeout(giveUp);
    this.stopped = true;
    this.clearWake();
  }

  private kick(): void {
    if (this.busy || this.stopped) return;
    if (this.clock.now() < this.pausedUntil) {
      this.wakeAt(this.pausedUntil);
      return;
    }
    this.busy = true;
    this.draining = this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (!this.stopped) {
        const now = this.clock.now();
        if (now < this.pausedUntil) {
          if (!this.closing) this.wakeAt(this.pausedUntil);
          return;
        }
        const next = this.ledger.next(now);
        if (!next) return;
        if ('retryAt' in next) {
          if (!this.closing) this.wakeAt(next.retryAt);
          return;
        }
        await this.write(next);
      }
    } catch (err) {
      // a bug of ours: said, and the recorder goes on at the next sync
      this.options.log('error', `events: ${errorText(err)}`, { event: 'events_failed' });
    } finally {
      // synchronously with the loop's end (also when it ends without waiting for anything): a kick() from
      // now on starts a new drain
      this.busy = false;
    }
  }

  private wakeAt(at: number): void {
    if (this.wake && this.wake.at <= at) return;
    this.clearWake();
    const timer = this.clock.setTimeout(
      () => {
        this.wake = null;
        this.kick();
      },
      Math.max(0, at - this.clock.now()),
    );
    (timer as { unref?: () => void }).unref?.();
    this.wake = { at, timer };
  }

  private clearWake(): void {
    if (this.wake) this.clock.clearTimeout(this.wake.timer);
    this.wake = null;
  }

  private async write({ intent, previous }: Emission): Promise<void> {
    const now = this.clock.now();
    try {
      if (previous) {
        const reply = await this.patch(intent, previous, now);
        if (reply.status !== 404) {
          this.answered(intent, reply, { ...previous, count: previous.count + 1 }, true);
          return;
        }
        // expired from the API (an Event lives an hour by default): a new one
        this.ledger.forget(intent);
      }
      const ingress = await this.withUid(intent);
      if (!ingress) {
        this.ledger.failed(intent, false); // the Ingress was deleted meanwhile
        return;
      }
      const name = this.eventName(intent.ingress.name, now);
      const reply = await this.post(intent, ingress, name, now);
      this.answered(intent, reply, { name, count: 1 }, false);
    } catch (err) {
      if (!this.stopped) this.unanswered(intent, errorText(err));
    }
  }

  private answered(intent: EventIntent, reply: Reply, written: Written, patched: boolean): void {
    const { log } = this.options;
    if (reply.status >= 200 && reply.status < 300) {
      if (this.failures > 0) log('info', 'events: the API answers again; writing Events', { event: 'events_resumed' });
      this.failures = 0;
      this.ledger.written(intent, written);
      if (patched) this.stats.patched++;
      else this.stats.created++;
      return;
    }
    const message = statusMessage(reply.body);
    if (reply.status === 403) {
      // the role lacks create or patch on events: said once per pause, not per Event
      log(
        'warn',
        `events: the API refuses to let this controller write Events (403: ${message}); its role needs create and patch on events; no Events for ${FORBIDDEN_PAUSE_MS / 60_000} min`,
        { event: 'events_forbidden', status: 403 },
      );
      this.pausedUntil = this.clock.now() + FORBIDDEN_PAUSE_MS;
      this.ledger.failed(intent, true);
      return;
    }
    if (reply.status === 401 || reply.status === 429 || reply.status >= 500) {
      this.unanswered(intent, `HTTP ${reply.status}: ${message}`);
      return;
    }
    // refused as written (422, a namespace being deleted, a name taken): trying again would be refused again
    this.stats.givenUp++;
    this.ledger.failed(intent, false);
    log('warn', `events: the API refused an Event about Ingress ${intent.ingress.namespace}/${intent.ingress.name}`, {
      event: 'event_refused',
      status: reply.status,
      reason: intent.reason,
      error: message,
    });
  }

  /** No answer, or one saying to come back later: the Event waits, and nothing is tried for a while. */
  private unanswered(intent: EventIntent, why: string): void {
    this.failures++;
    const pause = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (this.failures - 1));
    // jitter: the replicas of a controller do not all come back at once
    this.pausedUntil = this.clock.now() + Math.round(pause * (0.5 + Math.random() / 2));
    this.ledger.failed(intent, true);
    if (this.failures === 1) {
      this.options.log('warn', `events: cannot write Events: ${why}; trying again`, {
        event: 'events_unanswered',
      });
    }
  }

  /** client-go's name: the object's name and the time in nanoseconds in hex; a uuid when that is too long. */
  private eventName(ingressName: string, now: number): string {
    const nanos = BigInt(Math.floor(now)) * 1_000_000n + BigInt(this.sequence++ % 1_000_000);
    const name = `${ingressName}.${nanos.toString(16)}`;
    return name.length <= 253 ? name : crypto.randomUUID();
  }

  /**
   * The Ingress to name, uid included: kubectl describe finds an object's Events by kind, namespace, name and
   * uid. One refused by the schema since its creation is not in the store: its uid comes from a list of that
   * one name (the role lists Ingresses; it does not get them). Null: the Ingress is gone.
   */
  private async withUid(intent: EventIntent): Promise<IngressRef | null> {
    const { namespace, name, uid } = intent.ingress;
    if (uid) return intent.ingress;
    const selector = encodeURIComponent(`metadata.name=${name}`);
    const reply = await this.exchange(
      'GET',
      `/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/ingresses?fieldSelector=${selector}`,
    );
    if (reply.status !== 200) return intent.ingress; // written without a uid: kubectl get events still shows it
    try {
      const list = JSON.parse(reply.body) as { items?: { metadata?: { uid?: unknown } }[] };
      const found = list.items?.[0]?.metadata?.uid;
      if (!list.items?.length) return null;
      return typeof found === 'string' ? { ...intent.ingress, uid: found } : intent.ingress;
    } catch {
      return intent.ingress;
    }
  }

  private post(intent: EventIntent, ingress: IngressRef, name: string, now: number): Promise<Reply> {
    const { namespace } = intent.ingress;
    const instance = this.options.podName || os.hostname();
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        kind: 'Ingress',
        apiVersion: INGRESS_API_VERSION,
        namespace,
        name: intent.ingress.name,
        ...(ingress.uid ? { uid: ingress.uid } : {}),
      },
      type: intent.type,
      reason: intent.reason,
      message: intent.message,
      source: { component: COMPONENT, ...(this.options.podName ? { host: this.options.podName } : {}) },
      firstTimestamp: timestamp(now),
      lastTimestamp: timestamp(now),
      count: 1,
      reportingComponent: COMPONENT,
      reportingInstance: instance,
    };
    return this.exchange('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, JSON.stringify(event));
  }

  /** A repeat, as client-go counts one: the same Event's count and lastTimestamp (a strategic merge patch). */
  private patch(intent: EventIntent, previous: Written, now: number): Promise<Reply> {
    const { namespace } = intent.ingress;
    const body = JSON.stringify({ count: previous.count + 1, lastTimestamp: timestamp(now), message: intent.message });
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/events/${encodeURIComponent(previous.name)}`;
    return this.exchange('PATCH', path, body, 'application/strategic-merge-patch+json');
  }

  private async exchange(
    method: string,
    path: string,
    body?: string,
    contentType = 'application/json',
  ): Promise<Reply> {
    const response = await this.options.api.request(path, {
      method,
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': contentType }),
      },
      body,
      signal: this.abort.signal,
      deadlineMs: REQUEST_MS,
    });
    return new Promise((resolve, reject) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (text.length < MAX_BODY) text += chunk;
      });
      response.on('error', reject);
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
  }
}
