// What the sync loop (src/controller.ts) is made of, each injected: src/sync/assemble.ts passes the real
// ones for `run`, test/controller.test.ts fakes (test/helpers/sync-fakes.ts) and a hand-driven clock.
import type { Controller } from '../controller.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Model } from '../model/index.js';
import type { NginxHandle } from '../nginx/process.js';
import type { Problem } from '../resources.js';
import type { Store } from '../store.js';
import type { ConfigApplier } from './apply-lane.js';
import type { Clock } from './clock.js';
import type { PusherFactory } from './endpoint-push.js';
import type { SyncPlanner } from './planner.js';
import type { Source } from './source.js';

export interface Timing {
  minWaitMs: number; // quiet time after the last change before a sync
  maxWaitMs: number; // a steady trickle of changes cannot postpone a sync longer than this
  minReloadIntervalMs: number; // reloads are spaced at least this far apart; endpoint pushes never wait
  resolveIntervalMs: number; // ExternalName targets are resolved again this often
}

export interface ControllerParts {
  source: Source; // several: combineSources() (src/sync/source.ts)
  store: Store; // what the source loads into and the planner reads
  planner: SyncPlanner;
  nginx: NginxHandle;
  applier: ConfigApplier;
  pusher?: PusherFactory; // the Lua balancer: endpoints are pushed to nginx
  timing: Timing;
  log: Logger;
  metrics?: Metrics;
  clock?: Clock;
  /** Told what the loop did; each one's own I/O (Ingress status, Kubernetes Events) stays out of the loop. */
  observers?: SyncObserver[];
  /** Called by start() before the sources start (the status server); closed by stop(). */
  serve?: (controller: Controller) => Promise<{ close(): Promise<void> }>;
}

/**
 * Told what the loop did, for the parts that write back to the cluster (src/sync/assemble.ts): they must
 * not block the loop, so each call returns at once and does its I/O on its own.
 */
export interface SyncObserver {
  /** The problems of every sync (loading and plan), also when they did not change. */
  problems?(problems: Problem[]): void;
  /** nginx runs the config of this model (reloaded, started, adopted, or already running it). */
  applied?(model: Model): void;
  /** The controller stops: finish or give up what is in flight, release what is held. */
  stop?(): Promise<void>;
}
