// Sidecar mode: the controller (`run --sidecar`) on a prefix the test chooses, and an nginx the test
// starts itself from the file the controller writes, as the other container of a pod would. The test
// owns that nginx: stop() quits it with SIGQUIT, waits, and kills whatever of it is left.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  type RunningController,
  WatchedChild,
  killLeftovers,
  spawnController,
  type ExitStatus,
  type Ports,
} from './controller.js';
import type { ManifestDir } from './manifests.js';
import { children, isAlive, PidTracker, readPidFile } from './processes.js';
import { waitFor } from './wait.js';

export interface SidecarStartOptions {
  manifests: string;
  /** the shared directory: --nginx-prefix, and where nginx.conf and nginx.pid live */
  prefix: string;
  extraArgs?: string[];
  ports?: Partial<Ports>;
}

/**
 * `run --sidecar --nginx-prefix P --nginx-conf P/nginx.conf --nginx-pid-file P/nginx.pid` with the usual
 * loopback flags. Does not wait for /healthz: nothing is ready before the test starts an nginx.
 */
export function startSidecarController(options: SidecarStartOptions): Promise<RunningController> {
  return spawnController(options, options.prefix, [
    '--sidecar',
    '--nginx-prefix',
    options.prefix,
    '--nginx-conf',
    path.join(options.prefix, 'nginx.conf'),
    '--nginx-pid-file',
    path.join(options.prefix, 'nginx.pid'),
  ]);
}

const started = new Set<ChildProcess>();
// Last resort if mocha dies with a test nginx running: SIGTERM makes the master end its workers.
process.on('exit', () => {
  for (const child of started) child.kill('SIGTERM');
});

export interface NginxStopResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** processes of this nginx still alive after the master exited (killed here, then reported) */
  leftovers: number[];
}

/** `nginx -p P -c P/nginx.conf -e stderr -g 'daemon off;'`, started by the test, not by the controller. */
export class TestNginx {
  private readonly watched: WatchedChild;
  private readonly tracked = new PidTracker();
  private result: NginxStopResult | undefined;
  readonly exited: Promise<ExitStatus>;

  private constructor(
    readonly child: ChildProcess,
    readonly prefix: string,
  ) {
    this.watched = new WatchedChild(child, started, 1_000_000);
    this.exited = this.watched.exited;
  }

  /**
   * Start nginx on the prefix (binary: the one the controller picks by default) and wait until it has
   * written its pid file, i.e. it loaded the config and its master runs.
   */
  static async start(
    prefix: string,
    options: { binary?: string; conf?: string; timeoutMs?: number } = {},
  ): Promise<TestNginx> {
    const binary =
      options.binary ??
      (fs.existsSync('/usr/local/openresty/nginx/sbin/nginx') ? '/usr/local/openresty/nginx/sbin/nginx' : 'nginx');
    const conf = options.conf ?? path.join(prefix, 'nginx.conf');
    const child = spawn(binary, ['-p', prefix, '-c', conf, '-e', 'stderr', '-g', 'daemon off;'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const nginx = new TestNginx(child, prefix);
    try {
      await waitFor(
        () => {
          if (nginx.hasExited)
            throw new Error(`nginx exited at start (${child.exitCode ?? child.signalCode}): ${nginx.log()}`);
          return readPidFile(path.join(prefix, 'nginx.pid')) === child.pid;
        },
        { timeoutMs: options.timeoutMs ?? 10_000, what: `nginx ${child.pid} writing ${prefix}/nginx.pid` },
      );
      nginx.tracked.add([child.pid!]);
    } catch (err) {
      await nginx.stop();
      throw err;
    }
    return nginx;
  }

  /** The master's pid. */
  get pid(): number {
    return this.child.pid!;
  }

  get hasExited(): boolean {
    return this.watched.hasExited;
  }

  /** What nginx wrote on stdout and stderr. */
  log(): string {
    return this.watched.log();
  }

  /** The master's children (its workers), sorted; tracked for stop(). */
  async workers(): Promise<number[]> {
    const pids = (await children(this.pid)).filter(isAlive).sort((a, b) => a - b);
    this.tracked.add(pids);
    return pids;
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.hasExited) this.child.kill(signal);
  }

  /**
   * Graceful quit: SIGQUIT, wait for the master (SIGTERM after 10 s, SIGKILL after 3 more), then make
   * sure none of its processes is left; a leftover is killed by pid and reported. Idempotent.
   */
  async stop(): Promise<NginxStopResult> {
    if (this.result) return this.result;
    if (!this.hasExited) await this.workers().catch(() => undefined);
    this.signal('SIGQUIT');
    let exit = await this.watched.exitWithin(10_000);
    if (!exit) {
      this.signal('SIGTERM');
      exit = await this.watched.exitWithin(3000);
    }
    if (!exit) {
      this.signal('SIGKILL');
      exit = await this.exited;
    }
    const leftovers = await killLeftovers(() => this.tracked.alive());
    this.result = { code: exit.code, signal: exit.signal, leftovers };
    return this.result;
  }

  /** stop() and throw unless nginx quit by itself (exit 0) and left nothing behind. */
  async stopChecked(): Promise<void> {
    const result = await this.stop();
    if (result.code !== 0 || result.leftovers.length) {
      throw new Error(
        `test nginx stop: exit code ${result.code}, signal ${result.signal}, leftovers ${JSON.stringify(result.leftovers)}\n${this.log().slice(-2000)}`,
      );
    }
  }
}

/**
 * Registers, in the calling describe(), the after() hook of a sidecar suite: the test's own nginx is
 * stopped first (the controller's stop would count it as a leftover of the prefix), then the controller,
 * each with stopChecked(); then the manifests and the prefix are removed, even when a stop throws. get()
 * is read when the hook runs.
 */
export function stopSidecarAfter(
  get: () => { ctl?: RunningController; nginx?: TestNginx; manifests?: ManifestDir; prefix: string },
): void {
  after(async function () {
    this.timeout(60_000);
    const { ctl, nginx, manifests, prefix } = get();
    try {
      await nginx?.stopChecked();
      await ctl?.stopChecked();
    } finally {
      manifests?.cleanup();
      fs.rmSync(prefix, { recursive: true, force: true });
    }
  });
}
