// Supervises nginx as a child process (daemon off): start, reload, restart with backoff, graceful stop.
import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import type { NginxBinary } from './binary.js';
import type { Logger } from '../log.js';
import { nginxArgs } from './configtest.js';

export interface NginxProcessOptions {
  bin: NginxBinary;
  prefix: string;
  conf: string;
  log: Logger;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** A config written while nginx is down ('pending' from apply()): what to log, and whether it counts as applied. */
export interface WhileDown {
  event: string; // of the log record
  waiting: string; // what the record says happens next
  applied: boolean; // an external nginx starts from the file on its own: done; ours waits out its restart backoff
}

/**
 * What the controller needs from an nginx, whether it runs it (NginxProcess) or not (ExternalNginx, a
 * sidecar's). Events: 'started' (pid) when an instance comes up, 'exited' when it goes away unexpectedly.
 */
export interface NginxHandle extends EventEmitter {
  readonly running: boolean;
  readonly pid: number | undefined; // identifies one nginx instance (a new master has a new one)
  restarts: number;
  /**
   * The instance that started last was started by start(), whose caller (apply()) confirms it; false for a
   * restart after a crash and for an nginx that starts on its own (a sidecar's, every time): those run
   * whatever file is on disk, to be checked.
   */
  readonly startedOnRequest: boolean;
  /**
   * The config hash this nginx is seen to run by polls of its own (two polls agreeing, or a confirmation);
   * undefined when nothing polls it (ours: apply() and confirmLive() prove what it runs).
   */
  readonly settledHash: string | null | undefined;
  readonly whileDown: WhileDown;
  start(): void;
  reload(): boolean;
  /** apply() confirmed that nginx runs this config. */
  noteConfirmed(hash: string): void;
  stop(timeoutMs?: number): Promise<void>;
  /** Quit at once, without waiting, for a controller that must exit now; a sidecar's nginx is not ours to end. */
  terminate(): void;
}

/**
 * Events: 'started' (pid) after each spawn, 'exited' (code, signal) when nginx dies unexpectedly.
 * A restart after an unexpected exit waits 1 s, doubling to 30 s while nginx keeps dying young.
 */
export class NginxProcess extends EventEmitter implements NginxHandle {
  private child: ResultPromise | null = null;
  private stopping = false;
  private backoff: number;
  private restartTimer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  restarts = 0;
  readonly settledHash = undefined;
  readonly whileDown: WhileDown = {
    event: 'waiting_for_restart',
    waiting: 'nginx reads it when it restarts',
    // it died and waits out its restart backoff: the failure that ended it stays reported
    applied: false,
  };

  constructor(private readonly options: NginxProcessOptions) {
    super();
    this.backoff = options.minBackoffMs ?? 1000;
  }

  get startedOnRequest(): boolean {
    return this.restarts === 0; // every later start is the restart timer's
  }

  /** apply() waits for the proof itself. */
  noteConfirmed(): void {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  start(): void {
    if (this.child || this.stopping) return;
    // a start while a restart waits out its backoff is left to that restart, which reads the file just
    // written; starting at once would defeat the backoff (every start is followed by a sync)
    if (this.restartTimer) return;
    const args = [
      ...nginxArgs(this.options.bin, this.options.prefix, this.options.conf),
      '-g',
      'daemon off; master_process on;',
    ];
    // detached: nginx gets its own process group, so workers orphaned by a killed master (which keep
    // the ports and our pipes) can be ended with it; execa's cleanup is off then, hence exitHook
    const child = execa(this.options.bin.path, args, {
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      reject: false,
      detached: true,
      buffer: false,
    });
    this.child = child;
    this.startedAt = Date.now();
    process.on('exit', this.exitHook);
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim()) this.options.log('info', `nginx: ${line.trim()}`, { source: 'nginx' });
    };
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);
    child.catch(() => undefined);
    this.emit('started', child.pid);
    // 'exit', not the execa promise: that also waits for stdio, which orphaned workers hold open
    child.once('exit', (code, signal) => {
      killGroup(child.pid, 'SIGKILL');
      if (this.child !== child) return;
      this.child = null;
      process.off('exit', this.exitHook);
      if (this.stopping) return;
      const uptime = Date.now() - this.startedAt;
      if (uptime > 60_000) this.backoff = this.options.minBackoffMs ?? 1000;
      this.options.log(
        'error',
        `nginx exited (code ${code ?? '-'}, signal ${signal ?? '-'}); restarting in ${this.backoff} ms`,
        { event: 'nginx_exited' },
      );
      this.emit('exited', code, signal);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        this.restarts++;
        this.start();
      }, this.backoff);
      this.backoff = Math.min(this.backoff * 2, this.options.maxBackoffMs ?? 30_000);
    });
  }

  // if the controller exits without stop(), nginx must not outlive it
  private readonly exitHook = () => killGroup(this.child?.pid, 'SIGTERM');

  reload(): boolean {
    if (!this.child?.pid) return false;
    return this.child.kill('SIGHUP');
  }

  /** Fast shutdown of the whole group (SIGTERM), without waiting: for a controller that must exit now. */
  terminate(): void {
    killGroup(this.child?.pid, 'SIGTERM');
  }

  /** Graceful quit (SIGQUIT lets workers finish requests); SIGTERM, then SIGKILL if it takes too long. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child) return;
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGQUIT');
    if (await within(done, timeoutMs)) return;
    this.options.log('warn', `nginx did not quit within ${timeoutMs} ms; terminating`);
    child.kill('SIGTERM');
    if (await within(done, 3000)) return;
    child.kill('SIGKILL');
    await done;
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone
  }
}

async function within(done: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const finished = await Promise.race([done.then(() => true as const), timeout]);
  clearTimeout(timer);
  return finished;
}

/**
 * An nginx left running from a controller that was killed (SIGKILL leaves no chance to stop it) still
 * holds the ports and the prefix. Its pid file says who it is; stop it if it really is nginx on this prefix.
 */
export async function reapStale(prefix: string, log: NginxProcessOptions['log']): Promise<void> {
  let pid: number;
  try {
    pid = Number((await fs.readFile(path.join(prefix, 'nginx.pid'), 'utf8')).trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1) return;
  let cmdline = '';
  try {
    cmdline = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
  } catch {
    return; // not running
  }
  if (!cmdline.includes('nginx') || !cmdline.includes(prefix)) return;
  log('warn', `stopping an nginx (pid ${pid}) left running on ${prefix} by an earlier controller`);
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  process.kill(pid, 'SIGQUIT');
  for (let i = 0; i < 100 && alive(); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  if (alive()) process.kill(pid, 'SIGKILL');
}
