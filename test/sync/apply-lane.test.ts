// src/sync/apply-lane.ts on its own: one apply at a time, the newest text only, and what each result means.
import assert from 'node:assert/strict';
import { Metrics } from '../../src/metrics.js';
import type { Model } from '../../src/model/index.js';
import { ApplyLane } from '../../src/sync/apply-lane.js';
import type { Candidate } from '../../src/sync/apply-lane.js';
import { EndpointPush } from '../../src/sync/endpoint-push.js';
import { ProblemReporter } from '../../src/sync/problem-reporter.js';
import { Readiness } from '../../src/sync/readiness.js';
import { FakeApplier, FakeClock, FakeNginx, FakePusher, flush, Gate, recordingLog } from '../helpers/sync-fakes.js';

const model = { servers: [], backends: [], certificates: [], files: [], http: {}, settings: {} } as unknown as Model;
const candidate = (name: string): Candidate => ({ text: `text ${name}`, hash: name.repeat(64), model, seenAt: 1 });

function setup(minReloadIntervalMs = 500) {
  const clock = new FakeClock();
  const nginx = new FakeNginx();
  const applier = new FakeApplier(nginx, clock);
  const metrics = new Metrics();
  const recorded = recordingLog();
  const readiness = new Readiness({ nginx, applier, pushes: true, clock });
  const reporter = new ProblemReporter({ log: recorded.log, metrics, liveHash: () => applier.live?.hash });
  const pusher = new FakePusher();
  const push = new EndpointPush(pusher.factory, { nginx, applier, readiness, metrics, log: recorded.log, clock });
  const lane = new ApplyLane({
    applier,
    nginx,
    readiness,
    push,
    reporter,
    metrics,
    log: recorded.log,
    clock,
    minReloadIntervalMs,
  });
  return { clock, nginx, applier, metrics, readiness, pusher, lane, ...recorded };
}

describe('sync/apply-lane', () => {
  it('texts offered during an apply: only the newest follows it', async () => {
    const { clock, applier, lane } = setup(0);
    const gate = new Gate();
    applier.answer = async (call) => {
      if (call.hash === candidate('a').hash) await gate.promise;
      return undefined;
    };
    const done = lane.offer(candidate('a'));
    await flush();
    lane.offer(candidate('b'));
    assert.equal(lane.offer(candidate('c')), done, 'one lane');
    gate.open();
    await done;
    assert.deepEqual(applier.hashes, [candidate('a').hash, candidate('c').hash]);
    assert.equal(lane.busy, null);
    assert.equal(clock.pending, 0);
  });

  it('started or reloaded: confirmed, counted, the endpoints sent again, one record', async () => {
    const { applier, lane, metrics, readiness, pusher, events } = setup();
    await lane.offer(candidate('a'));
    assert.equal(readiness.current, true);
    assert.equal(metrics.reloads, 1);
    assert.equal(metrics.configHash, candidate('a').hash);
    assert.equal(pusher.of('resend').length, 1);
    assert.deepEqual(events('nginx_started')[0]!.fields, {
      event: 'nginx_started',
      hash: candidate('a').hash,
      servers: 0,
      backends: 0,
    });
    assert.equal(lane.applied, model);
    assert.equal(applier.live!.hash, candidate('a').hash);
  });

  it('adopted: an nginx already running this text is confirmed without a reload', async () => {
    const { applier, lane, metrics, readiness, nginx, events } = setup();
    nginx.start();
    applier.answer = async () => 'adopted';
    await lane.offer(candidate('a'));
    assert.equal(readiness.current, true);
    assert.equal(metrics.reloads, 0);
    assert.equal(events('adopted').length, 1);
    assert.equal(nginx.reloads, 0);
  });

  it('unchanged text, forced because nginx restarted from another file: confirmed once it answers', async () => {
    const { applier, lane, readiness, nginx } = setup(0);
    await lane.offer(candidate('a'));
    readiness.lost(); // restarted; not confirmed yet
    applier.answer = async (call) => (call.force ? 'unchanged' : undefined);
    await lane.offer(candidate('a'));
    assert.equal(applier.calls.at(-1)!.force, true);
    assert.equal(readiness.current, true);
    assert.equal(nginx.reloads, 0);
  });

  it('a failed apply is reported and the lane goes on with the next text', async () => {
    const { applier, lane, metrics } = setup(0);
    applier.answer = async (call) => {
      if (call.hash === candidate('a').hash) throw new Error('boom');
      return undefined;
    };
    await lane.offer(candidate('a'));
    assert.equal(metrics.reloadFailures.internal, 1);
    await lane.offer(candidate('b'));
    assert.equal(applier.live!.hash, candidate('b').hash);
  });

  it('after stop() nothing is applied', async () => {
    const { applier, lane } = setup();
    lane.stop();
    await lane.offer(candidate('a'));
    assert.equal(applier.calls.length, 0);
  });
});
