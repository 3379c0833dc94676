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
  /** a worker this long on one file is on a big or hostile one: files queued then go to another worker */
  spillMs: number;
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
  spillMs: 1_000,
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
  file: string;
  resolve: (result: LoadResult) => void;
  /** sent to another worker since: this worker's answer is dropped */
  moved?: boolean;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  /** sent to this worker, in the order it parses them; the first is the one being parsed */
  tasks: Task[];
  deadline?: NodeJS.Timeout;
  /** when it started on its current file (0: none, or not ready yet) */
  startedAt: number;
  idle?: NodeJS.Timeout;
}

export type WorkerReply = { ready: true } | { id: number; result: LoadResult };

// Files sent to one worker ahead of its answers: it starts the next file as soon as it has posted a result,
// instead of idling for the round trip through the (busy) event loop; thousands of small files at a cold
// start went 40% slower one at a time. Few, so a file stuck behind a slow one waits little.
const PIPELINE = 3;

export class ParsePool {
  readonly options: ParsePoolOptions;
  private readonly slots = new Set<Slot>();
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;
  /** workers terminated for their deadline or memory cap (for tests and the bench) */
  replaced = 0;

  constructor(options: Partial<ParsePoolOptions> = {}) {
    this.options = { ...POOL_DEFAULTS, ...options };
  }

  parse(bytes: Uint8Array, file: string): Promise<LoadResult> {
    if (this.closed) return Promise.resolve(failed(file, undefined, `cannot parse ${file}: the parser pool is closed`));
    return new Promise((resolve) => {
      this.queue.push({ id: this.nextId++, bytes, file, resolve });
      this.dispatch();
    });
  }

  /** Workers alive now. */
  get workers(): number {
    return this.slots.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    const closed = (t: Task) =>
      t.resolve(failed(t.file, undefined, `cannot parse ${t.file}: the parser pool is closed`));
    this.queue.splice(0).forEach(closed);
    await Promise.all(
      [...this.slots].map((slot) => {
        slot.tasks.splice(0).forEach(closed);
        return this.retire(slot);
      }),
    );
  }

  /**
   * An idle worker first, then one whose current file is young (more files behind it), and only when every
   * worker has been on its current file for spillMs (a big or hostile file) another worker: a second
   * worker's start and warm-up cost more than it saves on a busy machine (measured at a cold start of
   * 1,000 files: 1.9 s with two workers from the start, 1.3-1.4 s with one).
   */
  private dispatch(): void {
    while (this.queue.length && !this.closed) {
      const slots = [...this.slots];
      const open = slots.filter((s) => s.tasks.length < PIPELINE).sort((a, b) => a.tasks.length - b.tasks.length);
      const now = Date.now();
      const young = (x: Slot) => !x.startedAt || now - x.startedAt < this.options.spillMs;
      let slot = slots.find((x) => x.tasks.length === 0) ?? open.find(young);
      if (!slot) {
        if (slots.some(young)) return; // a worker going well takes the next file when it answers
        slot = this.slots.size < this.options.size ? this.spawn() : open[0];
      }
      if (!slot) return;
      this.assign(slot, this.queue.shift()!);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL, {
      workerData: { limits: this.options.limits },
      resourceLimits: {
        maxOldGenerationSizeMb: this.options.memoryMb,
        maxYoungGenerationSizeMb: Math.min(32, Math.max(4, this.options.memoryMb >> 3)),
      },
      stdout: false,
      stderr: false,
    });
    const slot: Slot = { worker, ready: false, tasks: [], startedAt: 0 };
    this.slots.add(slot);
    worker.on('message', (reply: WorkerReply) => {
      if ('ready' in reply) {
        slot.ready = true;
        if (slot.tasks.length) this.startDeadline(slot);
        return;
      }
      const task = slot.tasks[0];
      if (!task || task.id !== reply.id) return;
      if (slot.deadline) clearTimeout(slot.deadline);
      slot.deadline = undefined;
      slot.startedAt = 0;
      slot.tasks.shift();
      if (!task.moved) task.resolve(reply.result);
      if (slot.tasks.length) this.startDeadline(slot);
      else this.idle(slot);
      this.dispatch();
    });
    // a worker over its heap cap ends with ERR_WORKER_OUT_OF_MEMORY; one that cannot start with its error
    worker.on('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? `refused: parsing it needed more than ${this.options.memoryMb} MiB of memory (a limit of the manifests loader); not loaded`
          : `could not be parsed: ${err.message}`;
      this.fail(slot, (file) => `${file} ${why}`);
    });
    worker.on('exit', () => {
      if (this.slots.has(slot)) this.fail(slot, (file) => `${file} could not be parsed: the parser worker exited`);
    });
    return slot;
  }

  private assign(slot: Slot, task: Task): void {
    if (slot.idle) clearTimeout(slot.idle);
    slot.idle = undefined;
    slot.tasks.push(task);
    slot.worker.ref(); // a command (render, validate) waiting for this file must not exit meanwhile
    // copied, not transferred: if this worker dies on another file, this one is sent to the next worker
    slot.worker.postMessage({ id: task.id, file: task.file, bytes: task.bytes });
    if (slot.ready && slot.tasks.length === 1) this.startDeadline(slot);
  }

  /** The deadline of the file the worker parses now (the first sent and not answered). */
  private startDeadline(slot: Slot): void {
    const task = slot.tasks[0]!;
    const ms = Math.round(this.options.deadlineMs + (this.options.deadlineMsPerMiB * task.bytes.byteLength) / 2 ** 20);
    slot.startedAt = Date.now();
    if (this.slots.size < this.options.size)
      setTimeout(() => {
        if (slot.tasks[0] === task) this.spill(slot);
      }, this.options.spillMs).unref();
    slot.deadline = setTimeout(() => {
      if (slot.tasks[0] === task)
        this.fail(
          slot,
          (file) => `${file} refused: not parsed within ${ms} ms (a limit of the manifests loader); not loaded`,
        );
    }, ms);
  }

  /**
   * The worker has been on one file for spillMs: the files sent behind it go to another worker. This one
   * has them already (a message cannot be taken back): it parses them later and its answers are dropped.
   */
  private spill(slot: Slot): void {
    const behind = slot.tasks.slice(1).filter((t) => !t.moved);
    for (const task of behind) task.moved = true;
    this.queue.unshift(...behind.map((t) => ({ ...t, id: this.nextId++, moved: false })));
    this.dispatch();
  }

  /** The worker is done for: the file it was parsing is refused, the others it was sent go to another. */
  private fail(slot: Slot, message: (file: string) => string): void {
    if (!this.slots.has(slot)) return;
    const head = slot.tasks.shift();
    if (head && !head.moved) head.resolve(failed(head.file, undefined, message(head.file)));
    this.queue.unshift(...slot.tasks.splice(0).filter((t) => !t.moved));
    if (head) this.replaced++;
    void this.retire(slot);
    this.dispatch();
  }

  private idle(slot: Slot): void {
    slot.worker.unref();
    if (this.slots.size > this.options.keepWarm) {
      slot.idle = setTimeout(() => {
        if (!slot.tasks.length) void this.retire(slot);
      }, this.options.idleMs);
      slot.idle.unref();
    }
  }

  private async retire(slot: Slot): Promise<void> {
    if (slot.deadline) clearTimeout(slot.deadline);
    if (slot.idle) clearTimeout(slot.idle);
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
