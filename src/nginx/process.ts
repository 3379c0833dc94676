// Supervises nginx as a child process (daemon off): start, reload, restart with backoff, graceful stop.
import { EventEmitter } from 'node:events';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import type { NginxBinary } from './binary.js';
import { nginxArgs } from './configtest.js';

export interface NginxProcessOptions {
  bin: NginxBinary;
  prefix: string;
  conf: string;
  log: (level: 'info' | 'warn' | 'error', msg: string) => void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Events: 'started' (pid) after each spawn, 'exited' (code, signal) when nginx dies unexpectedly.
 * A restart after an unexpected exit waits 1 s, doubling to 30 s while nginx keeps dying young.
 */
export class NginxProcess extends EventEmitter {
  private child: ResultPromise | null = null;
  private stopping = false;
  private backoff: number;
  private restartTimer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  restarts = 0;

  constructor(private readonly o: NginxProcessOptions) {
    super();
    this.backoff = o.minBackoffMs ?? 1000;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  start(): void {
    if (this.child || this.stopping) return;
    const args = [...nginxArgs(this.o.bin, this.o.prefix, this.o.conf), '-g', 'daemon off; master_process on;'];
    // execa's cleanup kills nginx if the controller exits without stopping it, so no orphan is left
    const child = execa(this.o.bin.path, args, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', reject: false, cleanup: true, buffer: false });
    this.child = child;
    this.startedAt = Date.now();
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.o.log('info', `nginx: ${line.trim()}`);
    };
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);
    this.emit('started', child.pid);
    void child.then((r) => {
      if (this.child !== child) return;
      this.child = null;
      if (this.stopping) return;
      const uptime = Date.now() - this.startedAt;
      if (uptime > 60_000) this.backoff = this.o.minBackoffMs ?? 1000;
      this.o.log('error', `nginx exited (code ${r.exitCode ?? '-'}, signal ${r.signal ?? '-'}); restarting in ${this.backoff} ms`);
      this.emit('exited', r.exitCode, r.signal);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        this.restarts++;
        this.start();
      }, this.backoff);
      this.backoff = Math.min(this.backoff * 2, this.o.maxBackoffMs ?? 30_000);
    });
  }

  reload(): boolean {
    if (!this.child?.pid) return false;
    return this.child.kill('SIGHUP');
  }

  /** Graceful quit (SIGQUIT lets workers finish requests); SIGTERM, then SIGKILL if it takes too long. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child) return;
    const done = child.then(() => undefined);
    child.kill('SIGQUIT');
    if (await within(done, timeoutMs)) return;
    this.o.log('warn', `nginx did not quit within ${timeoutMs} ms; terminating`);
    child.kill('SIGTERM');
    if (await within(done, 3000)) return;
    child.kill('SIGKILL');
    await done;
  }
}

async function within(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), ms); });
  const r = await Promise.race([p.then(() => true as const), timeout]);
  clearTimeout(timer);
  return r;
}
