// The built CLI (`node dist/src/cli.js run`) as a child process with real nginx, on free loopback ports
// and a temporary nginx prefix; plus readers for its status server.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request, type Reply, type RequestOptions } from './http.js';
import { freePorts } from './ports.js';
import { children, isAlive, pgrepCommandLine, PidTracker, readPidFile } from './processes.js';
import { sleep, waitFor, type WaitOptions } from './wait.js';

// dist/test/helpers -> repository root
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = path.join(REPO, 'dist', 'src', 'cli.js');

export interface StartOptions {
  manifests: string;
  extraArgs?: string[];
  /** wait for /healthz 200 before returning (default true) */
  waitReady?: boolean;
  readyTimeoutMs?: number;
  /** ports to use instead of free ones picked here (e.g. an internal port a test holds) */
  ports?: Partial<Ports>;
  /** an nginx prefix the test made (say on a small tmpfs) instead of a fresh temporary directory */
  prefix?: string;
  /** run the controller as this user (the test must be root); the prefix is given to it */
  user?: { uid: number; gid: number };
  /** the built CLI to run (default: this checkout's dist/src/cli.js) */
  cli?: string;
  /** variables set for the controller besides the test's environment (POD_NAME, POD_NAMESPACE) */
  env?: Record<string, string>;
}

export interface Ports {
  http: number;
  https: number;
  status: number;
  internal: number;
}

export interface StopResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** nginx processes still alive after the controller exited (killed by the helper, then reported) */
  leftovers: number[];
}

export type Metrics = Map<string, number>;

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A backend as GET /configuration/backends shows it (canonical form, see nginx/lua/README.md). */
export interface LuaBackend {
  version: number;
  name: string;
  loadBalance: string;
  hashBy?: string;
  affinity?: { name: string; maxAge?: number; path: string };
  endpoints: { address: string; port: number }[];
}

export interface LuaBackends {
  version: number;
  backends: LuaBackend[];
}

const METRIC_PREFIX = 'ingress_templater_';
const running = new Set<ChildProcess>();

// Last resort if mocha dies with controllers running: SIGTERM lets each stop its nginx itself.
process.on('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});

export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('INGRESS_TEMPLATER_')) delete env[key];
  return env;
}

/** Prometheus text -> "name{labels}" -> value. */
export function parseMetrics(text: string): Metrics {
  const out: Metrics = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

/**
 * A child process watched for a test: its stdout and stderr gathered as one text (the last half of it once
 * it grows past maxChars), and its exit. registry holds the child until it exits, for a last-resort kill.
 * The controller here, and the nginx a sidecar test starts itself (sidecar.ts), are watched this way.
 */
export class WatchedChild {
  private output = '';
  readonly exited: Promise<ExitStatus>;

  constructor(
    readonly child: ChildProcess,
    registry: Set<ChildProcess>,
    maxChars: number,
  ) {
    registry.add(child);
    const collect = (chunk: Buffer) => {
      this.output += chunk.toString('utf8');
      if (this.output.length > maxChars) this.output = this.output.slice(-maxChars / 2);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        registry.delete(child);
        resolve({ code, signal });
      }),
    );
  }

  get hasExited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  log(): string {
    return this.output;
  }

  /** The exit, or null when the child still runs after ms. */
  async exitWithin(ms: number): Promise<ExitStatus | null> {
    let timer: NodeJS.Timeout | undefined;
    const status = await Promise.race([
      this.exited,
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), ms);
      }),
    ]);
    clearTimeout(timer);
    return status;
  }
}

/**
 * For a stop: processes that should be gone now their master exited. The master waits for its workers,
 * so after a clean stop none is left; this allows a moment anyway (up to 2 s), then kills by pid whatever
 * alive() still lists, and returns those pids to report.
 */
export async function killLeftovers(alive: () => number[] | Promise<number[]>): Promise<number[]> {
  let leftovers = await alive();
  for (let i = 0; i < 40 && leftovers.length; i++) {
    await sleep(50);
    leftovers = await alive();
  }
  for (const pid of leftovers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  }
  return leftovers;
}

export class RunningController {
  private readonly watched: WatchedChild;
  private result: StopResult | undefined;
  // nginx processes seen, with their identity: stop() makes sure none outlives the controller
  private readonly tracked = new PidTracker();
  readonly exited: Promise<ExitStatus>;

  constructor(
    readonly child: ChildProcess,
    readonly ports: Ports,
    readonly prefix: string,
    readonly manifests: string,
  ) {
    this.watched = new WatchedChild(child, running, 4_000_000);
    this.exited = this.watched.exited;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The controller's exit, for a run expected to end by itself; throws if it still runs after timeoutMs. */
  async waitForExit(timeoutMs = 10_000): Promise<ExitStatus> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`controller still running after ${timeoutMs} ms:\n${this.log().slice(-3000)}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  get hasExited(): boolean {
    return this.watched.hasExited;
  }

  /** Everything the controller (and nginx through it) logged. */
  log(): string {
    return this.watched.log();
  }

  http(host: string, urlPath: string, options: RequestOptions = {}): Promise<Reply> {
    return request(this.ports.http, host, urlPath, options);
  }

  https(host: string, urlPath: string, options: RequestOptions = {}): Promise<Reply> {
    return request(this.ports.https, host, urlPath, { ...options, https: true });
  }

  async healthz(): Promise<number> {
    return (await request(this.ports.status, '127.0.0.1', '/healthz')).status;
  }

  async status(): Promise<{
    ready: { ok: boolean; reason: string };
    configHash: string | null;
    nginxPid: number | null;
    lastError: string | null;
    problems: string[];
  }> {
    return JSON.parse((await request(this.ports.status, '127.0.0.1', '/status')).body);
  }

  async metrics(): Promise<Metrics> {
    const reply = await request(this.ports.status, '127.0.0.1', '/metrics');
    if (reply.status !== 200) throw new Error(`/metrics answered ${reply.status}`);
    return parseMetrics(reply.body);
  }

  /** One sample, e.g. metric('reload_failures_total', { reason: 'config_test' }); throws when absent. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const key = metricKey(name, labels);
    const value = (await this.metrics()).get(key);
    if (value === undefined) throw new Error(`metric ${key} not exported`);
    return value;
  }

  waitFor<T>(fn: () => T | Promise<T>, options: WaitOptions = {}): Promise<Exclude<T, undefined | null | false>> {
    return waitFor(async () => {
      if (this.hasExited) throw new Error(`controller exited early:\n${this.log().slice(-3000)}`);
      return fn();
    }, options);
  }

  async waitReady(timeoutMs = 15_000): Promise<void> {
    await this.waitFor(async () => (await this.healthz()) === 200, { timeoutMs, what: 'healthz 200' }).catch(
      (e: Error) => {
        throw new Error(`${e.message}\ncontroller log:\n${this.log().slice(-3000)}`);
      },
    );
  }

  /** Wait until reloads_total exceeds `after`; returns the new count. */
  async waitForReload(after: number, timeoutMs = 10_000): Promise<number> {
    return this.waitFor(
      async () => {
        const reloads = await this.metric('reloads_total');
        return reloads > after ? reloads : undefined;
      },
      { timeoutMs, what: `reloads_total > ${after}` },
    );
  }

  /**
   * Wait until endpoint_pushes_total exceeds `after` (nginx acknowledged a backend set pushed since);
   * returns the new count. In Lua mode this, not a reload, is what an endpoint-only change causes.
   */
  async waitForPush(after: number, timeoutMs = 10_000): Promise<number> {
    return this.waitFor(
      async () => {
        const pushes = await this.metric('endpoint_pushes_total');
        return pushes > after ? pushes : undefined;
      },
      { timeoutMs, what: `endpoint_pushes_total > ${after}` },
    );
  }

  /** Wait until syncs_total exceeds `after` (a sync has started since); returns the new count. */
  async waitForSync(after: number, timeoutMs = 10_000): Promise<number> {
    return this.waitFor(
      async () => {
        const syncs = await this.metric('syncs_total');
        return syncs > after ? syncs : undefined;
      },
      { timeoutMs, what: `syncs_total > ${after}` },
    );
  }

  /**
   * Wait until the controller is idle: every metric (sync count, reloads, the last sync's duration,
   * which changes when a sync ends...) unchanged for quietMs. Asserting that something does NOT happen
   * (no reload) needs such a window; it is far longer than --min-wait plus one sync.
   */
  async settle(quietMs = 400, timeoutMs = 15_000): Promise<Metrics> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    let since = Date.now();
    while (Date.now() < deadline) {
      if (this.hasExited) throw new Error(`controller exited early:\n${this.log().slice(-3000)}`);
      const text = (await request(this.ports.status, '127.0.0.1', '/metrics')).body;
      if (text !== last) {
        last = text;
        since = Date.now();
      } else if (Date.now() - since >= quietMs) {
        return parseMetrics(text);
      }
      await sleep(25);
    }
    throw new Error(`controller did not settle within ${timeoutMs} ms`);
  }

  /** The nginx master (pid file) and its workers, as they are now; all are tracked. */
  async nginxPids(): Promise<number[]> {
    const master = readPidFile(path.join(this.prefix, 'nginx.pid'));
    const pids = new Set<number>(await pgrepCommandLine(this.prefix));
    pids.delete(this.pid);
    if (master && isAlive(master)) {
      pids.add(master);
      for (const child of await children(master)) pids.add(child);
    }
    const alive = [...pids].filter(isAlive);
    this.track(alive);
    return alive;
  }

  /** The workers of the running nginx master (its children), sorted; tracked for stop(). */
  async workerPids(): Promise<number[]> {
    const master = (await this.status()).nginxPid;
    if (!master) throw new Error('nginx is not running');
    const workers = (await children(master)).filter(isAlive).sort((a, b) => a - b);
    this.track([master, ...workers]);
    return workers;
  }

  /** The rendered nginx.conf nginx runs (or was last given). */
  nginxConf(): string {
    return fs.readFileSync(path.join(this.prefix, 'nginx.conf'), 'utf8');
  }

  /** GET /configuration/backends on nginx's internal port: the backend set the Lua balancer holds. */
  async luaBackends(): Promise<LuaBackends> {
    const reply = await request(this.ports.internal, '127.0.0.1', '/configuration/backends');
    if (reply.status !== 200) throw new Error(`GET /configuration/backends answered ${reply.status}: ${reply.body}`);
    return JSON.parse(reply.body) as LuaBackends;
  }

  /** One backend of luaBackends() by name; throws when nginx does not hold it. */
  async luaBackend(name: string): Promise<LuaBackend> {
    const backend = (await this.luaBackends()).backends.find((x) => x.name === name);
    if (!backend) throw new Error(`nginx holds no backend ${name}`);
    return backend;
  }

  /** Remember nginx processes a test saw (workers of a master it killed, say) for stop() to check. */
  track(pids: number[]): void {
    this.tracked.add(pids);
  }

  /**
   * SIGTERM, wait for the exit (SIGKILL after 20 s), then make sure no nginx of this prefix is left: any
   * leftover is killed by pid and reported in the result. Removes the prefix. Idempotent.
   */
  async stop(): Promise<StopResult> {
    if (this.result) return this.result;
    const before = this.hasExited ? [] : await this.nginxPids();
    if (!this.hasExited) this.child.kill('SIGTERM');
    let exit = await this.watched.exitWithin(20_000);
    if (!exit) {
      this.child.kill('SIGKILL');
      exit = await this.exited;
    }
    const leftovers = await killLeftovers(async () =>
      [...new Set([...before, ...this.tracked.alive(), ...(await pgrepCommandLine(this.prefix))])].filter(isAlive),
    );
    fs.rmSync(this.prefix, { recursive: true, force: true });
    this.result = { code: exit.code, signal: exit.signal, leftovers };
    return this.result;
  }

  /** stop() and throw unless the controller exited 0 and left no nginx behind. */
  async stopChecked(): Promise<void> {
    const result = await this.stop();
    if (result.code !== 0 || result.leftovers.length) {
      throw new Error(
        `controller stop: exit code ${result.code}, signal ${result.signal}, nginx leftovers ${JSON.stringify(result.leftovers)}\n${this.log().slice(-3000)}`,
      );
    }
  }
}

export function metricKey(name: string, labels: Record<string, string> = {}): string {
  const full = name.startsWith(METRIC_PREFIX) ? name : METRIC_PREFIX + name;
  const labelText = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return labelText ? `${full}{${labelText}}` : full;
}

/**
 * Spawn `run` on the nginx prefix with modeArgs (its own flags, --nginx-prefix among them), the loopback
 * flags on free ports (unless o.ports gives some), short sync waits, then o.extraArgs. Waits for nothing:
 * startController() and sidecar.ts's startSidecarController() start the controller through this.
 */
export async function spawnController(
  options: Pick<StartOptions, 'manifests' | 'extraArgs' | 'ports' | 'user' | 'cli' | 'env'>,
  prefix: string,
  modeArgs: string[],
): Promise<RunningController> {
  const [httpPort, httpsPort, statusPort, internalPort] = await freePorts(4);
  const ports: Ports = {
    http: httpPort!,
    https: httpsPort!,
    status: statusPort!,
    internal: internalPort!,
    ...options.ports,
  };
  const args = [
    options.cli ?? CLI,
    'run',
    ...modeArgs,
    '--manifests',
    options.manifests,
    '--listen-address',
    '127.0.0.1',
    '--status-address',
    '127.0.0.1',
    '--http-port',
    String(ports.http),
    '--https-port',
    String(ports.https),
    '--status-port',
    String(ports.status),
    '--internal-port',
    String(ports.internal),
    '--min-wait',
    '50',
    '--max-wait',
    '500',
    ...(options.extraArgs ?? []),
  ];
  // another user may not be allowed into the checkout: it then starts in its own prefix
  const cwd = options.user ? prefix : REPO;
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...cleanEnv(), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.user ?? {}),
  });
  return new RunningController(child, ports, prefix, options.manifests);
}

export async function startController(options: StartOptions): Promise<RunningController> {
  const prefix = options.prefix ?? fs.mkdtempSync(path.join(os.tmpdir(), 'itp-e2e-nginx-'));
  if (options.user) fs.chownSync(prefix, options.user.uid, options.user.gid);
  const ctl = await spawnController(options, prefix, ['--nginx-prefix', prefix]);
  if (options.waitReady ?? true) {
    try {
      await ctl.waitReady(options.readyTimeoutMs);
    } catch (err) {
      await ctl.stop();
      throw err;
    }
  }
  return ctl;
}

/** For afterEach: print the controller's log when the test just failed, which is where the why is. */
export function dumpLogOnFailure(ctx: Mocha.Context, ctl: RunningController | undefined): void {
  if (ctl && ctx.currentTest?.state === 'failed') {
    process.stderr.write(
      `\n--- controller log (last 4000 chars) for "${ctx.currentTest.title}":\n${ctl.log().slice(-4000)}\n---\n`,
    );
  }
}

/**
 * Registers, in the calling describe(), the hooks every controller suite needs: after each test its log
 * when it failed; after all, stopChecked() (so a non-zero exit or a leftover nginx fails the suite), then
 * cleanup, which runs even when the stop throws. get() is read when the hooks run, so the controller may
 * be started later (in before() or in a test).
 */
export function stopAfter(get: () => RunningController | undefined, cleanup?: () => unknown): void {
  afterEach(function () {
    dumpLogOnFailure(this, get());
  });

  after(async function () {
    this.timeout(30_000);
    try {
      await get()?.stopChecked();
    } finally {
      await cleanup?.();
    }
  });
}

/**
 * The built CLI as `user` can run it: this checkout's when the user can reach it, else a copy of the
 * runtime (dist/src, node_modules, templates, nginx/lua, package.json) in a directory anyone can read,
 * because a checkout under a 0700 directory (mktemp, root's home) is closed to other users.
 */
export function cliRunnableBy(user: { uid: number; gid: number }): { cli: string; cleanup(): void } {
  const probe = spawnSync(process.execPath, [CLI, '--version'], { uid: user.uid, gid: user.gid, encoding: 'utf8' });
  if (probe.status === 0) return { cli: CLI, cleanup: () => undefined };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-runtime-'));
  fs.chmodSync(dir, 0o755);
  for (const part of ['dist/src', 'node_modules', 'templates', 'nginx', 'package.json']) {
    fs.cpSync(path.join(REPO, part), path.join(dir, part), { recursive: true });
  }
  return {
    cli: path.join(dir, 'dist', 'src', 'cli.js'),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
