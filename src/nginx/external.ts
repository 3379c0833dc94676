// An nginx the controller does not run (sidecar mode): another container starts it from the config
// file we write. We find it through its pid file (a shared process namespace) and its internal status
// port, reload it by signal or by a command, and notice when it restarts.
import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import { execa } from 'execa';
import type { Logger } from '../log.js';
import { fetchHash } from './confirm.js';
import type { NginxHandle, WhileDown } from './process.js';

export interface ExternalNginxOptions {
  pidFile: string;
  internalPort: number;
  reloadCommand?: string; // run through the shell instead of signalling the pid
  log: Logger;
  pollMs?: number;
}

/** Events: 'started' (identity) when an nginx instance appears, 'exited' when it goes away. */
export class ExternalNginx extends EventEmitter implements NginxHandle {
  restarts = 0;
  /** the config hash the running nginx reported at the last poll */
  hash: string | null = null;
  /** the hash two polls in a row agreed on (or a confirmation said): what readiness trusts, since a
   * single poll during a reload may reach an old or a new worker */
  settledHash: string | null = null;
  private identity: number | undefined;
  private masterPid: number | undefined;
  private generation = 0;
  private timer: NodeJS.Timeout | null = null;
  private seen = false;
  /** every start is its own: found by polling, never asked for */
  readonly startedOnRequest = false;
  readonly whileDown: WhileDown = {
    event: 'waiting_for_nginx',
    waiting: 'waiting for the external nginx to start',
    applied: true, // it reads the file when it starts
  };

  constructor(private readonly options: ExternalNginxOptions) {
    super();
    this.timer = setInterval(() => void this.poll(), options.pollMs ?? 500);
    void this.poll();
  }

  get running(): boolean {
    return this.identity !== undefined;
  }

  get pid(): number | undefined {
    return this.identity;
  }

  /** A reload was just confirmed: the next poll would tell the same, a little later. */
  noteConfirmed(hash: string): void {
    this.hash = hash;
    this.settledHash = hash;
  }

  /** The external nginx starts itself; we only wait for it. */
  start(): void {
    void this.poll();
  }

  reload(): boolean {
    if (this.options.reloadCommand) {
      execa(this.options.reloadCommand, { shell: true, reject: false, timeout: 30_000 }).then(
        (result) => {
          if (result.exitCode !== 0)
            this.options.log(
              'error',
              `reload command failed (exit ${result.exitCode}): ${(result.stderr || result.stdout).trim().slice(0, 500)}`,
              { event: 'reload_command_failed' },
            );
        },
        () => undefined,
      );
      return true;
    }
    if (!this.masterPid) return false;
    try {
      process.kill(this.masterPid, 'SIGHUP');
      return true;
    } catch (error) {
      this.options.log('error', `cannot signal nginx master ${this.masterPid}: ${(error as Error).message}`, {
        event: 'reload_failed',
      });
      return false;
    }
  }

  /** Sidecar mode never stops the nginx it serves. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
  }

  /** Not ours to end, even when the controller must exit at once. */
  terminate(): void {}

  private async poll(): Promise<void> {
    const pid = await readPid(this.options.pidFile);
    const alive = pid !== undefined && pidAlive(pid);
    const noted = this.hash;
    const seen = await fetchHash(this.options.internalPort, 500);
    // a confirmation noted while this poll was in flight is newer than what the poll saw
    if (this.hash === noted) {
      if (seen === noted || seen === null) this.settledHash = seen;
      this.hash = seen;
    }
    // with a shared process namespace the master pid names the instance; without one, the internal
    // port answering (or not) is all we can see
    const up = alive || seen !== null;
    const id = alive ? pid : up ? (this.identity ?? -++this.generation) : undefined;
    this.masterPid = alive ? pid : undefined;
    if (id !== undefined && id !== this.identity) {
      if (this.seen) this.restarts++;
      this.seen = true;
      this.identity = id;
      this.options.log('info', `external nginx is up${alive ? ` (master pid ${pid})` : ''}`, {
        event: 'external_nginx_up',
        pid,
      });
      this.emit('started', id);
    } else if (id === undefined && this.identity !== undefined) {
      this.identity = undefined;
      this.options.log('warn', 'external nginx is gone; waiting for it to come back', { event: 'external_nginx_down' });
      this.emit('exited', null, null);
    }
  }
}

async function readPid(file: string): Promise<number | undefined> {
  try {
    const pid = Number((await fs.readFile(file, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by another user
  }
}
