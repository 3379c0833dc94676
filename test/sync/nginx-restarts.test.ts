// src/sync/nginx-restarts.ts: what an nginx that comes and goes on its own gets.
import assert from 'node:assert/strict';
import { Metrics } from '../../src/metrics.js';
import { EndpointPush } from '../../src/sync/endpoint-push.js';
import { followRestarts } from '../../src/sync/nginx-restarts.js';
import { Readiness } from '../../src/sync/readiness.js';
import { FakeApplier, FakeClock, FakeNginx, FakePusher, flush, recordingLog } from '../helpers/sync-fakes.js';

function setup(sidecar = false) {
  const clock = new FakeClock();
  const nginx = new FakeNginx(sidecar);
  const applier = new FakeApplier(nginx, clock);
  const metrics = new Metrics();
  const readiness = new Readiness({ nginx, applier, pushes: false, clock });
  const pusher = new FakePusher();
  const push = new EndpointPush(pusher.factory, { nginx, applier, readiness, metrics, log: recordingLog().log, clock });
  let resyncs = 0;
  followRestarts({ nginx, applier, readiness, push, metrics, clock, resync: () => resyncs++ });
  return { nginx, applier, metrics, readiness, pusher, resyncs: () => resyncs };
}

describe('sync/nginx-restarts', () => {
  it('our first start is left to the apply() that asked for it', async () => {
    const { nginx, resyncs, pusher, metrics } = setup();
    nginx.start();
    await flush();
    assert.equal(resyncs(), 0);
    assert.equal(pusher.calls.length, 0);
    assert.equal(metrics.nginxRestarts, 0);
  });

  it('an exit: nothing confirmed, and the next push is the whole set', () => {
    const { nginx, readiness, pusher, applier } = setup();
    applier.live = { text: '', hash: 'h' };
    nginx.start();
    readiness.confirmed();
    nginx.die();
    assert.equal(readiness.verdict().reason, 'nginx is not running');
    assert.equal(pusher.resets, 1);
  });

  it('a restart running the live config is confirmed and gets the endpoints again', async () => {
    const { nginx, applier, readiness, pusher, metrics, resyncs } = setup();
    nginx.start();
    applier.live = { text: '', hash: 'h' };
    nginx.die();
    nginx.restart();
    await flush();
    assert.equal(metrics.nginxRestarts, 1);
    assert.equal(readiness.verdict().ok, true);
    assert.equal(pusher.of('resend').length, 1);
    assert.equal(resyncs(), 0);
  });

  it('a restart running something else, or before anything was applied: a forced sync', async () => {
    const { nginx, applier, resyncs } = setup();
    nginx.startFails = true;
    nginx.start();
    nginx.restart(); // nothing applied yet
    assert.equal(resyncs(), 1);
    applier.live = { text: '', hash: 'h' };
    applier.runsLive = false;
    nginx.die();
    nginx.restart();
    await flush();
    assert.equal(resyncs(), 2);
  });

  it('an external nginx coming up is never taken as started by us', async () => {
    const { nginx, resyncs } = setup(true);
    nginx.restart();
    assert.equal(resyncs(), 1);
  });

  it('a confirmation that arrives for an instance already gone counts for nothing', async () => {
    const { nginx, applier, pusher } = setup();
    nginx.start();
    applier.live = { text: '', hash: 'h' };
    nginx.die();
    nginx.restart();
    nginx.die(); // before confirmLive() answered
    await flush();
    assert.equal(pusher.of('resend').length, 0);
  });
});
