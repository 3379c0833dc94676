// Counters and gauges, served as Prometheus text on the status port.
import { FAILURE_REASONS } from './errors.js';
import type { FailureReason } from './errors.js';

/** A Prometheus histogram with fixed buckets (seconds). */
export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly buckets: number[]) {
    this.counts = buckets.map(() => 0);
  }

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    this.buckets.forEach((b, i) => {
      if (seconds <= b) this.counts[i]!++;
    });
  }
}

/** One list/watch loop's counts (a Reflector): full lists, and watch requests. */
export interface ApiWatchCounts {
  readonly kind: string;
  readonly listCount: number;
  readonly watchRequests: number;
}

export class Metrics {
  endpointPushes = 0;
  endpointPushFailures = 0;
  convergence = new Histogram([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  syncs = 0;
  reloads = 0;
  // by what failed (src/errors.ts failureReason): every reason is exported, zeros included
  reloadFailures: Record<FailureReason, number> = Object.fromEntries(FAILURE_REASONS.map((r) => [r, 0])) as Record<
    FailureReason,
    number
  >;
  lastReloadSuccessful = 1;
  lastReloadSuccessTimestamp = 0;
  configHash = '';
  rejectedManifests = 0;
  problems = { error: 0, warning: 0 };
  nginxRestarts = 0;
  lastSyncSeconds = 0;
  endpointSyncs = 0;
  endpointPatches = 0;
  fullScans = 0;
  buildRenderSeconds = 0;
  configTestSeconds = 0;
  reloadSeconds = 0;
  endpointPushFailing = 0;
  backendsRefusedByNginx = 0;
  backendPushRefusals = 0;
  backendsOverLimit = 0;
  endpointsRefused = 0;
  /**
   * API mode: the running list/watch loops (sources/kubernetes/reflector-watch.ts), their counts read when
   * rendered; a kind may have several (Secrets watched by name), and those stopped are kept in apiWatchesEnded
   */
  readonly apiWatches = new Set<ApiWatchCounts>();
  readonly apiWatchesEnded = new Map<string, { listCount: number; watchRequests: number }>();

  render(): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
      lines.push(`# HELP ingress_templater_${name} ${help}`, `# TYPE ingress_templater_${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`ingress_templater_${name}${labels} ${value}`);
    };
    metric('syncs_total', 'counter', 'Sync passes run (scan, model, render, apply).', [['', this.syncs]]);
    metric('reloads_total', 'counter', 'nginx starts and reloads whose new config was confirmed.', [
      ['', this.reloads],
    ]);
    metric(
      'reload_failures_total',
      'counter',
      'Candidate configs not applied, by reason.',
      Object.entries(this.reloadFailures).map(([r, v]) => [`{reason="${r}"}`, v]),
    );
    metric('config_last_reload_successful', 'gauge', '1 when the last attempted config change was applied.', [
      ['', this.lastReloadSuccessful],
    ]);
    metric('config_last_reload_successful_timestamp_seconds', 'gauge', 'Unix time of the last confirmed reload.', [
      ['', this.lastReloadSuccessTimestamp],
    ]);
    // a hash as a number (first 13 hex digits fit a double exactly) and as a label
    metric('config_hash', 'gauge', 'Hash of the running nginx.conf (first 52 bits).', [
      ['', this.configHash ? parseInt(this.configHash.slice(0, 13), 16) : 0],
    ]);
    metric(
      'config_info',
      'gauge',
      'The running nginx.conf, by sha256.',
      this.configHash ? [[`{hash="${this.configHash}"}`, 1]] : [],
    );
    metric('rejected_manifests', 'gauge', 'Manifest documents or files rejected in the last sync.', [
      ['', this.rejectedManifests],
    ]);
    metric(
      'problems',
      'gauge',
      'Problems reported in the last sync, by severity.',
      Object.entries(this.problems).map(([s, v]) => [`{severity="${s}"}`, v]),
    );
    metric('nginx_restarts_total', 'counter', 'Restarts of nginx after it exited unexpectedly.', [
      ['', this.nginxRestarts],
    ]);
    metric('endpoint_pushes_total', 'counter', 'Backend sets acknowledged by the Lua balancer.', [
      ['', this.endpointPushes],
    ]);
    metric('endpoint_push_failures_total', 'counter', 'Failed attempts to push backends to the Lua balancer.', [
      ['', this.endpointPushFailures],
    ]);
    const convergence = this.convergence;
    metric(
      'endpoint_convergence_seconds',
      'histogram',
      'From a change seen in the manifests directory to nginx acknowledging the pushed backends.',
      [
        ...convergence.buckets.map((b, i): [string, number] => [`_bucket{le="${b}"}`, convergence.counts[i]!]),
        ['_bucket{le="+Inf"}', convergence.count],
        ['_sum', convergence.sum],
        ['_count', convergence.count],
      ],
    );
    metric('last_sync_duration_seconds', 'gauge', 'Duration of the last sync pass.', [['', this.lastSyncSeconds]]);
    metric('endpoint_patches_total', 'counter', 'Acknowledged pushes that sent only the changed backends (PATCH).', [
      ['', this.endpointPatches],
    ]);
    metric(
      'manifest_full_scans_total',
      'counter',
      'Syncs that rescanned the whole manifests directory (not only the files events named).',
      [['', this.fullScans]],
    );
    metric('endpoint_syncs_total', 'counter', 'Syncs that only patched endpoints (no model rebuild, no render).', [
      ['', this.endpointSyncs],
    ]);
    metric('build_render_seconds', 'gauge', 'Duration of the last full model build and render.', [
      ['', this.buildRenderSeconds],
    ]);
    metric('config_test_seconds', 'gauge', 'Duration of the last nginx -t of a candidate config.', [
      ['', this.configTestSeconds],
    ]);
    metric(
      'reload_seconds',
      'gauge',
      'Duration of the last reload or start: signal to new config confirmed and old workers retired.',
      [['', this.reloadSeconds]],
    );
    metric(
      'endpoint_push_failing',
      'gauge',
      '1 while pushes of backends to the Lua balancer fail (since the last failed attempt, until one is acknowledged).',
      [['', this.endpointPushFailing]],
    );
    metric(
      'backends_refused',
      'gauge',
      "Backends whose new endpoints were refused and which keep their previous ones: by the controller (more ready endpoints than the limit) or by nginx's Lua balancer (its validation).",
      [
        ['{by="controller"}', this.backendsOverLimit],
        ['{by="nginx"}', this.backendsRefusedByNginx],
      ],
    );
    metric(
      'backend_push_refusals_total',
      'counter',
      'Backends the Lua balancer refused on their own in acknowledged pushes (the rest of each push was stored).',
      [['', this.backendPushRefusals]],
    );
    metric(
      'endpoints_refused',
      'gauge',
      "Endpoints left out in the last build for naming the controller's own listeners, an unspecified, link-local or multicast address.",
      [['', this.endpointsRefused]],
    );
    const totals = new Map<string, { listCount: number; watchRequests: number }>();
    for (const [kind, ended] of this.apiWatchesEnded) totals.set(kind, { ...ended });
    for (const watch of this.apiWatches) {
      const total = totals.get(watch.kind) ?? { listCount: 0, watchRequests: 0 };
      total.listCount += watch.listCount;
      total.watchRequests += watch.watchRequests;
      totals.set(watch.kind, total);
    }
    const byKind = (count: (total: { listCount: number; watchRequests: number }) => number) =>
      [...totals].map(([kind, total]): [string, number] => [`{kind="${kind}"}`, count(total)]);
    metric(
      'api_lists_total',
      'counter',
      'Full lists of a kind from the Kubernetes API: the first, and one per relist after 410 Gone.',
      byKind((total) => total.listCount),
    );
    metric(
      'api_watches_total',
      'counter',
      'Watch requests of a kind to the Kubernetes API: the first, and one per resume after a watch ended or failed.',
      byKind((total) => total.watchRequests),
    );
    return `${lines.join('\n')}\n`;
  }
}
