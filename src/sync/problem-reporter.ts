// What went wrong, said once: manifest problems are logged when they appear (not on every sync) and kept
// for /status; a failed sync is one record with its cause, counted by what failed, while nginx keeps
// serving the last good config.
import { failureReason } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Problem } from '../resources.js';
import { formatProblem } from '../resources.js';

export interface ProblemReporterOptions {
  log: Logger;
  metrics: Metrics;
  liveHash: () => string | undefined; // the config nginx keeps serving after a failure
}

export class ProblemReporter {
  private reported = new Set<string>();
  private current: Problem[] = [];
  private error = '';

  constructor(private readonly options: ProblemReporterOptions) {}

  /** The problems of the last sync. */
  get problems(): Problem[] {
    return this.current;
  }

  /** Why the last attempt to change nginx's config failed; empty once one succeeds. */
  get lastError(): string {
    return this.error;
  }

  /** The problems of a sync: each is logged once, when it first appears. */
  report(problems: Problem[], rejectedManifests: number): void {
    const { log, metrics } = this.options;
    const now = new Set<string>();
    for (const problem of problems) {
      const line = formatProblem(problem);
      now.add(line);
      if (!this.reported.has(line)) {
        log(problem.severity === 'error' ? 'error' : 'warn', line, {
          event: 'manifest_problem',
          file: problem.file,
          line: problem.line,
          object: problem.object,
          field: problem.field,
        });
      }
    }
    this.reported = now;
    this.current = problems;
    metrics.rejectedManifests = rejectedManifests;
    metrics.problems = {
      error: problems.filter((problem) => problem.severity === 'error').length,
      warning: problems.filter((problem) => problem.severity === 'warning').length,
    };
  }

  /** nginx runs what the manifests now say (also after a rejected change was reverted). */
  succeeded(): void {
    this.options.metrics.lastReloadSuccessful = 1;
    this.error = '';
  }

  /**
   * Every failure of a sync ends here: one log record with its cause, counted by what failed (plan,
   * filesystem, config_test, reload, not_confirmed, internal); nginx keeps serving the last good config.
   */
  failed(error: Error): void {
    const { log, metrics, liveHash } = this.options;
    const reason = failureReason(error);
    metrics.lastReloadSuccessful = 0;
    metrics.reloadFailures[reason]++;
    this.error = error.message;
    const live = liveHash();
    const kept = live ? `; still serving config ${live.slice(0, 12)}` : '';
    // a failure of ours (not nginx's verdict, not the disk) is a failed sync, with its stack in the same record
    const ours = reason === 'plan' || reason === 'internal';
    const event = reason === 'config_test' ? 'config_test_failed' : ours ? 'sync_failed' : 'apply_failed';
    log('error', `${error.message}${kept}`, {
      event,
      reason,
      kept: live,
      ...(ours ? { stack: error.stack ?? String(error) } : {}),
    });
  }
}
