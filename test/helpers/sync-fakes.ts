// Fakes for the sync loop's parts (src/controller.ts, src/sync/): a clock that moves only when told, an
// nginx, an applier and a pusher that record what they are asked and answer as told, and a source that
// puts resources into a real Store. The loop's own parts (debouncer, apply lane, readiness, reporter)
// stay real: these tests exercise its decisions, not the fakes.
import { EventEmitter } from 'node:events';
import type { Logger } from '../../src/log.js';
import type { ApplyResult } from '../../src/nginx/apply.js';
import type { BackendPayload, PusherOptions, RefusedBackend } from '../../src/nginx/endpoints.js';
import type { NginxHandle, WhileDown } from '../../src/nginx/process.js';
import type { Problem, Resource } from '../../src/resources.js';
import { Store } from '../../src/store.js';
import type { ConfigApplier } from '../../src/sync/apply-lane.js';
import type { Clock } from '../../src/sync/clock.js';
import type { BackendPusher, PushEvents } from '../../src/sync/endpoint-push.js';
import type { Source } from '../../src/sync/source.js';

/** Lets every promise continuation queued so far run (and those they queue). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A clock that moves only when told; timers fire in order of their due time. */
export class FakeClock implements Clock {
  constructor(private time = 1_000_000) {}
  private timers: { at: number; fn: () => void; id: number; every?: number }[] = [];
  private nextId = 1;

  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.time + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  }
  setInterval(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.time + ms, fn, id, every: ms });
    return id;
  }
  clearInterval(handle: unknown): void {
    this.clearTimeout(handle);
  }
  /** Move time forward synchronously, firing the timers due on the way. */
  advanceSync(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const next = this.due(end);
      if (!next) break;
      next.fn();
    }
    this.time = end;
  }
  /** Move time forward, firing the timers due on the way and letting the work they start run. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await flush();
    for (;;) {
      const next = this.due(end);
      if (!next) break;
      next.fn();
      await flush();
    }
    this.time = end;
    await flush();
  }
  get pending(): number {
    return this.timers.length;
  }
  private due(end: number): { fn: () => void } | undefined {
    this.timers.sort((a, b) => a.at - b.at);
    const next = this.timers[0];
    if (!next || next.at > end) return undefined;
    this.time = next.at;
    if (next.every) next.at += next.every;
    else this.timers.shift();
    return next;
  }
}

/** A promise resolved or rejected from outside: holds a fake's answer until the test lets it go. */
export class Gate<T = void> {
  readonly promise: Promise<T>;
  open!: (value: T) => void;
  fail!: (error: Error) => void;
  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.open = resolve;
      this.fail = reject;
    });
  }
}

export interface LogRecord {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

export function recordingLog(): { log: Logger; records: LogRecord[]; events: (event: string) => LogRecord[] } {
  const records: LogRecord[] = [];
  return {
    log: (level, msg, fields = {}) => {
      records.push({ level, msg, fields });
    },
    records,
    events: (event) => records.filter((record) => record.fields.event === event),
  };
}

/**
 * An nginx that starts when told and dies when the test says so. Like ours (NginxProcess) by default;
 * sidecar: like an external one (starts on its own, polled for the hash it runs).
 */
export class FakeNginx extends EventEmitter implements NginxHandle {
  running = false;
  pid: number | undefined;
  restarts = 0;
  reloads = 0;
  stops = 0;
  terminations = 0;
  startFails = false; // its first start ends at once (say its port is taken)
  private crashed = false; // ours waits out its restart backoff: start() leaves the start to restart()
  settledHash: string | null | undefined;
  confirmedHashes: string[] = [];
  readonly whileDown: WhileDown;
  private nextPid = 100;

  constructor(readonly sidecar = false) {
    super();
    this.settledHash = sidecar ? null : undefined;
    this.whileDown = sidecar
      ? { event: 'waiting_for_nginx', waiting: 'waiting for the external nginx to start', applied: true }
      : { event: 'waiting_for_restart', waiting: 'nginx reads it when it restarts', applied: false };
  }
  get startedOnRequest(): boolean {
    return !this.sidecar && this.restarts === 0;
  }
  /** start() as apply() calls it; a sidecar's nginx is not started by us. */
  start(): void {
    if (this.sidecar || this.running || this.crashed) return;
    if (this.startFails) this.crashed = true;
    else this.up();
  }
  reload(): boolean {
    this.reloads++;
    return this.running;
  }
  noteConfirmed(hash: string): void {
    this.confirmedHashes.push(hash);
    if (this.sidecar) this.settledHash = hash;
  }
  async stop(): Promise<void> {
    this.stops++;
    this.running = false;
  }
  terminate(): void {
    this.terminations++;
  }
  /** It dies on its own. */
  die(): void {
    this.crashed = !this.sidecar;
    this.running = false;
    this.pid = undefined;
    this.emit('exited', 1, null);
  }
  /** It comes back on its own: ours restarted after a crash, or a sidecar's started by its container. */
  restart(): void {
    if (!this.sidecar || this.nextPid > 100) this.restarts++;
    this.crashed = false;
    this.up();
  }
  private up(): void {
    this.running = true;
    this.pid = this.nextPid++;
    this.emit('started', this.pid);
  }
}

export interface ApplyCall {
  text: string;
  hash: string;
  force: boolean;
  at: number;
}

/**
 * The applier's decisions as src/nginx/apply.ts makes them, without files or nginx -t: unchanged text on a
 * running nginx is 'unchanged', a stopped one is started ('started', or 'pending' when it stays down),
 * otherwise 'reloaded'. answer(): a test's own answer for one call (throw to refuse the config).
 */
export class FakeApplier implements ConfigApplier {
  readonly confPath = '/prefix/nginx.conf';
  live: { text: string; hash: string } | null = null;
  lastTestSeconds: number | null = null;
  lastReloadSeconds: number | null = null;
  calls: ApplyCall[] = [];
  runsLive = true; // what confirmLive() finds
  answer: ((call: ApplyCall) => Promise<ApplyResult | undefined>) | null = null;

  constructor(
    private readonly nginx: FakeNginx,
    private readonly clock: Clock,
  ) {}

  async apply(text: string, hash: string, _certs: unknown, _files: unknown, force = false): Promise<ApplyResult> {
    const call = { text, hash, force, at: this.clock.now() };
    this.calls.push(call);
    const answered = await this.answer?.(call);
    if (answered) return answered;
    if (this.live?.hash === hash && this.nginx.running && !force) return 'unchanged';
    this.lastTestSeconds = 0.01;
    if (this.nginx.running) {
      this.nginx.reload();
      this.live = { text, hash };
      this.lastReloadSeconds = 0.02;
      return 'reloaded';
    }
    this.nginx.start();
    if (!this.nginx.running) return 'pending';
    this.live = { text, hash };
    return 'started';
  }

  async confirmLive(): Promise<boolean> {
    return this.live !== null && this.runsLive;
  }

  /** The hashes given to apply(), in order. */
  get hashes(): string[] {
    return this.calls.map((call) => call.hash);
  }
}

export interface PushCall {
  kind: 'set' | 'update' | 'resend';
  names: string[];
  backends: BackendPayload[];
  mode?: 'send' | 'hold';
}

/** The pusher: records every call and acknowledges what it sends, unless told to fail. */
export class FakePusher implements BackendPusher {
  events!: PushEvents;
  calls: PushCall[] = [];
  resets = 0;
  stopped = false;
  failing: string | null = null; // every delivery fails with this message
  refusedNow = new Map<string, string>();

  readonly factory = (events: PushEvents): BackendPusher => {
    this.events = events;
    return this;
  };

  get refused(): ReadonlyMap<string, string> {
    return this.refusedNow;
  }
  async setBackends(backends: BackendPayload[], seenAt: number, mode: 'send' | 'hold' = 'send'): Promise<void> {
    this.calls.push({ kind: 'set', names: backends.map((backend) => backend.name), backends, mode });
    if (mode === 'send') this.deliver(seenAt, 'POST');
  }
  async updateBackends(backends: BackendPayload[], seenAt: number, mode: 'send' | 'hold' = 'send'): Promise<void> {
    this.calls.push({ kind: 'update', names: backends.map((backend) => backend.name), backends, mode });
    if (mode === 'send') this.deliver(seenAt, 'PATCH');
  }
  async resend(seenAt: number): Promise<void> {
    this.calls.push({ kind: 'resend', names: [], backends: [] });
    this.deliver(seenAt, 'POST');
  }
  reset(): void {
    this.resets++;
  }
  stop(): void {
    this.stopped = true;
  }
  refuse(refused: RefusedBackend[]): void {
    for (const refusal of refused) this.refusedNow.set(refusal.name, refusal.error);
    this.events.onRefused?.(refused, this.refusedNow);
  }
  of(kind: PushCall['kind']): PushCall[] {
    return this.calls.filter((call) => call.kind === kind);
  }
  private deliver(seenAt: number, method: Parameters<PusherOptions['onAck']>[1]): void {
    if (this.failing) this.events.onFailure(new Error(this.failing));
    else this.events.onAck(seenAt, method);
  }
}

/** A source whose changes the test makes: files of resources put into a real Store. */
export class FakeSource implements Source {
  onChange: (() => void) | null = null;
  loads: boolean[] = []; // the full flag of each load
  loadGate: Gate | null = null; // a load waits for it
  loadError: Error | null = null;
  stopped = false;
  sourceProblems: Problem[] = [];
  rejected = 0;
  private pending = new Map<string, Resource[] | null>();

  constructor(readonly store = new Store()) {}

  /** A file with these resources appears or changes (none: it is removed), and the source says so. */
  put(file: string, ...resources: Resource[]): void {
    this.pending.set(file, resources.length ? resources : null);
    this.onChange?.();
  }
  start(onChange: () => void): void {
    this.onChange = onChange;
  }
  async load(full: boolean): Promise<boolean> {
    this.loads.push(full);
    if (this.loadGate) await this.loadGate.promise;
    if (this.loadError) throw this.loadError;
    const changed = this.pending.size > 0;
    for (const [file, resources] of this.pending) {
      if (resources) this.store.setFile(file, { resources, rejected: [], parseFailed: false });
      else this.store.removeFile(file);
    }
    this.pending.clear();
    return changed;
  }
  problems(): Problem[] {
    return this.sourceProblems;
  }
  rejectedCount(): number {
    return this.rejected;
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
}
