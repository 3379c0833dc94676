// "Is nginx ready, and why not", in one place: /healthz answers from here, and the apply lane asks whether
// the running nginx instance is known to run the live config.
import type { NginxHandle } from '../nginx/process.js';
import type { Clock } from './clock.js';

// pushes failing this long (nginx answering but refusing, or not answering) make the controller not ready
export const PUSH_FAILING_UNREADY_MS = 10_000;

export interface ReadinessOptions {
  nginx: Pick<NginxHandle, 'running' | 'pid' | 'settledHash'>;
  applier: { readonly live: { hash: string } | null }; // the config nginx is known to run
  pushes: boolean; // the Lua balancer: endpoints are pushed, and nginx is not ready before the first push
  clock: Clock;
}

export interface Verdict {
  ok: boolean;
  reason: string;
}

export class Readiness {
  private confirmedPid: number | undefined; // the nginx instance seen running the live config
  private pushedPid: number | undefined; // the nginx instance that acknowledged a push
  private failingSince = 0; // the first failed push since the last acknowledged one
  private lastPushError = '';

  constructor(private readonly options: ReadinessOptions) {}

  /** The running nginx instance was seen to run the live config. */
  confirmed(): void {
    this.confirmedPid = this.options.nginx.pid;
  }

  /** nginx went away: nothing is confirmed until the next instance is. */
  lost(): void {
    this.confirmedPid = undefined;
  }

  /** Whether the running instance (or none, with none running) is the one confirmed. */
  get current(): boolean {
    return this.confirmedPid === this.options.nginx.pid;
  }

  pushAcknowledged(): void {
    this.pushedPid = this.options.nginx.pid;
    this.failingSince = 0;
  }

  pushFailed(message: string): void {
    if (!this.failingSince) this.failingSince = this.options.clock.now();
    this.lastPushError = message;
  }

  verdict(): Verdict {
    const { nginx, applier, pushes, clock } = this.options;
    const live = applier.live;
    if (!live) return { ok: false, reason: 'no configuration applied yet' };
    if (!nginx.running) return { ok: false, reason: 'nginx is not running' };
    if (this.confirmedPid === undefined || this.confirmedPid !== nginx.pid)
      return { ok: false, reason: 'nginx has not confirmed the configuration' };
    // ready once this nginx instance has had its first push; later pushes in flight do not count
    if (pushes && this.pushedPid !== nginx.pid) return { ok: false, reason: 'endpoints not pushed to nginx yet' };
    // nginx serves stale endpoints while pushes fail; a backend refused alone (reported) does not count:
    // one tenant's Service must not take the whole controller out of its Service
    const failingFor = clock.now() - this.failingSince;
    if (this.failingSince && failingFor >= PUSH_FAILING_UNREADY_MS) {
      return {
        ok: false,
        reason: `endpoint pushes to nginx failing for ${Math.round(failingFor / 1000)} s: ${this.lastPushError}`,
      };
    }
    // a sidecar's nginx is polled: a single poll during a reload may reach an old or a new worker
    if (nginx.settledHash !== undefined && nginx.settledHash !== live.hash) {
      return {
        ok: false,
        reason: `the external nginx runs config ${nginx.settledHash?.slice(0, 12) ?? '(unknown)'}, not ${live.hash.slice(0, 12)}`,
      };
    }
    return { ok: true, reason: `ok ${live.hash}` };
  }
}
