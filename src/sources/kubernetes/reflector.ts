// List then watch one kind of object, the way client-go's reflector does, and hand the objects to a
// consumer (the store side): replace() after every list, upsert()/remove() for watch events.
//
// Why our own loop and not client-node's ListWatch/informer (read in @kubernetes/client-node 1.4.0,
// dist/cache.js and dist/watch.js):
// - no pagination: it calls the list function it is given once and uses `items`; a 10,000-Ingress list is one
//   response, and a 410 on an expired `continue` token has no handling;
// - it never asks for bookmarks (no allowWatchBookmarks) and sends no timeoutSeconds, so the resourceVersion
//   it resumes from only moves when an object changes, and after a quiet hour that version is compacted away:
//   a needless relist on every reconnect;
// - a relist is not atomic: it diffs the new list against its cache and fires one delete callback per vanished
//   object and one add/update per object, so a consumer sees the set pass through intermediate states;
// - any error other than 410 (connection refused, 5xx, 429, a 401 from an expired token) calls the ERROR
//   callbacks and stops for good: the caller has to restart it, with no backoff or Retry-After;
// - stop() aborts the request, but an event already parsed from the same chunk is still delivered;
// - its Watch reads lines with readline and drops any line it cannot parse, silently.
// What it does right, and this loop keeps: resuming a watch that ended from the last resourceVersion seen.
// So we use client-node for configuration and credentials (KubeConfig, see config.ts) and run this
// loop on node's http/https.
import type { IncomingMessage } from 'node:http';
import { ApiClient, ApiStatusError } from './api-request.js';
import type { ApiConfig } from './config.js';
import { type KubeObject, WatchLineParser } from './watch-stream.js';

export type { KubeObject } from './watch-stream.js';

export interface ReflectorConsumer {
  /** the kind's whole set, after the first list and after every relist: one atomic swap */
  replace(objects: KubeObject[]): void;
  upsert(object: KubeObject): void;
  remove(object: KubeObject): void;
  /** called once, right after the first replace() */
  synced?(): void;
}

export interface ReflectorProblem {
  phase: 'list' | 'watch';
  message: string;
  /** the HTTP status (or the code of a watch ERROR event), when there was one */
  statusCode?: number;
  /** how long the loop waits before it tries again */
  retryInMs: number;
}

export interface ReflectorOptions {
  /** where the API is and the credentials to use (config.ts) */
  api: ApiConfig;
  /** the collection's path: /api/v1/namespaces/NS/services, /apis/networking.k8s.io/v1/ingresses, ... */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** objects per list page (default 500, client-go's) */
  pageSize?: number;
  /**
   * the server ends each watch after this many seconds (default: a random 5 to 10 minutes, as client-go
   * spreads them so that many watches do not reconnect at once)
   */
  watchTimeoutSeconds?: number;
  /** first retry delay (default 800 ms) and its cap (default 30 s); each delay is jittered up to twice */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** a list page that takes longer than this fails (default 60 s) */
  listTimeoutMs?: number;
  onProblem?: (problem: ReflectorProblem) => void;
}

/** A watch that ends this fast with no event is treated as a failure, so a server that closes at once is not hammered. */
const SHORT_WATCH_MS = 1000;

class ResourceExpired extends Error {}

class Stopped extends Error {}

/** a watch ERROR event other than 410: the server is in trouble, so wait before watching again */
class WatchErrorEvent extends Error {
  constructor(
    message: string,
    readonly statusCode: number | undefined,
  ) {
    super(message);
  }
}

export class Reflector {
  /** full list operations (the first and every relist); what the benchmark compares with the 410s seen */
  listCount = 0;
  /** list pages requested, retries included */
  listRequests = 0;
  watchRequests = 0;
  synced = false;
  private lastResourceVersion = '';
  private readonly client: ApiClient;
  private stopped = false;
  private abort = new AbortController();
  private loop: Promise<void> | null = null;
  private failures = 0;
  private phase: 'list' | 'watch' = 'list';
  private wakeUp: (() => void) | null = null;
  private syncWaiters: (() => void)[] = [];

  constructor(
    private readonly options: ReflectorOptions,
    private readonly consumer: ReflectorConsumer,
  ) {
    this.client = new ApiClient(options.api);
  }

  /** the resourceVersion the next watch starts from: the last list's, a later event's or bookmark's */
  get resourceVersion(): string {
    return this.lastResourceVersion;
  }

  start(): void {
    if (this.loop || this.stopped) return;
    this.loop = this.run();
  }

  /** resolves once the first list has been handed over (or at once after stop) */
  whenSynced(): Promise<void> {
    if (this.synced || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** Aborts the request in flight; no consumer call happens once this has been called. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wakeUp?.();
    for (const resolve of this.syncWaiters.splice(0)) resolve();
    await this.loop;
  }

  private async run(): Promise<void> {
    let mustList = true;
    while (!this.stopped) {
      try {
        if (mustList) {
          await this.list();
          mustList = false;
        }
        await this.watch();
      } catch (error) {
        if (this.stopped || error instanceof Stopped) break;
        if (error instanceof ResourceExpired) {
          // the version we hold is gone from etcd: only a fresh list can say what changed meanwhile
          mustList = true;
          continue;
        }
        // The API server answered the watch with an error of its own (an ERROR event other than 410, or a
        // status such as 500): watching the same version again may fail forever (a watch resumed next to
        // an etcd compaction answers 500 "PrevKv=nil" every time), so relist after the wait, as client-go
        // does. A network failure (refused, reset, cut) and a 429 watch the same version again: the server
        // was away or busy, not in trouble with that version.
        const relist =
          error instanceof WatchErrorEvent ||
          (this.phase === 'watch' && error instanceof ApiStatusError && error.statusCode !== 429);
        await this.backOff(error);
        if (relist) mustList = true;
      }
    }
  }

  private query(extra: Record<string, string>): string {
    const params = new URLSearchParams();
    if (this.options.labelSelector) params.set('labelSelector', this.options.labelSelector);
    if (this.options.fieldSelector) params.set('fieldSelector', this.options.fieldSelector);
    for (const [key, value] of Object.entries(extra)) params.set(key, value);
    return `${this.options.path}?${params.toString()}`;
  }

  /**
   * All pages, then one replace(). No resourceVersion on the first page: a consistent read (a list at "0"
   * from the watch cache ignores limit and may be older than what the consumer already has).
   */
  private async list(): Promise<void> {
    this.phase = 'list';
    this.listCount++;
    const pageSize = String(this.options.pageSize ?? 500);
    const objects: KubeObject[] = [];
    let continueToken = '';
    let resourceVersion = '';
    for (;;) {
      const extra: Record<string, string> = { limit: pageSize };
      if (continueToken) extra.continue = continueToken;
      this.listRequests++;
      let page: KubeList;
      try {
        page = JSON.parse(await this.readAll(this.query(extra))) as KubeList;
      } catch (error) {
        if (continueToken && error instanceof ApiStatusError && error.statusCode === 410) {
          // the token's snapshot was compacted while we paged: start the list over, as a new list
          this.options.onProblem?.({ phase: 'list', message: error.message, statusCode: 410, retryInMs: 0 });
          this.listCount++;
          objects.length = 0;
          continueToken = '';
          continue;
        }
        throw error;
      }
      const itemKind = page.kind?.replace(/List$/, '');
      for (const item of page.items ?? []) {
        // list items come without apiVersion and kind; watch events carry them, so give the list's ones
        objects.push(item.kind ? item : { apiVersion: page.apiVersion, kind: itemKind, ...item });
      }
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      continueToken = page.metadata?.continue ?? '';
      if (!continueToken) break;
    }
    if (this.stopped) throw new Stopped();
    this.lastResourceVersion = resourceVersion;
    this.failures = 0;
    this.deliver(() => this.consumer.replace(objects));
    if (!this.synced) {
      this.synced = true;
      this.deliver(() => this.consumer.synced?.());
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
  }

  private async readAll(pathAndQuery: string): Promise<string> {
    const response = await this.client.get(pathAndQuery, this.abort.signal, this.options.listTimeoutMs ?? 60_000);
    response.setEncoding('utf8');
    let body = '';
    for await (const chunk of response) body += chunk as string;
    if (!response.complete) throw new Error('list: connection closed before the whole response arrived');
    return body;
  }

  /**
   * One watch from the last resourceVersion. Returns when the server ends it (timeout, closed connection):
   * the caller simply watches again from the version reached. Throws ResourceExpired on 410.
   */
  private async watch(): Promise<void> {
    const timeoutSeconds = this.options.watchTimeoutSeconds ?? Math.floor(300 * (1 + Math.random()));
    this.phase = 'watch';
    this.watchRequests++;
    const started = Date.now();
    let response: IncomingMessage;
    try {
      response = await this.client.get(
        this.query({
          watch: '1',
          resourceVersion: this.lastResourceVersion,
          allowWatchBookmarks: 'true',
          timeoutSeconds: String(timeoutSeconds),
        }),
        this.abort.signal,
        (timeoutSeconds + 30) * 1000,
      );
    } catch (error) {
      if (error instanceof ApiStatusError && error.statusCode === 410) throw new ResourceExpired(error.message);
      throw error;
    }
    const parser = new WatchLineParser();
    let events = 0;
    try {
      for await (const chunk of response) {
        for (const event of parser.push(chunk as Buffer)) {
          if (this.stopped) throw new Stopped();
          events++;
          this.apply(event.type, event.object);
        }
      }
      for (const event of parser.end()) {
        if (this.stopped) throw new Stopped();
        events++;
        this.apply(event.type, event.object);
      }
    } catch (error) {
      response.destroy();
      if (error instanceof ResourceExpired || error instanceof WatchErrorEvent) throw error;
      if (error instanceof Stopped || this.stopped) throw error;
      // a connection cut in the middle of a watch is a watch that ended: resume from where it got
      if (events === 0 && Date.now() - started < SHORT_WATCH_MS) throw error;
      this.failures = 0;
      this.options.onProblem?.({ phase: 'watch', message: describe(error), retryInMs: 0 });
      return;
    }
    if (events === 0 && Date.now() - started < SHORT_WATCH_MS) {
      throw new Error('watch closed by the server in under a second with no event');
    }
    this.failures = 0;
  }

  private apply(type: string, object: KubeObject): void {
    if (type === 'ERROR') {
      const status = object as { code?: number; reason?: string; message?: string };
      if (status.code === 410 || status.reason === 'Expired' || status.reason === 'Gone') {
        throw new ResourceExpired(status.message ?? 'resourceVersion expired');
      }
      throw new WatchErrorEvent(`watch ERROR event: ${status.message ?? JSON.stringify(object)}`, status.code);
    }
    const version = object.metadata?.resourceVersion;
    if (type === 'ADDED' || type === 'MODIFIED') this.deliver(() => this.consumer.upsert(object));
    else if (type === 'DELETED') this.deliver(() => this.consumer.remove(object));
    if (version) this.lastResourceVersion = version;
  }

  /**
   * A consumer that throws is reported and the loop goes on: watching the same version again would only
   * replay the event that made it throw.
   */
  private deliver(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.options.onProblem?.({ phase: this.phase, message: `consumer: ${describe(error)}`, retryInMs: 0 });
    }
  }

  private async backOff(error: unknown): Promise<void> {
    const initial = this.options.initialBackoffMs ?? 800;
    const cap = this.options.maxBackoffMs ?? 30_000;
    const exponential = Math.min(cap, initial * 2 ** this.failures);
    this.failures++;
    // full jitter above the base, as client-go's wait.Jitter(duration, 1.0): between 1x and 2x, capped
    let delay = Math.min(cap, exponential * (1 + Math.random()));
    const statusCode = (error as { statusCode?: number }).statusCode;
    if (error instanceof ApiStatusError && error.retryAfterSeconds !== undefined) {
      delay = Math.min(cap, Math.max(error.retryAfterSeconds * 1000, initial));
    }
    this.options.onProblem?.({
      phase: this.phase,
      message: describe(error),
      ...(statusCode === undefined ? {} : { statusCode }),
      retryInMs: Math.round(delay),
    });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delay);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeUp = null;
  }
}

interface KubeList {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: KubeObject[];
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
