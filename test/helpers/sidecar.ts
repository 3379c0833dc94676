// Sidecar mode: the controller (`run --sidecar`) on a prefix the test chooses, and an nginx the test
// starts itself from the file the controller writes, as the other container of a pod would. The test
// owns that nginx: stop() quits it with SIGQUIT, waits, and kills whatever of it is left.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, REPO, RunningController, cleanEnv, type Ports } from './controller.js';
import { freePorts } from './ports.js';
import { children, identity, isAlive, readPidFile } from './processes.js';
import { sleep, waitFor } from './wait.js';

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
export async function startSidecarController(o: SidecarStartOptions): Promise<RunningController> {
  const [httpPort, httpsPort, statusPort, internalPort] = await freePorts(4);
  const ports: Ports = { http: httpPort!, https: httpsPort!, status: statusPort!, internal: internalPort!, ...o.ports };
  const args = [
    CLI, 'run', '--sidecar',
    '--manifests', o.manifests,
    '--nginx-prefix', o.prefix,
    '--nginx-conf', path.join(o.prefix, 'nginx.conf'),
    '--nginx-pid-file', path.join(o.prefix, 'nginx.pid'),
    '--listen-address', '127.0.0.1',
    '--status-address', '127.0.0.1',
    '--http-port', String(ports.http),
    '--https-port', String(ports.https),
    '--status-port', String(ports.status),
    '--internal-port', String(ports.internal),
    '--min-wait', '50',
    '--max-wait', '500',
    ...(o.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, { cwd: REPO, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  return new RunningController(child, ports, o.prefix, o.manifests);
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
  private output = '';
  private tracked = new Map<number, string>();
  private result: NginxStopResult | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly child: ChildProcess, readonly prefix: string) {
    started.add(child);
    const collect = (d: Buffer) => {
      this.output += d.toString('utf8');
      if (this.output.length > 1_000_000) this.output = this.output.slice(-500_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      started.delete(child);
      resolve({ code, signal });
    }));
  }

  /**
   * Start nginx on the prefix (binary: the one the controller picks by default) and wait until it has
   * written its pid file, i.e. it loaded the config and its master runs.
   */
  static async start(prefix: string, o: { binary?: string; conf?: string; timeoutMs?: number } = {}): Promise<TestNginx> {
    const binary = o.binary ?? (fs.existsSync('/usr/local/openresty/nginx/sbin/nginx') ? '/usr/local/openresty/nginx/sbin/nginx' : 'nginx');
    const conf = o.conf ?? path.join(prefix, 'nginx.conf');
    const child = spawn(binary, ['-p', prefix, '-c', conf, '-e', 'stderr', '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const n = new TestNginx(child, prefix);
    try {
      await waitFor(() => {
        if (n.hasExited) throw new Error(`nginx exited at start (${child.exitCode ?? child.signalCode}): ${n.log()}`);
        return readPidFile(path.join(prefix, 'nginx.pid')) === child.pid;
      }, { timeoutMs: o.timeoutMs ?? 10_000, what: `nginx ${child.pid} writing ${prefix}/nginx.pid` });
      n.track([child.pid!]);
    } catch (e) {
      await n.stop();
      throw e;
    }
    return n;
  }

  /** The master's pid. */
  get pid(): number {
    return this.child.pid!;
  }

  get hasExited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** What nginx wrote on stdout and stderr. */
  log(): string {
    return this.output;
  }

  /** The master's children (its workers), sorted; tracked for stop(). */
  async workers(): Promise<number[]> {
    const pids = (await children(this.pid)).filter(isAlive).sort((a, b) => a - b);
    this.track(pids);
    return pids;
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.hasExited) this.child.kill(signal);
  }

  private track(pids: number[]): void {
    for (const pid of pids) {
      const id = identity(pid);
      if (id) this.tracked.set(pid, id);
    }
  }

  /**
   * Graceful quit: SIGQUIT, wait for the master (SIGTERM after 10 s, SIGKILL after 3 more), then make
   * sure none of its processes is left; a leftover is killed by pid and reported. Idempotent.
   */
  async stop(): Promise<NginxStopResult> {
    if (this.result) return this.result;
    if (!this.hasExited) await this.workers().catch(() => undefined);
    const waitExit = async (ms: number) => {
      let timer: NodeJS.Timeout | undefined;
      const r = await Promise.race([this.exited, new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), ms); })]);
      clearTimeout(timer);
      return r;
    };
    this.signal('SIGQUIT');
    let exit = await waitExit(10_000);
    if (!exit) {
      this.signal('SIGTERM');
      exit = await waitExit(3000);
    }
    if (!exit) {
      this.signal('SIGKILL');
      exit = await this.exited;
    }
    // the master waits for its workers before it exits; allow a moment anyway
    const alive = () => [...this.tracked].filter(([pid, id]) => identity(pid) === id).map(([pid]) => pid);
    let leftovers = alive();
    for (let i = 0; i < 40 && leftovers.length; i++) {
      await sleep(50);
      leftovers = alive();
    }
    for (const pid of leftovers) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
    }
    this.result = { code: exit.code, signal: exit.signal, leftovers };
    return this.result;
  }

  /** stop() and throw unless nginx quit by itself (exit 0) and left nothing behind. */
  async stopChecked(): Promise<void> {
    const r = await this.stop();
    if (r.code !== 0 || r.leftovers.length) {
      throw new Error(`test nginx stop: exit code ${r.code}, signal ${r.signal}, leftovers ${JSON.stringify(r.leftovers)}\n${this.log().slice(-2000)}`);
    }
  }
}
