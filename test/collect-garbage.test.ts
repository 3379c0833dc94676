import assert from 'node:assert/strict';
import { collectGarbage } from '../src/collect-garbage.js';

describe('collect-garbage', () => {
  it('collectGarbage() gives back the garbage of a burst of allocations at once', () => {
    collectGarbage();
    const base = process.memoryUsage().heapUsed;
    let junk: string[][] | null = Array.from({ length: 200 }, (_, i) =>
      Array.from({ length: 1000 }, (__, j) => `${i}-${j}-${'x'.repeat(64)}`),
    );
    assert.ok(process.memoryUsage().heapUsed - base > 10 * 1024 * 1024, 'allocated');
    junk = null;
    collectGarbage();
    assert.equal(junk, null);
    assert.ok(
      process.memoryUsage().heapUsed - base < 5 * 1024 * 1024,
      `collected: ${process.memoryUsage().heapUsed - base} bytes above the start`,
    );
  });
});
