// The apply lane: nginx -t, reload, confirm, for the newest rendered text, one at a time and at least
// --min-reload-interval apart. Syncs and endpoint pushes go on meanwhile; a text rendered while one is
// being applied replaces any other still waiting, so a burst of changes becomes one more reload.
import { collectGarbage } from '../collect-garbage.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Model } from '../model/index.js';
import type { Applier } from '../nginx/apply.js';
import type { NginxHandle } from '../nginx/process.js';
import type { Clock } from './clock.js';
import type { EndpointPush } from './endpoint-push.js';
import type { ProblemReporter } from './problem-reporter.js';
import type { Readiness } from './readiness.js';

// thousands of Ingresses: give the garbage of a big apply back at once (src/collect-garbage.ts)
export const BIG_CONFIG_BYTES = 1 << 20;

/** What the lane needs of src/nginx/apply.ts's Applier (a fake in unit tests). */
export type ConfigApplier = Pick<
  Applier,
  'live' | 'confPath' | 'lastTestSeconds' | 'lastReloadSeconds' | 'apply' | 'confirmLive'
>;

export interface Candidate {
  text: string;
  hash: string;
  model: Model;
  seenAt: number; // when the first change it carries was noticed
}

export interface ApplyLaneOptions {
  applier: ConfigApplier;
  nginx: NginxHandle;
  readiness: Readiness;
  push: EndpointPush | null;
  reporter: ProblemReporter;
  metrics: Metrics;
  log: Logger;
  clock: Clock;
  minReloadIntervalMs: number;
  /** nginx runs the config of this model. */
  onApplied?: (model: Model) => void;
}

export class ApplyLane {
  private wanted: Candidate | null = null; // the newest rendered text not yet handed to nginx
  private draining: Promise<void> | null = null;
  private lastReloadAt = 0;
  private pause: { timer: unknown; wake: () => void } | null = null;
  private stopped = false;
  /** The model of the config last handed to nginx. */
  applied: Model | null = null;

  constructor(private readonly options: ApplyLaneOptions) {}

  /** Apply this text next (instead of any still waiting); resolves when the lane has nothing left to do. */
  offer(candidate: Candidate): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.wanted = candidate;
    this.draining ??= this.drain();
    return this.draining;
  }

  /** The work in progress, if any. */
  get busy(): Promise<void> | null {
    return this.draining;
  }

  /** Nothing more is applied; a wait for the reload interval ends now. */
  stop(): void {
    this.stopped = true;
    if (this.pause) this.options.clock.clearTimeout(this.pause.timer);
    this.pause?.wake();
  }

  private async drain(): Promise<void> {
    const { applier, nginx, readiness, clock, minReloadIntervalMs } = this.options;
    try {
      while (this.wanted && !this.stopped) {
        const candidate = this.wanted;
        if (applier.live?.hash !== candidate.hash && nginx.running) {
          const wait = this.lastReloadAt + minReloadIntervalMs - clock.now();
          if (wait > 0) {
            await new Promise<void>((resolve) => {
              this.pause = { timer: clock.setTimeout(resolve, wait), wake: resolve };
            });
            this.pause = null;
            continue; // a newer text may have arrived meanwhile
          }
        }
        this.wanted = null;
        // nginx not known to run the live config (a restart from another file): apply even if unchanged
        const force = applier.live !== null && nginx.running && !readiness.current;
        await this.apply(candidate, force);
      }
    } finally {
      this.draining = null;
    }
  }

  private async apply(candidate: Candidate, force: boolean): Promise<void> {
    const { applier, nginx, readiness, push, reporter, metrics, log, clock } = this.options;
    const { text, hash, model, seenAt } = candidate;
    try {
      const result = await applier.apply(text, hash, model.certificates, model.files, force).finally(() => {
        if (applier.lastTestSeconds !== null) metrics.configTestSeconds = applier.lastTestSeconds;
      });
      this.applied = model;
      if (result === 'pending') {
        // nginx is down: an external one reads the file when it starts; ours waits out its restart backoff
        const { event, waiting, applied } = nginx.whileDown;
        log('info', `wrote ${applier.confPath} (config ${hash.slice(0, 12)}); ${waiting}`, { event, hash });
        if (!applied) return;
      } else nginx.noteConfirmed(hash);
      reporter.succeeded();
      this.options.onApplied?.(model);
      if (result === 'adopted') {
        readiness.confirmed();
        metrics.configHash = hash;
        log('info', `nginx already runs config ${hash.slice(0, 12)}: adopted without a reload`, {
          event: 'adopted',
          hash,
        });
        await push?.resend(seenAt);
      } else if (result === 'started' || result === 'reloaded') {
        this.lastReloadAt = clock.now();
        readiness.confirmed();
        if (applier.lastReloadSeconds !== null) metrics.reloadSeconds = applier.lastReloadSeconds;
        // a reload keeps the shared dict, a start begins empty: push the whole set after both
        await push?.resend(seenAt);
        metrics.reloads++;
        metrics.lastReloadSuccessTimestamp = Math.floor(clock.now() / 1000);
        metrics.configHash = hash;
        log(
          'info',
          `nginx ${result} with config ${hash.slice(0, 12)} (${model.servers.length} servers, ${model.backends.length} backends)`,
          {
            event: result === 'started' ? 'nginx_started' : 'reload',
            hash,
            servers: model.servers.length,
            backends: model.backends.length,
          },
        );
        if (text.length > BIG_CONFIG_BYTES) collectGarbage(); // the full push and the apply's copies
      } else if (result === 'unchanged' && force && !readiness.current && nginx.running) {
        readiness.confirmed();
      }
    } catch (error) {
      reporter.failed(error as Error);
    }
  }
}
