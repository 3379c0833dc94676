// The sync loop: a source notices a change -> debounce (min:max wait) -> the source loads what changed
// into the store -> either the endpoint fast path (Lua balancer: only Endpoints or EndpointSlices changed,
// their backends are pushed) or the whole plan, whose endpoints are pushed and whose text goes to the apply
// lane. Its parts live in src/sync/; all are injected (src/sync/assemble.ts wires the real ones for `run`),
// so the loop's decisions are unit tested with fakes and a hand-driven clock (test/controller.test.ts).
import { collectGarbage } from './collect-garbage.js';
import { Metrics } from './metrics.js';
import { servicesOf } from './model/endpoint-update.js';
import type { Model } from './model/index.js';
import type { Problem } from './resources.js';
import type { StoreChange } from './store.js';
import { ApplyLane, BIG_CONFIG_BYTES } from './sync/apply-lane.js';
import { type Clock, settleWithin, systemClock } from './sync/clock.js';
import { Debouncer } from './sync/debounce.js';
import { EndpointPush } from './sync/endpoint-push.js';
import { followRestarts } from './sync/nginx-restarts.js';
import type { ControllerParts } from './sync/parts.js';
import { ProblemReporter } from './sync/problem-reporter.js';
import { Readiness, type Verdict } from './sync/readiness.js';

// what stop() waits at most for the source, the sync and the apply in progress
const STOP_WAIT_MS = 3000;

export class Controller {
  readonly metrics: Metrics;
  // read by the status server (src/sync/assemble.ts)
  readonly push: EndpointPush | null;
  readonly readiness: Readiness;
  readonly reporter: ProblemReporter;
  readonly lane: ApplyLane;
  private readonly debounce: Debouncer;
  private readonly clock: Clock;
  private syncing: Promise<void> | null = null;
  private again = false; // a sync was asked for while one ran
  private againForced = false;
  private rescan = false; // the next sync looks at everything the source has
  private stopped = false;
  private current: { model: Model; problems: Problem[] } | null = null; // the newest plan, endpoints kept current
  private resolveTimer: unknown = null;
  private server: { close(): Promise<void> } | null = null;

  constructor(private readonly parts: ControllerParts) {
    const { nginx, applier, log, timing } = parts;
    this.clock = parts.clock ?? systemClock;
    this.metrics = parts.metrics ?? new Metrics();
    const { clock, metrics } = this;
    const readiness = new Readiness({ nginx, applier, pushes: Boolean(parts.pusher), clock });
    const reporter = new ProblemReporter({ log, metrics, liveHash: () => applier.live?.hash });
    const push = parts.pusher
      ? new EndpointPush(parts.pusher, { nginx, applier, readiness, metrics, log, clock })
      : null;
    this.readiness = readiness;
    this.reporter = reporter;
    this.push = push;
    const { minReloadIntervalMs } = timing;
    const observers = parts.observers ?? [];
    const onApplied = (model: Model) => {
      for (const observer of observers) observer.applied?.(model);
    };
    this.lane = new ApplyLane({
      ...{ applier, nginx, readiness, push, reporter, metrics, log, clock },
      minReloadIntervalMs,
      onApplied,
    });
    this.debounce = new Debouncer(timing.minWaitMs, timing.maxWaitMs, () => void this.runSync(false), clock);
    followRestarts({ nginx, applier, readiness, push, metrics, clock, resync: () => void this.runSync(true) });
  }

  /** Serve status, start the sources, and sync once: resolves when nginx runs the first config. */
  async start(): Promise<void> {
    this.server = (await this.parts.serve?.(this)) ?? null;
    this.parts.source.start(() => this.changed());
    const { resolveIntervalMs } = this.parts.timing;
    this.resolveTimer = this.clock.setInterval(() => void this.refreshNames(), resolveIntervalMs);
    await this.runSync(true);
  }

  ready(): Verdict {
    return this.readiness.verdict();
  }

  /** Schedule a sync: minWait after the latest change, but no later than maxWait after the first. */
  private changed(): void {
    if (!this.stopped) this.debounce.note();
  }

  private async runSync(force: boolean): Promise<void> {
    if (this.syncing) {
      this.again = true;
      this.againForced ||= force;
      return this.syncing;
    }
    const seenAt = this.debounce.take();
    // a sync that throws (a file that cannot be read, the endpoint fast path, a push) is reported and
    // counted like any failed sync; the loop goes on and nginx keeps the last good state
    this.syncing = this.sync(force, seenAt)
      .catch((error: unknown) => this.reporter.failed(error instanceof Error ? error : new Error(String(error))))
      .finally(() => {
        this.syncing = null;
      });
    await this.syncing;
    if (this.again && !this.stopped) {
      this.again = false;
      if (this.againForced) {
        this.againForced = false;
        void this.runSync(true);
      } else {
        this.rescan = true;
        this.changed();
      }
    }
  }

  private async sync(force: boolean, seenAt: number): Promise<void> {
    const started = process.hrtime.bigint();
    this.metrics.syncs++;
    const full = force || this.rescan;
    this.rescan = false;
    const changed = await this.parts.source.load(full);
    const changes = this.parts.store.takeChanges();
    try {
      if (!changed && !force && this.parts.applier.live && this.parts.nginx.running) return;
      if (!force && (await this.endpointsOnly(changes, seenAt))) return;
      await this.rebuild(force, seenAt);
    } finally {
      this.metrics.lastSyncSeconds = secondsSince(started);
    }
  }

  /**
   * The endpoint fast path: when only Endpoints or EndpointSlices changed (Lua balancer), the model is
   * patched for those Services and their backends are pushed: no plan, no render, and never waiting for
   * an nginx -t or a reload in progress. False: a full plan is needed.
   */
  private async endpointsOnly(changes: StoreChange[], seenAt: number): Promise<boolean> {
    const services = this.push && this.current ? servicesOf(changes) : null;
    if (!services || !this.push || !this.current) return false;
    const update = this.parts.planner.patchEndpoints(this.current.model, this.parts.store, services);
    if (!update) return false;
    this.metrics.endpointSyncs++;
    this.current = { model: update.model, problems: this.current.problems };
    this.report(this.current.problems);
    await this.push.changed(update.changed, seenAt);
    return true;
  }

  /** The whole plan: its problems reported, its endpoints pushed, its text handed to the apply lane. */
  private async rebuild(force: boolean, seenAt: number): Promise<void> {
    const started = process.hrtime.bigint();
    const planned = await this.parts.planner.plan(this.parts.store, this.current?.model ?? null).catch((error) => {
      this.reporter.failed(error as Error);
      return null;
    });
    if (!planned) return;
    const { model, problems, text, hash } = planned;
    this.report(problems);
    this.metrics.buildRenderSeconds = secondsSince(started);
    this.current = { model, problems };
    const withheld = model.backends.flatMap((backend) => (backend.withheld ? [backend.withheld] : []));
    this.metrics.backendsOverLimit = withheld.filter((held) => held.overLimit !== undefined).length;
    this.metrics.endpointsRefused = withheld.reduce((sum, held) => sum + held.refused, 0);
    // thousands of Ingresses: give back the garbage of the load, build and render at once (src/collect-garbage.ts)
    if (text.length > BIG_CONFIG_BYTES) collectGarbage();
    // endpoints go out at once, also ahead of a reload that will start routing to new backends
    await this.push?.all(model, seenAt);
    const applying = this.lane.offer({ text, hash, model, seenAt });
    // the first sync (start-up) and forced ones (a restart) finish with nginx running the result
    if (force) await applying;
  }

  /** The problems of loading and of the plan. */
  private report(planProblems: Problem[]): void {
    const { source } = this.parts;
    const problems = [...source.problems(), ...planProblems];
    this.reporter.report(problems, source.rejectedCount());
    for (const observer of this.parts.observers ?? []) observer.problems?.(problems);
  }

  private async refreshNames(): Promise<void> {
    if (await this.parts.planner.namesChanged()) {
      this.parts.log('info', 'ExternalName addresses changed', { event: 'dns_changed' });
      await this.runSync(true);
    }
  }

  /** For an exit that cannot wait for stop(): our own nginx is told to quit at once (a sidecar's is not ours). */
  terminateNginx(): void {
    this.parts.nginx.terminate();
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopped = true;
    this.debounce.cancel();
    if (this.resolveTimer !== null) this.clock.clearInterval(this.resolveTimer);
    this.lane.stop();
    this.push?.stop();
    const sourceStopped = this.parts.source.stop();
    // a sync or an apply that hangs (a file system that never answers) must not keep nginx from stopping
    await settleWithin(sourceStopped, STOP_WAIT_MS, this.clock);
    await settleWithin(this.syncing, STOP_WAIT_MS, this.clock);
    await settleWithin(this.lane.busy, STOP_WAIT_MS, this.clock);
    // the Lease is handed over and the last Events written while nginx still serves
    const observers = (this.parts.observers ?? []).map((observer) => observer.stop?.());
    await settleWithin(Promise.all(observers), STOP_WAIT_MS, this.clock);
    await this.parts.nginx.stop(timeoutMs);
    await this.server?.close();
  }
}

function secondsSince(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}
