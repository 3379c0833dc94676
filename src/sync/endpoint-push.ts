// The endpoint push path (Lua balancer): the backends of every plan go to nginx at once, the changed
// Services' backends on the fast path, and the whole set again after a reload or an nginx start, without
// waiting for an nginx -t or a reload in progress. Before nginx runs a config of ours the set is only
// kept, for the push after its start. Acknowledgements and failures feed the metrics and readiness.
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Backend, Model } from '../model/index.js';
import { backendPayload } from '../nginx/endpoints.js';
import type { Pusher, PusherOptions } from '../nginx/endpoints.js';
import type { NginxHandle } from '../nginx/process.js';
import type { Clock } from './clock.js';
import type { Readiness } from './readiness.js';

/** What the push path needs of src/nginx/endpoints.ts's Pusher (a fake in unit tests). */
export type BackendPusher = Pick<Pusher, 'setBackends' | 'updateBackends' | 'resend' | 'reset' | 'stop' | 'refused'>;
export type PushEvents = Pick<PusherOptions, 'onAck' | 'onFailure' | 'onRefused'>;
/** Makes the pusher that reports to these handlers. */
export type PusherFactory = (events: PushEvents) => BackendPusher;

export interface EndpointPushOptions {
  nginx: Pick<NginxHandle, 'running'>;
  applier: { readonly live: object | null };
  readiness: Readiness;
  metrics: Metrics;
  log: Logger;
  clock: Clock;
}

export class EndpointPush {
  private readonly pusher: BackendPusher;

  constructor(
    makePusher: PusherFactory,
    private readonly options: EndpointPushOptions,
  ) {
    const { readiness, metrics, log, clock } = options;
    this.pusher = makePusher({
      onAck: (seenAt, method) => {
        readiness.pushAcknowledged();
        metrics.endpointPushes++;
        metrics.endpointPushFailing = 0;
        metrics.backendsRefusedByNginx = this.pusher.refused.size;
        if (method === 'PATCH') metrics.endpointPatches++;
        if (seenAt) metrics.convergence.observe((clock.now() - seenAt) / 1000);
      },
      onRefused: (now) => {
        metrics.backendPushRefusals += now.length;
        for (const refusal of now) {
          log(
            'warn',
            `nginx refused backend ${refusal.name}: ${refusal.error}; it keeps its previous endpoints, the other backends were stored`,
            { event: 'backend_refused', backend: refusal.name },
          );
        }
      },
      onFailure: (error) => {
        metrics.endpointPushFailures++;
        metrics.endpointPushFailing = 1;
        readiness.pushFailed(error.message);
        if (options.nginx.running)
          log('warn', `endpoint push failed: ${error.message}; retrying`, { event: 'push_failed' });
      },
    });
  }

  /** The backends of a whole plan (a rebuild). */
  all(model: Model, seenAt: number): Promise<void> {
    return this.pusher.setBackends(model.backends.map(backendPayload), seenAt, this.mode());
  }

  /** The backends the endpoint fast path changed. */
  changed(backends: Backend[], seenAt: number): Promise<void> {
    return this.pusher.updateBackends(backends.map(backendPayload), seenAt, this.mode());
  }

  /** The whole set again: after a reload (nginx keeps it, but a push may have raced) or a start (it has none). */
  resend(seenAt: number): Promise<void> {
    return this.pusher.resend(seenAt);
  }

  /** nginx went away: a new master starts with an empty shared dict, so the next push is the whole set. */
  reset(): void {
    this.pusher.reset();
  }

  /** Backends nginx refused on its own (name -> why): each keeps its previous endpoints there. */
  get refused(): ReadonlyMap<string, string> {
    return this.pusher.refused;
  }

  stop(): void {
    this.pusher.stop();
  }

  /** Push now while nginx runs a config of ours; before that, keep the set for the push after its start. */
  private mode(): 'send' | 'hold' {
    return this.options.applier.live !== null && this.options.nginx.running ? 'send' : 'hold';
  }
}
