// Counters and gauges, served as Prometheus text on the status port.

export class Metrics {
  syncs = 0;
  reloads = 0;
  reloadFailures = { config_test: 0, not_confirmed: 0 };
  lastReloadSuccessful = 1;
  lastReloadSuccessTimestamp = 0;
  configHash = '';
  rejectedManifests = 0;
  problems = { error: 0, warning: 0 };
  nginxRestarts = 0;
  lastSyncSeconds = 0;

  render(): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
      lines.push(`# HELP ingress_templater_${name} ${help}`, `# TYPE ingress_templater_${name} ${type}`);
      for (const [labels, v] of samples) lines.push(`ingress_templater_${name}${labels} ${v}`);
    };
    metric('syncs_total', 'counter', 'Sync passes run (scan, model, render, apply).', [['', this.syncs]]);
    metric('reloads_total', 'counter', 'nginx starts and reloads whose new config was confirmed.', [['', this.reloads]]);
    metric('reload_failures_total', 'counter', 'Candidate configs not applied, by reason.',
      Object.entries(this.reloadFailures).map(([r, v]) => [`{reason="${r}"}`, v]));
    metric('last_reload_successful', 'gauge', '1 when the last attempted config change was applied.', [['', this.lastReloadSuccessful]]);
    metric('last_reload_success_timestamp_seconds', 'gauge', 'Unix time of the last confirmed reload.', [['', this.lastReloadSuccessTimestamp]]);
    // a hash as a number (first 13 hex digits fit a double exactly) and as a label
    metric('config_hash', 'gauge', 'Hash of the running nginx.conf (first 52 bits).', [['', this.configHash ? parseInt(this.configHash.slice(0, 13), 16) : 0]]);
    metric('config_info', 'gauge', 'The running nginx.conf, by sha256.', this.configHash ? [[`{hash="${this.configHash}"}`, 1]] : []);
    metric('rejected_manifests', 'gauge', 'Manifest documents or files rejected in the last sync.', [['', this.rejectedManifests]]);
    metric('problems', 'gauge', 'Problems reported in the last sync, by severity.',
      Object.entries(this.problems).map(([s, v]) => [`{severity="${s}"}`, v]));
    metric('nginx_restarts_total', 'counter', 'Restarts of nginx after it exited unexpectedly.', [['', this.nginxRestarts]]);
    metric('last_sync_duration_seconds', 'gauge', 'Duration of the last sync pass.', [['', this.lastSyncSeconds]]);
    return lines.join('\n') + '\n';
  }
}
