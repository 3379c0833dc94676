// src/debounce.ts with a hand-driven clock: the sync loop's timing decisions, in milliseconds of test time.
import assert from 'node:assert/strict';
import { Debouncer } from '../src/debounce.js';
import type { Clock } from '../src/debounce.js';

/** A clock that moves only when told; timers fire in order of their due time. */
class FakeClock implements Clock {
  private t = 1_000_000;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
  get pending(): number {
    return this.timers.length;
  }
}

describe('debounce', () => {
  function setup(minWait = 100, maxWait = 1000) {
    const clock = new FakeClock();
    const fired: number[] = [];
    const d = new Debouncer(minWait, maxWait, () => fired.push(clock.now()), clock);
    return { clock, fired, d };
  }

  it('one event: fires minWait later, once', () => {
    const { clock, fired, d } = setup();
    const t0 = clock.now();
    d.note();
    clock.advance(99);
    assert.deepEqual(fired, []);
    clock.advance(1);
    assert.deepEqual(fired, [t0 + 100]);
    clock.advance(5000);
    assert.equal(fired.length, 1);
  });

  it('a burst is one sync, minWait after the last event', () => {
    const { clock, fired, d } = setup();
    const t0 = clock.now();
    for (let i = 0; i < 5; i++) {
      d.note();
      clock.advance(50);
    }
    // last event at t0 + 200
    clock.advance(49);
    assert.deepEqual(fired, []);
    clock.advance(1);
    assert.deepEqual(fired, [t0 + 300]);
  });

  it('a steady stream cannot postpone the sync past maxWait after its first event', () => {
    const { clock, fired, d } = setup(100, 1000);
    const t0 = clock.now();
    for (let i = 0; i < 40; i++) {
      d.note();
      clock.advance(50);
    }
    assert.equal(fired[0], t0 + 1000);
  });

  it('take() gives when the burst began and starts a new one; with none pending, now', () => {
    const { clock, d } = setup();
    const t0 = clock.now();
    d.note();
    clock.advance(30);
    d.note();
    assert.equal(d.take(), t0);
    clock.advance(10);
    assert.equal(d.take(), t0 + 40, 'nothing pending: now');
    // an event after take() starts a burst of its own, with its own maxWait
    d.note();
    assert.equal(d.take(), t0 + 40);
  });

  it("events during a sync (take() not yet called again) keep the burst's first time: maxWait still counts from it", () => {
    const { clock, fired, d } = setup(100, 1000);
    const t0 = clock.now();
    d.note();
    clock.advance(950); // fired at t0 + 100, but the sync (no take() here) is still running
    d.note();
    clock.advance(100);
    assert.deepEqual(fired, [t0 + 100, t0 + 1000], 'the second fire is due at first + maxWait, not now + minWait');
  });

  it('cancel() drops the pending sync', () => {
    const { clock, fired, d } = setup();
    d.note();
    d.cancel();
    clock.advance(5000);
    assert.deepEqual(fired, []);
    assert.equal(clock.pending, 0);
  });

  it('minWait 0: fires at once on the next turn', () => {
    const { clock, fired, d } = setup(0, 0);
    d.note();
    clock.advance(0);
    assert.equal(fired.length, 1);
  });
});
