// src/sync/endpoint-push.ts: hold before nginx runs a config of ours, send after; what acknowledgements,
// refusals and failures do to the metrics, readiness and the log.
import assert from 'node:assert/strict';
import { Metrics } from '../../src/metrics.js';
import type { Model } from '../../src/model/index.js';
import { EndpointPush } from '../../src/sync/endpoint-push.js';
import { Readiness } from '../../src/sync/readiness.js';
import { build, endpoints, ingress, path, rule, service } from '../helpers/resources.js';
import { FakeClock, FakeNginx, FakePusher, recordingLog } from '../helpers/sync-fakes.js';

const { model } = build([
  service({ name: 'web' }),
  endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] }),
  ingress({ name: 'web', rules: [rule('a.example.com', path('/', 'web'))] }),
]) as { model: Model };

function setup() {
  const clock = new FakeClock();
  const nginx = new FakeNginx();
  const applier: { live: { hash: string } | null } = { live: null };
  const metrics = new Metrics();
  const recorded = recordingLog();
  const readiness = new Readiness({ nginx, applier, pushes: true, clock });
  const pusher = new FakePusher();
  const push = new EndpointPush(pusher.factory, { nginx, applier, readiness, metrics, log: recorded.log, clock });
  return { clock, nginx, applier, metrics, readiness, pusher, push, ...recorded };
}

describe('sync/endpoint-push', () => {
  it('holds the set until nginx runs a config of ours, then sends', async () => {
    const { nginx, applier, pusher, push } = setup();
    await push.all(model, 1);
    nginx.start();
    await push.all(model, 2); // running, but nothing of ours applied yet
    applier.live = { hash: 'h' };
    await push.changed(model.backends, 3);
    assert.deepEqual(
      pusher.calls.map((call) => [call.kind, call.mode, call.names]),
      [
        ['set', 'hold', ['default_web_80']],
        ['set', 'hold', ['default_web_80']],
        ['update', 'send', ['default_web_80']],
      ],
    );
  });

  it('an acknowledgement: counted, convergence observed from when the change was seen, readiness told', async () => {
    const { clock, nginx, applier, pusher, push, metrics, readiness } = setup();
    nginx.start();
    applier.live = { hash: 'h' };
    readiness.confirmed();
    const seenAt = clock.now();
    clock.advanceSync(40);
    await push.changed(model.backends, seenAt);
    assert.equal(metrics.endpointPushes, 1);
    assert.equal(metrics.endpointPatches, 1);
    assert.equal(metrics.convergence.count, 1);
    assert.equal(metrics.convergence.sum, 0.04);
    assert.equal(readiness.verdict().ok, true);
    pusher.refuse([{ name: 'default_web_80', error: 'bad endpoint' }]);
    assert.equal(metrics.backendPushRefusals, 1);
    assert.deepEqual([...push.refused], [['default_web_80', 'bad endpoint']]);
  });

  it('a refusal and a failure are logged; a failure only while nginx runs', async () => {
    const { nginx, applier, pusher, push, metrics, events } = setup();
    applier.live = { hash: 'h' };
    pusher.failing = 'connection refused';
    await push.resend(1); // nginx down: expected to fail, not worth a warning
    assert.equal(events('push_failed').length, 0);
    nginx.start();
    await push.resend(1);
    assert.equal(events('push_failed').length, 1);
    assert.equal(metrics.endpointPushFailures, 2);
    assert.equal(metrics.endpointPushFailing, 1);
    pusher.refuse([{ name: 'x', error: 'why' }]);
    assert.match(events('backend_refused')[0]!.msg, /^nginx refused backend x: why; it keeps its previous endpoints/);
    push.reset();
    push.stop();
    assert.equal(pusher.resets, 1);
    assert.ok(pusher.stopped);
  });
});
