import assert from 'node:assert/strict';
import { FAILURE_REASONS } from '../src/errors.js';
import { Histogram, Metrics } from '../src/metrics.js';

/** "name{labels}" -> value, for every sample line of a Prometheus text exposition. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

const PREFIX = 'ingress_templater_';

describe('metrics', () => {
  describe('Histogram', () => {
    it('counts each observation in every bucket it fits (cumulative), with sum and count', () => {
      const histogram = new Histogram([0.1, 1, 10]);
      for (const seconds of [0.05, 0.1, 0.5, 20]) histogram.observe(seconds);
      assert.deepEqual(histogram.counts, [2, 3, 3]);
      assert.equal(histogram.count, 4);
      assert.equal(histogram.sum, 20.65);
    });
  });

  describe('Metrics.render (Prometheus text format 0.0.4)', () => {
    it('gives every metric a HELP and a TYPE line before its samples, each sample a name and a number', () => {
      const text = new Metrics().render();
      assert.ok(text.endsWith('\n'));
      const lines = text.slice(0, -1).split('\n');
      let current: string | undefined;
      const typed = new Set<string>();
      for (const [index, line] of lines.entries()) {
        const help = /^# HELP (\w+) \S.*$/.exec(line);
        if (help) {
          current = help[1];
          assert.equal(lines[index + 1]?.startsWith(`# TYPE ${current} `), true, `TYPE after HELP of ${current}`);
          assert.ok(!typed.has(current!), `${current} described twice`);
          continue;
        }
        const type = /^# TYPE (\w+) (counter|gauge|histogram)$/.exec(line);
        if (type) {
          typed.add(type[1]!);
          continue;
        }
        const sample = /^(\w+)(\{[a-z]+="[^"]*"(,[a-z]+="[^"]*")*\})? (-?[0-9.e+]+|NaN)$/.exec(line);
        assert.ok(sample, `not a sample line: ${JSON.stringify(line)}`);
        assert.ok(sample[1]!.startsWith(PREFIX), line);
        // a sample belongs to the metric described last (a histogram's carry _bucket, _sum, _count)
        assert.ok(sample[1] === current || sample[1]!.startsWith(`${current}_`), `${line} outside ${current}`);
      }
      assert.ok(typed.size >= 20, `${typed.size} metrics`);
      for (const name of ['syncs_total', 'reloads_total', 'reload_failures_total', 'endpoint_convergence_seconds'])
        assert.ok(typed.has(PREFIX + name), name);
    });

    it('counts failed reloads by reason: every reason exported, zeros included, the counted ones as counted', () => {
      const metrics = new Metrics();
      const zero = samples(metrics.render());
      for (const reason of FAILURE_REASONS)
        assert.equal(zero.get(`${PREFIX}reload_failures_total{reason="${reason}"}`), 0);
      metrics.reloadFailures.config_test += 2;
      metrics.reloadFailures.filesystem += 1;
      const counted = samples(metrics.render());
      assert.equal(counted.get(`${PREFIX}reload_failures_total{reason="config_test"}`), 2);
      assert.equal(counted.get(`${PREFIX}reload_failures_total{reason="filesystem"}`), 1);
      assert.equal(counted.get(`${PREFIX}reload_failures_total{reason="not_confirmed"}`), 0);
      const reasons = [...counted.keys()].filter((key) => key.startsWith(`${PREFIX}reload_failures_total{`));
      assert.equal(reasons.length, FAILURE_REASONS.length);
    });

    it('exports the counters and gauges it holds', () => {
      const metrics = new Metrics();
      metrics.syncs = 7;
      metrics.reloads = 3;
      metrics.problems = { error: 2, warning: 5 };
      metrics.backendsOverLimit = 1;
      metrics.backendsRefusedByNginx = 4;
      metrics.lastSyncSeconds = 0.25;
      const exported = samples(metrics.render());
      assert.equal(exported.get(`${PREFIX}syncs_total`), 7);
      assert.equal(exported.get(`${PREFIX}reloads_total`), 3);
      assert.equal(exported.get(`${PREFIX}problems{severity="error"}`), 2);
      assert.equal(exported.get(`${PREFIX}problems{severity="warning"}`), 5);
      assert.equal(exported.get(`${PREFIX}backends_refused{by="controller"}`), 1);
      assert.equal(exported.get(`${PREFIX}backends_refused{by="nginx"}`), 4);
      assert.equal(exported.get(`${PREFIX}last_sync_duration_seconds`), 0.25);
    });

    it('the convergence histogram: cumulative buckets, +Inf, sum and count', () => {
      const metrics = new Metrics();
      for (const seconds of [0.004, 0.02, 0.3, 60]) metrics.convergence.observe(seconds);
      const exported = samples(metrics.render());
      const bucket = (le: string) => exported.get(`${PREFIX}endpoint_convergence_seconds_bucket{le="${le}"}`);
      assert.equal(bucket('0.005'), 1);
      assert.equal(bucket('0.025'), 2);
      assert.equal(bucket('0.5'), 3);
      assert.equal(bucket('10'), 3);
      assert.equal(bucket('+Inf'), 4);
      assert.equal(exported.get(`${PREFIX}endpoint_convergence_seconds_count`), 4);
      assert.equal(exported.get(`${PREFIX}endpoint_convergence_seconds_sum`), 0.004 + 0.02 + 0.3 + 60);
    });

    it("API mode's lists and watches by kind: every loop of a kind summed, those ended included", () => {
      const metrics = new Metrics();
      assert.ok(![...samples(metrics.render()).keys()].some((key) => key.startsWith(`${PREFIX}api_`)));
      const ingresses = { kind: 'Ingress', listCount: 1, watchRequests: 1 };
      metrics.apiWatches.add(ingresses);
      metrics.apiWatches.add({ kind: 'Secret', listCount: 2, watchRequests: 5 });
      metrics.apiWatches.add({ kind: 'Secret', listCount: 1, watchRequests: 1 });
      metrics.apiWatchesEnded.set('Secret', { listCount: 4, watchRequests: 4 });
      ingresses.watchRequests = 3;
      const exported = samples(metrics.render());
      assert.equal(exported.get(`${PREFIX}api_lists_total{kind="Ingress"}`), 1);
      assert.equal(exported.get(`${PREFIX}api_watches_total{kind="Ingress"}`), 3);
      assert.equal(exported.get(`${PREFIX}api_lists_total{kind="Secret"}`), 7);
      assert.equal(exported.get(`${PREFIX}api_watches_total{kind="Secret"}`), 10);
    });

    it('the config hash: its first 13 hex digits as a number, and the whole hash as a label once there is one', () => {
      const metrics = new Metrics();
      const before = metrics.render();
      assert.equal(samples(before).get(`${PREFIX}config_hash`), 0);
      assert.ok(![...samples(before).keys()].some((key) => key.startsWith(`${PREFIX}config_info`)));
      metrics.configHash = 'fedcba9876543210abcdef';
      const after = samples(metrics.render());
      assert.equal(after.get(`${PREFIX}config_hash`), 0xfedcba9876543);
      assert.equal(after.get(`${PREFIX}config_info{hash="fedcba9876543210abcdef"}`), 1);
    });
  });
});
