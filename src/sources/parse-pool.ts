// Manifest files are parsed in worker threads, off the event loop: /healthz, endpoint pushes and the
// other files go on while one file is parsed, and a file the parse limits (loader.ts) do not stop is
// stopped by its worker's memory cap or deadline: that worker is terminated, replaced, and the file refused.
// Workers are reused (starting one costs ~100 ms of module loading), so thousands of small files at a cold
// start cost one message each way per file, and on two cores two files are parsed at once.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { failed, PARSE_LIMITS, type LoadResult, type ParseLimits } from './result.js';

export interface ParsePoolOptions {
  /** workers at most */
  size: number;
  /** workers kept when idle; the others end after idleMs without work */
  keepWarm: number;
  idleMs: number;
  /** each worker's JS heap cap (V8 old generation), MiB */
  memoryMb: number;
  /** a file not parsed within deadlineMs + deadlineMsPerMiB x its size (from when its worker is ready) is refused */
  deadlineMs: number;
  deadlineMsPerMiB: number;
  limits: ParseLimits;
}

// A 4 MiB file of 11,000 plain Ingresses (the size limit) parses in 1.6 s on one core of the idle bench
// machine, 2-5 s when four other jobs share its two cores, with ~40 MiB of heap as its documents are read
// one at a time; the documentTokens limit keeps one document under ~100 MiB. The deadline is the backstop
// for what the limits miss (every shape known is refused by a limit within a fraction of a second): it
// grows with the size, so a small file that stalls is refused within ~1 s while a plain 4 MiB file on a
// busy machine still gets 9 s.
export const POOL_DEFAULTS: ParsePoolOptions = {
  size: Math.max(1, Math.min(2, os.availableParallelism?.() ?? os.cpus().length)),
  keepWarm: 1,
  idleMs: 30_000,
  memoryMb: 192,
  deadlineMs: 1_000,
  deadlineMsPerMiB: 2_000,
  limits: PARSE_LIMITS,
};

const WORKER_URL = new URL('./parse-worker.js', import.meta.url);

interface Task {
  id: number;
  bytes: Uint8Array;
  size: number; // bytes is detached once handed to a worker
  file: string;
  resolve: (r: LoadResult) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  task?: Task;
  deadline?: NodeJS.Timeout;
  idle?: NodeJS.Timeout;
}

export type WorkerReply = { ready: true } | { id: number; result: LoadResult };

export class ParsePool {
  readonly o: ParsePoolOptions;
  private readonly slots = new Set<Slot>();
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;
  /** workers terminated for their deadline or memory cap (for tests and the bench) */
  replaced = 0;

  constructor(o: Partial<ParsePoolOptions> = {}) {
    this.o = { ...POOL_DEFAULTS, ...o };
  }

  parse(bytes: Uint8Array, file: string): Promise<LoadResult> {
    if (this.closed) return Promise.resolve(failed(file, undefined, `cannot parse ${file}: the parser pool is closed`));
    return new Promise((resolve) => {
      this.queue.push({ id: this.nextId++, bytes, size: bytes.byteLength, file, resolve });
      this.dispatch();
    });
  }

  /** Workers alive now. */
  get workers(): number {
    return this.slots.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.queue.splice(0)) t.resolve(failed(t.file, undefined, `cannot parse ${t.file}: the parser pool is closed`));
    await Promise.all([...this.slots].map((s) => this.retire(s, `cannot parse ${s.task?.file}: the parser pool is closed`)));
  }

  private dispatch(): void {
    while (this.queue.length) {
      let slot = [...this.slots].find((s) => !s.task);
      if (!slot) {
        if (this.slots.size >= this.o.size) return;
        slot = this.spawn();
      }
      this.assign(slot, this.queue.shift()!);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL, {
      workerData: { limits: this.o.limits },
      resourceLimits: { maxOldGenerationSizeMb: this.o.memoryMb, maxYoungGenerationSizeMb: Math.min(32, Math.max(4, this.o.memoryMb >> 3)) },
      stdout: false,
      stderr: false,
    });
    const slot: Slot = { worker, ready: false };
    this.slots.add(slot);
    worker.on('message', (m: WorkerReply) => {
      if ('ready' in m) {
        slot.ready = true;
        if (slot.task) this.startDeadline(slot);
        return;
      }
      const task = slot.task;
      if (!task || task.id !== m.id) return;
      this.finish(slot);
      task.resolve(m.result);
      this.dispatch();
    });
    // a worker over its heap cap ends with ERR_WORKER_OUT_OF_MEMORY; one that cannot start with its error
    worker.on('error', (err: NodeJS.ErrnoException) => {
      const task = slot.task;
      if (task) {
        const why = err.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? `refused: parsing it needed more than ${this.o.memoryMb} MiB of memory (a limit of the manifests loader); not loaded`
          : `could not be parsed: ${err.message}`;
        task.resolve(failed(task.file, undefined, `${task.file} ${why}`));
      }
      void this.retire(slot);
      this.dispatch();
    });
    worker.on('exit', () => {
      if (slot.task) slot.task.resolve(failed(slot.task.file, undefined, `${slot.task.file} could not be parsed: the parser worker exited`));
      slot.task = undefined;
      if (this.slots.delete(slot)) this.dispatch();
    });
    return slot;
  }

  private assign(slot: Slot, task: Task): void {
    if (slot.idle) clearTimeout(slot.idle);
    slot.idle = undefined;
    slot.task = task;
    slot.worker.ref(); // a command (render, validate) waiting for this file must not exit meanwhile
    // the bytes are the reader's own (not Node's shared pool): hand them over instead of copying
    const whole = task.bytes.byteOffset === 0 && task.bytes.byteLength === task.bytes.buffer.byteLength;
    slot.worker.postMessage({ id: task.id, file: task.file, bytes: task.bytes }, whole ? [task.bytes.buffer as ArrayBuffer] : []);
    if (slot.ready) this.startDeadline(slot);
  }

  private startDeadline(slot: Slot): void {
    const task = slot.task!;
    const ms = Math.round(this.o.deadlineMs + (this.o.deadlineMsPerMiB * task.size) / 2 ** 20);
    slot.deadline = setTimeout(() => {
      if (slot.task !== task) return;
      task.resolve(failed(task.file, undefined,
        `${task.file} refused: not parsed within ${ms} ms (a limit of the manifests loader); not loaded`));
      slot.task = undefined;
      this.replaced++;
      void this.retire(slot);
      this.dispatch();
    }, ms);
  }

  private finish(slot: Slot): void {
    if (slot.deadline) clearTimeout(slot.deadline);
    slot.deadline = undefined;
    slot.task = undefined;
    slot.worker.unref();
    if (this.slots.size > this.o.keepWarm) {
      slot.idle = setTimeout(() => { if (!slot.task) void this.retire(slot); }, this.o.idleMs);
      slot.idle.unref();
    }
  }

  private async retire(slot: Slot, message?: string): Promise<void> {
    if (slot.deadline) clearTimeout(slot.deadline);
    if (slot.idle) clearTimeout(slot.idle);
    if (slot.task && message) slot.task.resolve(failed(slot.task.file, undefined, message));
    if (slot.task && !message) this.replaced++;
    slot.task = undefined;
    this.slots.delete(slot);
    await slot.worker.terminate().catch(() => undefined);
  }
}

let shared: ParsePool | undefined;

/** The process's pool, started on first use. */
export function defaultParsePool(): ParsePool {
  shared ??= new ParsePool();
  return shared;
}
