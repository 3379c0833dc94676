// src/sync/problem-reporter.ts: manifest problems logged once, sync failures as one record each, counted by reason.
import assert from 'node:assert/strict';
import { ConfigTestError, NotConfirmedError, TemplateError } from '../../src/errors.js';
import { Metrics } from '../../src/metrics.js';
import type { Problem } from '../../src/resources.js';
import { ProblemReporter } from '../../src/sync/problem-reporter.js';
import { recordingLog } from '../helpers/sync-fakes.js';

const bad: Problem = { severity: 'error', file: 'a.yaml', line: 3, object: 'Ingress default/a', message: 'bad host' };
const odd: Problem = { severity: 'warning', file: 'b.yaml', message: 'annotation ignored' };

function setup(live: string | null = 'c'.repeat(64)) {
  const metrics = new Metrics();
  const recorded = recordingLog();
  const reporter = new ProblemReporter({ log: recorded.log, metrics, liveHash: () => live ?? undefined });
  return { metrics, reporter, ...recorded };
}

describe('sync/problem-reporter', () => {
  it('logs a problem when it appears, not on every sync; again when it comes back', () => {
    const { reporter, events, metrics } = setup();
    reporter.report([bad, odd], 1);
    reporter.report([bad, odd], 1);
    assert.deepEqual(
      events('manifest_problem').map((record) => [record.level, record.fields.file, record.fields.object]),
      [
        ['error', 'a.yaml', 'Ingress default/a'],
        ['warn', 'b.yaml', undefined],
      ],
    );
    assert.deepEqual(metrics.problems, { error: 1, warning: 1 });
    assert.equal(metrics.rejectedManifests, 1);
    reporter.report([odd], 0);
    assert.deepEqual(reporter.problems, [odd]);
    reporter.report([bad, odd], 1);
    assert.equal(events('manifest_problem').length, 3);
  });

  it('a failure is one record, counted by what failed, naming the config still served', () => {
    const { reporter, events, metrics } = setup();
    reporter.failed(new ConfigTestError('nginx -t failed', 'out'));
    reporter.failed(new NotConfirmedError('not confirmed'));
    reporter.failed(new TemplateError('broken'));
    reporter.failed(Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC' }));
    reporter.failed(new TypeError('x is undefined'));
    assert.deepEqual(
      { ...metrics.reloadFailures },
      { plan: 1, filesystem: 1, config_test: 1, reload: 0, not_confirmed: 1, internal: 1 },
    );
    assert.equal(events('config_test_failed').length, 1);
    assert.equal(events('apply_failed').length, 2); // not_confirmed, filesystem
    const ours = events('sync_failed');
    assert.equal(ours.length, 2); // plan, internal: with their stack
    assert.match(String(ours[1]!.fields.stack), /TypeError: x is undefined/);
    assert.match(events('config_test_failed')[0]!.msg, /^nginx -t failed; still serving config cccccccccccc$/);
    assert.equal(metrics.lastReloadSuccessful, 0);
    assert.equal(reporter.lastError, 'x is undefined');
    reporter.succeeded();
    assert.equal(metrics.lastReloadSuccessful, 1);
    assert.equal(reporter.lastError, '');
  });

  it('nothing served yet: the record says so by naming none', () => {
    const { reporter, records } = setup(null);
    reporter.failed(new ConfigTestError('nginx -t failed', 'out'));
    assert.equal(records[0]!.msg, 'nginx -t failed');
    assert.equal(records[0]!.fields.kept, undefined);
  });
});
