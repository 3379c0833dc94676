// The parser pool: files parsed in worker threads; a worker past its deadline or heap cap is terminated
// and replaced, the file refused by name, and the next file parsed as usual.
import assert from 'node:assert/strict';
import { parseBytes, PARSE_LIMITS } from '../../src/sources/loader.js';
import { ParsePool } from '../../src/sources/parse-pool.js';
import { show } from './helpers.js';

const configMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  a: "1"\n`;
const bytes = (text: string) => Buffer.from(text);

/** `count` ConfigMaps, one document each: slow enough to parse to miss a 1 ms deadline. */
function manyConfigMaps(count: number): string {
  return Array.from({ length: count }, (_, i) => configMap(`c${i}`)).join('---\n');
}

/** ConfigMaps with eight data keys each: 14,000 of them (under the 500,000-node limit) keep one worker busy for seconds. */
function heavyConfigMaps(count: number): string {
  const data = Array.from({ length: 8 }, (_, key) => `  k${key}: v${key}\n`).join('');
  return Array.from(
    { length: count },
    (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c${i}\ndata:\n${data}`,
  ).join('---\n');
}

describe('sources/parse-pool', function () {
  this.timeout(60_000);
  const pools: ParsePool[] = [];
  const pool = (options: ConstructorParameters<typeof ParsePool>[0]) => {
    const created = new ParsePool(options);
    pools.push(created);
    return created;
  };
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
  });

  it('gives the same result as parsing in this thread, for many files at once over two workers', async () => {
    const parser = pool({ size: 2 });
    const texts = Array.from({ length: 50 }, (_, i) => (i % 7 === 3 ? 'a: [\n' : configMap(`f${i}`)));
    const results = await Promise.all(texts.map((t, i) => parser.parse(bytes(t), `f${i}.yaml`)));
    results.forEach((r, i) => assert.deepEqual(r, parseBytes(bytes(texts[i]!), `f${i}.yaml`)));
    assert.equal(results.filter((r) => r.parseFailed).length, 7);
    assert.ok(parser.workers <= 2);
    assert.equal(parser.replaced, 0);
  });

  it('refuses a file not parsed by its deadline, replaces the worker and parses the next file', async () => {
    const parser = pool({ size: 1, deadlineMsPerMiB: 0 });
    assert.equal((await parser.parse(bytes(configMap('warm')), 'warm.yaml')).resources.length, 1); // the worker ready
    parser.options.deadlineMs = 1;
    const slow = await parser.parse(bytes(manyConfigMaps(3000)), 'slow.yaml');
    assert.equal(slow.parseFailed, true);
    assert.deepEqual(
      slow.problems.map((x) => x.message),
      ['slow.yaml refused: not parsed within 1 ms (a limit of the manifests loader); not loaded'],
    );
    assert.equal(parser.replaced, 1);
    // a new worker, with a deadline it can meet
    parser.options.deadlineMs = 10_000;
    const next = await parser.parse(bytes(configMap('next')), 'next.yaml');
    assert.equal(next.parseFailed, false, show(next.problems));
    assert.equal(next.resources.length, 1);
  });

  it('refuses a file whose parse goes over the heap cap, replaces the worker and parses the next file', async () => {
    // limits lifted so the cap is what stops it: one mapping of 400,000 keys needs ~500 MiB
    const parser = pool({
      size: 1,
      memoryMb: 32,
      deadlineMs: 60_000,
      limits: { ...PARSE_LIMITS, documentTokens: 1e9, tokens: 1e9, nodes: 1e9 },
    });
    let keys = '';
    for (let i = 0; i < 400_000; i++) keys += `k${i}: 1\n`;
    const big = await parser.parse(bytes(keys), 'big.yaml');
    assert.equal(big.parseFailed, true);
    assert.deepEqual(
      big.problems.map((x) => x.message),
      ['big.yaml refused: parsing it needed more than 32 MiB of memory (a limit of the manifests loader); not loaded'],
    );
    assert.equal(parser.replaced, 1);
    const next = await parser.parse(bytes(configMap('next')), 'next.yaml');
    assert.equal(next.resources.length, 1, show(next.problems));
  });

  it('sends the files queued behind a slow one to a second worker', async () => {
    const parser = pool({ size: 2, spillMs: 50, deadlineMs: 60_000 });
    assert.equal((await parser.parse(bytes(configMap('warm')), 'warm.yaml')).resources.length, 1);
    assert.equal(parser.workers, 1, 'one worker while the files are small');
    const order: string[] = [];
    // the slow file must outlast the spill delay plus a second worker's start (loading the parser and compiling
    // the schemas: about 0.3 s here, more on a loaded machine); 14,000 heavy documents take about 1.5 s
    const slow = parser.parse(bytes(heavyConfigMaps(14_000)), 'slow.yaml').then((loaded) => {
      order.push('slow');
      return loaded;
    });
    const small = parser.parse(bytes(configMap('small')), 'small.yaml').then((loaded) => {
      order.push('small');
      return loaded;
    });
    const [slowLoaded, smallLoaded] = await Promise.all([slow, small]);
    assert.equal(slowLoaded.resources.length, 14_000, show(slowLoaded.problems.slice(0, 2)));
    assert.equal(smallLoaded.resources.length, 1);
    assert.deepEqual(order, ['small', 'slow']);
    assert.equal(parser.workers, 2);
  });

  it('keeps the event loop free while a worker parses', async () => {
    const parser = pool({ size: 1 });
    await parser.parse(bytes(configMap('warm')), 'warm.yaml');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const loaded = await parser.parse(bytes(manyConfigMaps(4000)), 'many.yaml');
    clearInterval(timer);
    assert.equal(loaded.resources.length, 4000, show(loaded.problems.slice(0, 3)));
    // parsed here, the 4000 documents would have taken the thread for the whole parse: not one tick
    assert.ok(ticks >= 5, `only ${ticks} timer ticks while the worker parsed`);
  });
});
