// src/sync/debounce.ts with a hand-driven clock: the sync loop's timing decisions, in milliseconds of test time.
import assert from 'node:assert/strict';
import { Debouncer } from '../../src/sync/debounce.js';
import { FakeClock } from '../helpers/sync-fakes.js';

describe('debounce', () => {
  function setup(minWait = 100, maxWait = 1000) {
    const clock = new FakeClock();
    const fired: number[] = [];
    const debouncer = new Debouncer(minWait, maxWait, () => fired.push(clock.now()), clock);
    return { clock, fired, debouncer };
  }

  it('one event: fires minWait later, once', () => {
    const { clock, fired, debouncer } = setup();
    const t0 = clock.now();
    debouncer.note();
    clock.advanceSync(99);
    assert.deepEqual(fired, []);
    clock.advanceSync(1);
    assert.deepEqual(fired, [t0 + 100]);
    clock.advanceSync(5000);
    assert.equal(fired.length, 1);
  });

  it('a burst is one sync, minWait after the last event', () => {
    const { clock, fired, debouncer } = setup();
    const t0 = clock.now();
    for (let i = 0; i < 5; i++) {
      debouncer.note();
      clock.advanceSync(50);
    }
    // last event at t0 + 200
    clock.advanceSync(49);
    assert.deepEqual(fired, []);
    clock.advanceSync(1);
    assert.deepEqual(fired, [t0 + 300]);
  });

  it('a steady stream cannot postpone the sync past maxWait after its first event', () => {
    const { clock, fired, debouncer } = setup(100, 1000);
    const t0 = clock.now();
    for (let i = 0; i < 40; i++) {
      debouncer.note();
      clock.advanceSync(50);
    }
    assert.equal(fired[0], t0 + 1000);
  });

  it('take() gives when the burst began and starts a new one; with none pending, now', () => {
    const { clock, debouncer } = setup();
    const t0 = clock.now();
    debouncer.note();
    clock.advanceSync(30);
    debouncer.note();
    assert.equal(debouncer.take(), t0);
    clock.advanceSync(10);
    assert.equal(debouncer.take(), t0 + 40, 'nothing pending: now');
    // an event after take() starts a burst of its own, with its own maxWait
    debouncer.note();
    assert.equal(debouncer.take(), t0 + 40);
  });

  it("events during a sync (take() not yet called again) keep the burst's first time: maxWait still counts from it", () => {
    const { clock, fired, debouncer } = setup(100, 1000);
    const t0 = clock.now();
    debouncer.note();
    clock.advanceSync(950); // fired at t0 + 100, but the sync (no take() here) is still running
    debouncer.note();
    clock.advanceSync(100);
    assert.deepEqual(fired, [t0 + 100, t0 + 1000], 'the second fire is due at first + maxWait, not now + minWait');
  });

  it('cancel() drops the pending sync', () => {
    const { clock, fired, debouncer } = setup();
    debouncer.note();
    debouncer.cancel();
    clock.advanceSync(5000);
    assert.deepEqual(fired, []);
    assert.equal(clock.pending, 0);
  });

  it('minWait 0: fires at once on the next turn', () => {
    const { clock, fired, debouncer } = setup(0, 0);
    debouncer.note();
    clock.advanceSync(0);
    assert.equal(fired.length, 1);
  });
});
