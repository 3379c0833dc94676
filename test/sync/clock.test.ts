// src/sync/clock.ts: settleWithin, on a hand-driven clock.
import assert from 'node:assert/strict';
import { settleWithin } from '../../src/sync/clock.js';
import { FakeClock, flush, Gate } from '../helpers/sync-fakes.js';

describe('sync/clock', () => {
  it('settleWithin: as soon as the work settles, failure included', async () => {
    const clock = new FakeClock();
    const gate = new Gate();
    let done = false;
    const waiting = settleWithin(gate.promise, 1000, clock).then(() => {
      done = true;
    });
    await flush();
    assert.equal(done, false);
    gate.fail(new Error('it failed'));
    await waiting;
    assert.equal(clock.pending, 0, 'its timer is cleared');
  });

  it('settleWithin: no longer than ms for work that never ends', async () => {
    const clock = new FakeClock();
    let done = false;
    const waiting = settleWithin(new Gate().promise, 1000, clock).then(() => {
      done = true;
    });
    await clock.advance(999);
    assert.equal(done, false);
    await clock.advance(1);
    await waiting;
    assert.equal(done, true);
  });

  it('settleWithin: nothing to wait for', async () => {
    await settleWithin(null, 1000, new FakeClock());
  });
});
