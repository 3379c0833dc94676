// nginx coming and going on its own: an exit forgets what that instance had confirmed and held; a start
// that apply() did not ask for (a restart after a crash, a sidecar's nginx) runs whatever file is on disk,
// so it is checked against the live config: confirmed, it gets the endpoints again; otherwise (or with
// nothing applied yet) a forced sync gives it ours.
import type { Metrics } from '../metrics.js';
import type { NginxHandle } from '../nginx/process.js';
import type { ConfigApplier } from './apply-lane.js';
import type { Clock } from './clock.js';
import type { EndpointPush } from './endpoint-push.js';
import type { Readiness } from './readiness.js';

export interface NginxRestartsOptions {
  nginx: NginxHandle;
  applier: Pick<ConfigApplier, 'live' | 'confirmLive'>;
  readiness: Readiness;
  push: EndpointPush | null;
  metrics: Metrics;
  clock: Clock;
  resync: () => void; // a forced sync: plan and apply even if nothing changed
}

export function followRestarts(options: NginxRestartsOptions): void {
  const { nginx, applier, readiness, push, metrics, clock, resync } = options;
  nginx.on('exited', () => {
    readiness.lost();
    push?.reset(); // a new master starts with an empty shared dict
  });
  nginx.on('started', (pid: number) => {
    if (nginx.restarts > 0) metrics.nginxRestarts++;
    // our own first start is confirmed by the apply() that asked for it
    if (nginx.startedOnRequest) return;
    // an external nginx that comes up before anything was confirmed gets our config now, as does our own
    // nginx restarted after its first start failed (say its port was taken)
    if (!applier.live) {
      resync();
      return;
    }
    // normally it runs the last applied config: confirm it, then fill its empty shared dict
    void applier.confirmLive().then((runsLive) => {
      if (nginx.pid !== pid) return;
      // it runs something else (a sidecar's own file, or ours written while it was down): give it ours
      if (!runsLive) {
        resync();
        return;
      }
      readiness.confirmed();
      void push?.resend(clock.now());
    });
  });
}
