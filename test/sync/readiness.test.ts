// src/sync/readiness.ts: every reason /healthz can give, in the order they are checked.
import assert from 'node:assert/strict';
import { PUSH_FAILING_UNREADY_MS, Readiness } from '../../src/sync/readiness.js';
import { FakeClock } from '../helpers/sync-fakes.js';

const HASH = 'a'.repeat(64);

function setup(pushes = true) {
  const clock = new FakeClock();
  const nginx: { running: boolean; pid: number | undefined; settledHash: string | null | undefined } = {
    running: true,
    pid: 7,
    settledHash: undefined,
  };
  const applier: { live: { hash: string } | null } = { live: { hash: HASH } };
  const readiness = new Readiness({ nginx, applier, pushes, clock });
  return { clock, nginx, applier, readiness };
}

describe('sync/readiness', () => {
  it('ready: the running instance confirmed the live config and acknowledged a push', () => {
    const { readiness } = setup();
    readiness.confirmed();
    readiness.pushAcknowledged();
    assert.deepEqual(readiness.verdict(), { ok: true, reason: `ok ${HASH}` });
  });

  it('says why not, first reason first', () => {
    const { nginx, applier, readiness } = setup();
    applier.live = null;
    assert.equal(readiness.verdict().reason, 'no configuration applied yet');
    applier.live = { hash: HASH };
    nginx.running = false;
    assert.equal(readiness.verdict().reason, 'nginx is not running');
    nginx.running = true;
    assert.equal(readiness.verdict().reason, 'nginx has not confirmed the configuration');
    readiness.confirmed();
    assert.equal(readiness.verdict().reason, 'endpoints not pushed to nginx yet');
    readiness.pushAcknowledged();
    assert.equal(readiness.verdict().ok, true);
  });

  it('a new nginx instance (new pid) is neither confirmed nor pushed to until it says so', () => {
    const { nginx, readiness } = setup();
    readiness.confirmed();
    readiness.pushAcknowledged();
    nginx.pid = 8;
    assert.equal(readiness.current, false);
    assert.equal(readiness.verdict().reason, 'nginx has not confirmed the configuration');
    readiness.confirmed();
    assert.equal(readiness.verdict().reason, 'endpoints not pushed to nginx yet');
  });

  it('lost(): nothing confirmed after nginx went away, even if the same pid shows up', () => {
    const { readiness } = setup(false);
    readiness.confirmed();
    assert.equal(readiness.verdict().ok, true);
    readiness.lost();
    assert.equal(readiness.verdict().reason, 'nginx has not confirmed the configuration');
  });

  it('the static balancer pushes nothing and waits for no push', () => {
    const { readiness } = setup(false);
    readiness.confirmed();
    assert.equal(readiness.verdict().ok, true);
  });

  it(`pushes failing for ${PUSH_FAILING_UNREADY_MS / 1000} s, counted from the first failure`, () => {
    const { clock, readiness } = setup();
    readiness.confirmed();
    readiness.pushAcknowledged();
    readiness.pushFailed('no answer within 5000 ms');
    clock.advanceSync(5000);
    readiness.pushFailed('nginx answered 500');
    clock.advanceSync(PUSH_FAILING_UNREADY_MS - 5001);
    assert.equal(readiness.verdict().ok, true);
    clock.advanceSync(1);
    assert.deepEqual(readiness.verdict(), {
      ok: false,
      reason: 'endpoint pushes to nginx failing for 10 s: nginx answered 500',
    });
    readiness.pushAcknowledged();
    assert.equal(readiness.verdict().ok, true);
  });

  it('an nginx polled for what it runs (a sidecar) is ready only when it runs the live config', () => {
    const { nginx, readiness } = setup(false);
    readiness.confirmed();
    nginx.settledHash = null;
    assert.equal(readiness.verdict().reason, `the external nginx runs config (unknown), not ${HASH.slice(0, 12)}`);
    nginx.settledHash = 'b'.repeat(64);
    assert.equal(readiness.verdict().reason, `the external nginx runs config bbbbbbbbbbbb, not ${HASH.slice(0, 12)}`);
    nginx.settledHash = HASH;
    assert.equal(readiness.verdict().ok, true);
  });
});
