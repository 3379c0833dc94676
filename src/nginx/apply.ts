// Apply a rendered config: certificates, candidate, nginx -t, atomic swap, reload, proof, rollback.
import path from 'node:path';
import fs from 'node:fs/promises';
import type { Certificate, ManagedFile } from '../model/index.js';
import { NotConfirmedError } from '../errors.js';
import type { NginxBinary } from './binary.js';
import { testConfig } from './configtest.js';
import { fetchHash, waitForHash } from './confirm.js';
import { waitMasterUp, waitRetired } from './workers.js';
import {
  readIfExists,
  removeStaleCertificates,
  removeStaleManagedFiles,
  writeAtomic,
  writeCertificates,
  writeManagedFiles,
} from './files.js';
import type { NginxHandle } from './process.js';

export interface ApplierOptions {
  bin: NginxBinary;
  prefix: string;
  internalPort: number;
  process: NginxHandle;
  confPath?: string; // default PREFIX/nginx.conf
  workerGid?: number; // group for managed files workers read, when the master runs as root
  confirmTimeoutMs?: number;
}

// pending: written for an nginx not running yet (an external one, or ours between restarts); it reads the file when it starts
export type ApplyResult = 'unchanged' | 'started' | 'reloaded' | 'pending' | 'adopted';

export class Applier {
  readonly confPath: string;
  private readonly candidatePath: string;
  /** text and hash nginx is known to run */
  live: { text: string; hash: string } | null = null;
  private pending: string | null = null;
  lastTestSeconds: number | null = null; // the last nginx -t
  lastReloadSeconds: number | null = null; // the last reload or start: signal to confirmed, old workers retired

  constructor(private readonly options: ApplierOptions) {
    this.confPath = options.confPath ?? path.join(options.prefix, 'nginx.conf');
    this.candidatePath = `${this.confPath}.candidate`;
  }

  /** Throws ConfigTestError when nginx -t refuses the text, NotConfirmedError when nginx did not take it. */
  /** force: nginx is not known to run the live config (it restarted from something else): apply anyway. */
  async apply(
    text: string,
    hash: string,
    certs: Certificate[],
    files: ManagedFile[] = [],
    force = false,
  ): Promise<ApplyResult> {
    if (this.live?.hash === hash && this.options.process.running && !force) return 'unchanged';
    if (this.pending === hash && !this.options.process.running) return 'unchanged'; // still waiting for it
    const nginx = this.options.process;
    const timeoutMs = this.options.confirmTimeoutMs ?? 15_000;
    // an nginx nothing confirmed yet: a sidecar's found running by a restarted controller, or ours
    // restarted by its supervisor from the last file written. Let it finish starting (a SIGHUP before
    // would end it), then adopt it without a reload if it runs this very text (the files it needs are
    // there, since nginx loaded them)
    if ((!this.live || force) && nginx.running) {
      const pid = nginx.pid;
      await waitMasterUp(pid, timeoutMs, () => nginx.running && nginx.pid === pid);
      if (!nginx.running)
        throw new NotConfirmedError(
          `nginx exited while starting; see the nginx error log in ${this.options.prefix}/logs`,
        );
      if ((await fetchHash(this.options.internalPort)) === hash && (await readIfExists(this.confPath)) === text) {
        this.live = { text, hash };
        this.pending = null;
        return 'adopted';
      }
    }
    const keep = await writeCertificates(this.options.prefix, certs);
    await writeManagedFiles(this.options.prefix, files, this.options.workerGid);
    await writeAtomic(this.candidatePath, text);
    const testStarted = process.hrtime.bigint();
    try {
      await testConfig(this.options.bin, this.options.prefix, this.candidatePath, text);
    } finally {
      this.lastTestSeconds = seconds(testStarted);
      await fs.rm(this.candidatePath, { force: true });
    }
    const previous = await readIfExists(this.confPath);
    await writeAtomic(this.confPath, text);
    // a master still starting would die of the SIGHUP (a restart from the last file, racing this apply)
    const oldWorkers = nginx.running ? await waitMasterUp(nginx.pid, timeoutMs, () => nginx.running) : [];
    const result: ApplyResult = nginx.running ? 'reloaded' : 'started';
    const reloadStarted = process.hrtime.bigint();
    if (nginx.running) nginx.reload();
    else nginx.start();
    // an external nginx not up yet, or ours waiting out its restart backoff: it reads the file when it starts
    if (!nginx.running) {
      this.pending = hash;
      return 'pending';
    }
    this.pending = null;
    const ok = await waitForHash(this.options.internalPort, hash, timeoutMs, () => nginx.running);
    if (!ok) {
      // nginx kept its old config (or died): put the old file back so a restart runs what was live
      if (previous !== null && this.live) await writeAtomic(this.confPath, previous);
      throw new NotConfirmedError(
        `nginx did not confirm config ${hash.slice(0, 12)} within the timeout; see the nginx error log in ${this.options.prefix}/logs`,
      );
    }
    // confirmed by a new worker; also let the old ones stop accepting, so that "reloaded" means every
    // new connection gets the new config (best effort: bounded, and skipped where /proc cannot see them).
    // Normally a few milliseconds; on a loaded machine an old worker has taken seconds to see its signal
    await waitRetired(oldWorkers, 5000);
    this.lastReloadSeconds = seconds(reloadStarted);
    try {
      await removeStaleCertificates(this.options.prefix, keep);
      await removeStaleManagedFiles(this.options.prefix, files);
    } finally {
      // set last: readiness compares it with what the controller notes right after apply() returns,
      // and a /healthz answered during the removals above would see the two disagree
      this.live = { text, hash };
    }
    return result;
  }

  /** After nginx restarted on its own: confirm it runs the live config again. */
  async confirmLive(timeoutMs = 15_000): Promise<boolean> {
    if (!this.live) return false;
    return waitForHash(this.options.internalPort, this.live.hash, timeoutMs, () => this.options.process.running, true);
  }
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}
