// A parser worker of parse-pool.ts: bytes of one file in, its LoadResult out, one file at a time.
import { parentPort, workerData } from 'node:worker_threads';
import { parseBytes } from './loader.js';
import { failed, type ParseLimits } from './result.js';
import type { WorkerReply } from './parse-pool.js';

const { limits } = workerData as { limits: ParseLimits };
const port = parentPort!;
const reply = (m: WorkerReply) => port.postMessage(m);

port.on('message', ({ id, file, bytes }: { id: number; file: string; bytes: Uint8Array }) => {
  let result;
  try {
    result = parseBytes(bytes, file, limits);
  } catch (err) {
    // parseManifests catches what it can; a RangeError of the stack or the like ends up here
    result = failed(file, undefined, `cannot parse: ${err instanceof Error ? err.message : String(err)}`);
  }
  reply({ id, result });
});
// the deadline counts from here: module loading (yaml, ajv) is not the file's fault
reply({ ready: true });
