// The worker alone, as parse-pool.ts drives it: ready once loaded, then one reply per file, by id.
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import type { WorkerReply } from '../../src/sources/parse-pool.js';
import { PARSE_LIMITS, type ParseLimits } from '../../src/sources/result.js';

const WORKER_URL = new URL('../../src/sources/parse-worker.js', import.meta.url);
const CONFIGMAP = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: "1"\n';

/** A started worker and its replies, in the order they came. */
function startWorker(limits: ParseLimits = PARSE_LIMITS) {
  const worker = new Worker(WORKER_URL, { workerData: { limits } });
  const replies: WorkerReply[] = [];
  const waiting: (() => void)[] = [];
  worker.on('message', (reply: WorkerReply) => {
    replies.push(reply);
    for (const wake of waiting.splice(0)) wake();
  });
  /** The replies once there are at least count of them. */
  const replied = async (count: number): Promise<WorkerReply[]> => {
    while (replies.length < count) await new Promise<void>((resolve) => waiting.push(resolve));
    return replies.slice(0, count);
  };
  return { worker, replied };
}

const bytes = (text: string) => new TextEncoder().encode(text);

describe('sources/parse-worker', function () {
  this.timeout(20_000);
  const workers: Worker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.terminate()));
  });

  it('says it is ready once loaded, then answers each file with its LoadResult under the file id', async () => {
    const { worker, replied } = startWorker();
    workers.push(worker);
    assert.deepEqual(await replied(1), [{ ready: true }]);
    worker.postMessage({ id: 7, file: 'a.yaml', bytes: bytes(CONFIGMAP) });
    worker.postMessage({ id: 8, file: 'b.yaml', bytes: bytes('kind: [') });
    const [, first, second] = (await replied(3)) as [WorkerReply, WorkerReply, WorkerReply];
    assert.ok('id' in first && 'id' in second);
    assert.equal(first.id, 7);
    assert.equal(first.result.resources.length, 1);
    assert.equal(first.result.resources[0]!.kind, 'ConfigMap');
    assert.deepEqual(first.result.problems, []);
    assert.equal(second.id, 8);
    assert.equal(second.result.parseFailed, true);
    assert.equal(second.result.problems[0]!.file, 'b.yaml');
  });

  it('parses with the limits it was started with', async () => {
    const { worker, replied } = startWorker({ ...PARSE_LIMITS, anchors: 2 });
    workers.push(worker);
    worker.postMessage({ id: 1, file: 'anchors.yaml', bytes: bytes('a: &a 1\nb: &b 2\nc: &c 3\n') });
    const [, reply] = await replied(2);
    assert.ok(reply && 'id' in reply);
    assert.equal(reply.result.parseFailed, true);
    assert.match(reply.result.problems[0]!.message, /^anchors\.yaml refused: more than 2 anchors /);
  });

  it('a file the parser throws on is answered as refused, and the worker goes on with the next', async () => {
    const { worker, replied } = startWorker();
    workers.push(worker);
    // not bytes: what parseManifests never sees, so its own error handling cannot catch it
    worker.postMessage({ id: 1, file: 'odd.yaml', bytes: 'not a Uint8Array' });
    worker.postMessage({ id: 2, file: 'next.yaml', bytes: bytes(CONFIGMAP) });
    const [, broken, next] = (await replied(3)) as [WorkerReply, WorkerReply, WorkerReply];
    assert.ok('id' in broken && 'id' in next);
    assert.equal(broken.result.parseFailed, true);
    assert.deepEqual(broken.result.resources, []);
    assert.match(broken.result.problems[0]!.message, /^cannot parse: /);
    assert.equal(broken.result.problems[0]!.file, 'odd.yaml');
    assert.equal(next.result.resources.length, 1);
  });
});
