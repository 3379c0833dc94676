// One kind's list/watch as the API source takes it (api-source.ts KindWatch): a Reflector over the API
// configuration's credentials, its troubles logged once per failure with the wait before the next try, its
// list and watch counts exported as metrics.
import type { Logger } from '../../log.js';
import type { ApiWatchCounts, Metrics } from '../../metrics.js';
import type { KindWatch, ObjectFeed, WatchedKind } from './api-source.js';
import type { ApiConfig } from './config.js';
import { Reflector } from './reflector.js';

export function reflectorWatch(config: ApiConfig, kind: WatchedKind, log: Logger, metrics?: Metrics): KindWatch {
  let reflector: Reflector | null = null;
  let counts: ApiWatchCounts | null = null;
  return {
    start(feed: ObjectFeed): void {
      reflector = new Reflector(
        {
          api: config,
          path: kind.path,
          labelSelector: kind.labelSelector,
          fieldSelector: kind.fieldSelector,
          onProblem: (problem) =>
            log('warn', `${kind.kind} ${problem.phase} failed: ${problem.message}; retrying`, {
              event: 'api_watch_failed',
              kind: kind.kind,
              phase: problem.phase,
              status: problem.statusCode,
              retryInMs: Math.round(problem.retryInMs),
            }),
        },
        feed,
      );
      const running = reflector;
      counts = {
        kind: kind.kind,
        get listCount() {
          return running.listCount;
        },
        get watchRequests() {
          return running.watchRequests;
        },
      };
      metrics?.apiWatches.add(counts);
      reflector.start();
    },
    async stop(): Promise<void> {
      await reflector?.stop();
      // the counters never go down: a stopped loop's counts stay in its kind's totals
      if (metrics && counts && metrics.apiWatches.delete(counts)) {
        const ended = metrics.apiWatchesEnded.get(kind.kind) ?? { listCount: 0, watchRequests: 0 };
        ended.listCount += counts.listCount;
        ended.watchRequests += counts.watchRequests;
        metrics.apiWatchesEnded.set(kind.kind, ended);
      }
    },
  };
}
