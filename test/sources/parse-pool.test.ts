// The parser pool: files parsed in worker threads; a worker past its deadline or heap cap is terminated
// and replaced, the file refused by name, and the next file parsed as usual.
import assert from 'node:assert/strict';
import { parseBytes, PARSE_LIMITS } from '../../src/sources/loader.js';
import { ParsePool } from '../../src/sources/parse-pool.js';
import { show } from './helpers.js';

const configMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  a: "1"\n`;
const bytes = (text: string) => Buffer.from(text);

/** n ConfigMaps, one document each: slow enough to parse to miss a 1 ms deadline. */
function manyConfigMaps(n: number): string {
  return Array.from({ length: n }, (_, i) => configMap(`c${i}`)).join('---\n');
}

describe('sources/parse-pool', function () {
  this.timeout(60_000);
  const pools: ParsePool[] = [];
  const pool = (o: ConstructorParameters<typeof ParsePool>[0]) => {
    const p = new ParsePool(o);
    pools.push(p);
    return p;
  };
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
  });

  it('gives the same result as parsing in this thread, for many files at once over two workers', async () => {
    const p = pool({ size: 2 });
    const texts = Array.from({ length: 50 }, (_, i) => (i % 7 === 3 ? 'a: [\n' : configMap(`f${i}`)));
    const results = await Promise.all(texts.map((t, i) => p.parse(bytes(t), `f${i}.yaml`)));
    results.forEach((r, i) => assert.deepEqual(r, parseBytes(bytes(texts[i]!), `f${i}.yaml`)));
    assert.equal(results.filter((r) => r.parseFailed).length, 7);
    assert.ok(p.workers <= 2);
    assert.equal(p.replaced, 0);
  });

  it('refuses a file not parsed by its deadline, replaces the worker and parses the next file', async () => {
    const p = pool({ size: 1, deadlineMsPerMiB: 0 });
    assert.equal((await p.parse(bytes(configMap('warm')), 'warm.yaml')).resources.length, 1); // the worker ready
    p.options.deadlineMs = 1;
    const slow = await p.parse(bytes(manyConfigMaps(3000)), 'slow.yaml');
    assert.equal(slow.parseFailed, true);
    assert.deepEqual(
      slow.problems.map((x) => x.message),
      ['slow.yaml refused: not parsed within 1 ms (a limit of the manifests loader); not loaded'],
    );
    assert.equal(p.replaced, 1);
    // a new worker, with a deadline it can meet
    p.options.deadlineMs = 10_000;
    const next = await p.parse(bytes(configMap('next')), 'next.yaml');
    assert.equal(next.parseFailed, false, show(next.problems));
    assert.equal(next.resources.length, 1);
  });

  it('refuses a file whose parse goes over the heap cap, replaces the worker and parses the next file', async () => {
    // limits lifted so the cap is what stops it: one mapping of 400,000 keys needs ~500 MiB
    const p = pool({
      size: 1,
      memoryMb: 32,
      deadlineMs: 60_000,
      limits: { ...PARSE_LIMITS, documentTokens: 1e9, tokens: 1e9, nodes: 1e9 },
    });
    let keys = '';
    for (let i = 0; i < 400_000; i++) keys += `k${i}: 1\n`;
    const big = await p.parse(bytes(keys), 'big.yaml');
    assert.equal(big.parseFailed, true);
    assert.deepEqual(
      big.problems.map((x) => x.message),
      ['big.yaml refused: parsing it needed more than 32 MiB of memory (a limit of the manifests loader); not loaded'],
    );
    assert.equal(p.replaced, 1);
    const next = await p.parse(bytes(configMap('next')), 'next.yaml');
    assert.equal(next.resources.length, 1, show(next.problems));
  });

  it('sends the files queued behind a slow one to a second worker', async () => {
    const p = pool({ size: 2, spillMs: 50, deadlineMs: 60_000 });
    assert.equal((await p.parse(bytes(configMap('warm')), 'warm.yaml')).resources.length, 1);
    assert.equal(p.workers, 1, 'one worker while the files are small');
    const order: string[] = [];
    const slow = p.parse(bytes(manyConfigMaps(12_000)), 'slow.yaml').then((r) => {
      order.push('slow');
      return r;
    });
    const small = p.parse(bytes(configMap('small')), 'small.yaml').then((r) => {
      order.push('small');
      return r;
    });
    const [s, q] = await Promise.all([slow, small]);
    assert.equal(s.resources.length, 12_000, show(s.problems.slice(0, 2)));
    assert.equal(q.resources.length, 1);
    assert.deepEqual(order, ['small', 'slow']);
    assert.equal(p.workers, 2);
  });

  it('keeps the event loop free while a worker parses', async () => {
    const p = pool({ size: 1 });
    await p.parse(bytes(configMap('warm')), 'warm.yaml');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const r = await p.parse(bytes(manyConfigMaps(4000)), 'many.yaml');
    clearInterval(timer);
    assert.equal(r.resources.length, 4000, show(r.problems.slice(0, 3)));
    // parsed here, the 4000 documents would have taken the thread for the whole parse: not one tick
    assert.ok(ticks >= 5, `only ${ticks} timer ticks while the worker parsed`);
  });
});
