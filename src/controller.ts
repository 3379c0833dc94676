// The sync loop: watch, debounce (min:max wait), rescan, rebuild, render, apply when the text changed.
import type http from 'node:http';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigTestError, NginxError } from './errors.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { buildModel } from './model/index.js';
import type { ClassOptions, Model } from './model/index.js';
import { Applier } from './nginx/apply.js';
import { fetchBackends, hostPort, payloadFor, Pusher } from './nginx/endpoints.js';
import { probeBinary } from './nginx/binary.js';
import { ensureDefaultCertificate, preparePrefix, workerGroup } from './nginx/files.js';
import { NginxProcess, reapStale } from './nginx/process.js';
import type { NginxHandle } from './nginx/process.js';
import { ExternalNginx } from './nginx/external.js';
import { SnippetChecker } from './nginx/snippets.js';
import { ManifestSet } from './pipeline.js';
import { loadTemplates, LUA_DIR } from './render/index.js';
import type { BalancerMode, RenderOptions, Renderer } from './render/index.js';
import { NameResolver } from './resolver.js';
import { watchDirectory } from './sources/watcher.js';
import { startStatusServer } from './status.js';
import type { Problem } from './types.js';
import { formatProblem } from './types.js';

export interface ControllerOptions {
  manifests: string;
  prefix: string;
  listenAddress: string;
  httpPort: number;
  httpsPort: number;
  statusAddress: string;
  statusPort: number;
  internalPort: number;
  templateDir?: string;
  configMap?: { namespace: string; name: string };
  classes: ClassOptions;
  nginxBinary: string;
  nginxUser?: string | null;
  minWaitMs: number; // quiet time after the last event before a sync
  maxWaitMs: number; // a steady trickle of events cannot postpone a sync longer than this
  minReloadIntervalMs: number; // reloads are spaced at least this far apart; endpoint pushes never wait
  balancer: BalancerMode | 'auto';
  // sidecar mode: nginx runs elsewhere (another container) from the config file we write
  sidecar?: { conf: string; pidFile: string; reloadCommand?: string };
  resolveIntervalMs: number;
  version: string;
  log: Logger;
}

export class Controller {
  readonly metrics = new Metrics();
  private manifests: ManifestSet;
  private resolver = new NameResolver();
  private renderer!: Renderer;
  private renderOptions!: RenderOptions;
  private applier!: Applier;
  private snippets!: SnippetChecker;
  private nginx!: NginxHandle;
  private status: http.Server | null = null;
  private watcher: { close(): Promise<void> } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private resolveTimer: NodeJS.Timeout | null = null;
  private firstPending = 0;
  private syncing: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private confirmedPid: number | undefined;
  private reported = new Set<string>();
  private lastProblems: Problem[] = [];
  private lastError = '';
  private externalNames: string[] = [];
  private mode: BalancerMode = 'static';
  private pusher: Pusher | null = null;
  private payload: string | null = null;
  private lastModel: Model | null = null;
  private pushedPid: number | undefined;
  private lastReloadAt = 0;
  private reloadTimer: NodeJS.Timeout | null = null;
  private recheckTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: ControllerOptions) {
    this.manifests = new ManifestSet(o.manifests);
  }

  async start(): Promise<void> {
    const o = this.o;
    this.renderer = loadTemplates(o.templateDir);
    const bin = await probeBinary(o.nginxBinary);
    await preparePrefix(o.prefix);
    // a sidecar's nginx lives in another container: it reads our Lua from the shared prefix
    const luaDir = o.sidecar ? path.join(o.prefix, 'lua') : LUA_DIR;
    if (o.sidecar) await fs.cp(LUA_DIR, luaDir, { recursive: true, force: true });
    else await reapStale(o.prefix, o.log);
    const defaultCertificate = await ensureDefaultCertificate(o.prefix);
    if (o.balancer === 'lua' && !bin.lua) throw new NginxError(`--balancer lua needs ngx_lua, which ${bin.path} does not have (install libnginx-mod-http-lua, or use OpenResty)`);
    this.mode = o.balancer === 'auto' ? (bin.lua ? 'lua' : 'static') : o.balancer;
    this.renderOptions = {
      prefix: o.prefix, listenAddress: o.listenAddress, httpPort: o.httpPort, httpsPort: o.httpsPort,
      internalPort: o.internalPort, defaultCertificate, user: o.nginxUser ?? null, features: bin.features, version: o.version,
      balancer: this.mode, luaDir, luaModules: bin.luaModules, pidFile: o.sidecar?.pidFile,
    };
    if (this.mode === 'lua') {
      this.pusher = new Pusher({
        port: o.internalPort,
        onAck: (seenAt) => {
          this.pushedPid = this.nginx.pid;
          this.metrics.endpointPushes++;
          if (seenAt) this.metrics.convergence.observe((Date.now() - seenAt) / 1000);
        },
        onFailure: (e) => {
          this.metrics.endpointPushFailures++;
          if (this.nginx.running) o.log('warn', `endpoint push failed: ${e.message}; retrying`, { event: 'push_failed' });
        },
      });
    }
    // awaited before the nginx object exists: an external nginx may report 'started' on its first poll,
    // and that handler reads this.applier, so nothing may be awaited between the two
    const workerGid = await workerGroup(o.nginxUser);
    const sidecar = o.sidecar;
    this.nginx = sidecar
      ? new ExternalNginx({ pidFile: sidecar.pidFile, internalPort: o.internalPort, reloadCommand: sidecar.reloadCommand, log: o.log })
      : new NginxProcess({ bin, prefix: o.prefix, conf: path.join(o.prefix, 'nginx.conf'), log: o.log });
    this.nginx.on('exited', () => {
      this.confirmedPid = undefined;
      this.pusher?.reset(); // a new master starts with an empty shared dict
    });
    this.nginx.on('started', (pid: number) => {
      if (this.nginx.restarts > 0) this.metrics.nginxRestarts++;
      // an external nginx that comes up before anything was confirmed gets our config now
      // as does our own nginx restarted after its first start failed (say its port was taken)
      if (!this.applier.live) {
        if (sidecar || this.nginx.restarts > 0) void this.runSync(true);
        return;
      }
      // our own first start is confirmed by apply(); any other start runs the file on disk, which is
      // the last applied config: confirm it, then fill its empty shared dict
      if (!sidecar && this.nginx.restarts === 0) return;
      void this.applier.confirmLive().then((ok) => {
        if (this.nginx.pid !== pid) return;
        if (!ok) {
          if (sidecar) void this.runSync(true); // it runs something else: give it ours
          return;
        }
        this.confirmedPid = pid;
        if (this.payload) void this.pusher?.push(this.payload, 0, true);
      });
    });
    this.applier = new Applier({
      bin, prefix: o.prefix, internalPort: o.internalPort, process: this.nginx, confPath: sidecar?.conf, workerGid,
    });
    this.snippets = new SnippetChecker(bin, path.join(o.prefix, 'tmp'), this.mode === 'lua' ? bin.luaModules : []);
    this.status = await startStatusServer(o.statusAddress, o.statusPort, {
      ready: () => this.ready(),
      metrics: () => this.metrics.render(),
      status: () => ({
        ready: this.ready(), configHash: this.applier.live?.hash ?? null, nginxPid: this.nginx.pid ?? null,
        lastError: this.lastError || null, problems: this.lastProblems.map(formatProblem),
      }),
      // lua mode: what nginx holds; static mode: what the running config renders
      backends: async () => this.pusher
        ? { source: 'nginx', backends: await fetchBackends(o.internalPort) }
        : { source: 'config', backends: Object.fromEntries((this.lastModel?.backends ?? []).map((b) => [b.name, b.endpoints.map(hostPort)])) },
    });
    o.log('info', `nginx ${bin.version} at ${bin.path}; ${this.mode} balancer; prefix ${o.prefix}; watching ${o.manifests}`,
      { event: 'start', nginx: bin.version, balancer: this.mode, prefix: o.prefix, manifests: o.manifests });
    this.watcher = watchDirectory(o.manifests, (why) => this.trigger(why));
    this.resolveTimer = setInterval(() => void this.refreshNames(), o.resolveIntervalMs);
    this.resolveTimer.unref();
    await this.runSync(true);
  }

  ready(): { ok: boolean; reason: string } {
    if (!this.applier?.live) return { ok: false, reason: 'no configuration applied yet' };
    if (!this.nginx.running) return { ok: false, reason: 'nginx is not running' };
    if (this.confirmedPid === undefined || this.confirmedPid !== this.nginx.pid) return { ok: false, reason: 'nginx has not confirmed the configuration' };
    // ready once this nginx instance has had its first push; later pushes in flight do not count
    if (this.pusher && this.pushedPid !== this.nginx.pid) return { ok: false, reason: 'endpoints not pushed to nginx yet' };
    if (this.nginx instanceof ExternalNginx && this.nginx.settledHash !== this.applier.live.hash) {
      return { ok: false, reason: `the external nginx runs config ${this.nginx.settledHash?.slice(0, 12) ?? '(unknown)'}, not ${this.applier.live.hash.slice(0, 12)}` };
    }
    return { ok: true, reason: `ok ${this.applier.live.hash}` };
  }

  /** Schedule a sync: minWait after the latest event, but no later than maxWait after the first. */
  trigger(why: string): void {
    if (this.stopped) return;
    const now = Date.now();
    if (!this.firstPending) this.firstPending = now;
    if (this.timer) clearTimeout(this.timer);
    const due = Math.min(now + this.o.minWaitMs, this.firstPending + this.o.maxWaitMs);
    this.timer = setTimeout(() => { this.timer = null; void this.runSync(false); }, Math.max(0, due - now));
    if (why.startsWith('watch error')) this.o.log('warn', `watcher: ${why}`, { event: 'watch_error' });
  }

  private async runSync(force: boolean): Promise<void> {
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    const seenAt = this.firstPending || Date.now();
    this.firstPending = 0;
    this.syncing = this.sync(force, seenAt).finally(() => { this.syncing = null; });
    await this.syncing;
    if (this.again && !this.stopped) {
      this.again = false;
      this.trigger('changes during the last sync');
    }
  }

  private async sync(force: boolean, seenAt: number): Promise<void> {
    const started = process.hrtime.bigint();
    this.metrics.syncs++;
    const changed = await this.manifests.refresh();
    // a file held back as possibly half written may get no further event: look again when it is due
    const due = this.manifests.recheckAt;
    if (due && !this.recheckTimer && !this.stopped) {
      this.recheckTimer = setTimeout(() => { this.recheckTimer = null; this.trigger('in-place write settled'); }, Math.max(0, due - Date.now()) + 10);
    }
    if (!changed && !force && this.applier.live && this.nginx.running) {
      this.metrics.lastSyncSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      return;
    }
    const input = { ...this.o.classes, configMap: this.o.configMap, resolved: this.resolver.map, balancer: this.mode };
    let built = buildModel(this.manifests.store, input);
    if (built.externalNames.some((n) => !this.resolver.has(n))) {
      await this.resolver.refresh(built.externalNames);
      built = buildModel(this.manifests.store, input);
    }
    this.externalNames = built.externalNames;
    // snippet annotations: each one alone through nginx -t first; a refused one is left out (its paths answer 503)
    const snippetProblems = await this.snippets.check(built.model);
    this.report([...this.manifests.problems(), ...built.problems, ...snippetProblems]);
    try {
      const { text, hash } = this.renderer.render(built.model, this.renderOptions);
      if (this.pusher) {
        // endpoints go out at once, also ahead of a reload that will start routing to new backends
        this.payload = payloadFor(built.model);
        if (this.applier.live && this.nginx.running) await this.pusher.push(this.payload, seenAt);
      }
      if (this.applier.live?.hash !== hash && this.nginx.running) {
        const wait = this.lastReloadAt + this.o.minReloadIntervalMs - Date.now();
        if (wait > 0) {
          // too soon after the last reload: come back when it is due (bursts become one reload)
          if (!this.reloadTimer) this.reloadTimer = setTimeout(() => { this.reloadTimer = null; void this.runSync(true); }, wait);
          return;
        }
      }
      // nginx not known to run the live config (a restart from another file): apply even if unchanged
      const force = this.applier.live !== null && this.nginx.running && this.confirmedPid !== this.nginx.pid;
      const result = await this.applier.apply(text, hash, built.model.certificates, built.model.files, force);
      if (result !== 'pending' && this.nginx instanceof ExternalNginx) this.nginx.noteConfirmed(hash);
      this.lastModel = built.model;
      // nginx runs what the manifests now say (also after a rejected change was reverted)
      this.metrics.lastReloadSuccessful = 1;
      this.lastError = '';
      if (result === 'adopted') {
        this.confirmedPid = this.nginx.pid;
        this.metrics.configHash = hash;
        this.lastModel = built.model;
        this.o.log('info', `nginx already runs config ${hash.slice(0, 12)}: adopted without a reload`, { event: 'adopted', hash });
        if (this.pusher && this.payload) await this.pusher.push(this.payload, seenAt, true);
      } else if (result === 'pending') {
        this.o.log('info', `wrote ${this.applier.confPath} (config ${hash.slice(0, 12)}); waiting for the external nginx to start`, { event: 'waiting_for_nginx', hash });
      } else if (result !== 'unchanged') {
        this.lastReloadAt = Date.now();
        this.confirmedPid = this.nginx.pid;
        // a reload keeps the shared dict, a start begins empty: push the whole set after both
        if (this.pusher && this.payload) await this.pusher.push(this.payload, seenAt, true);
        this.metrics.reloads++;
        this.metrics.lastReloadSuccessTimestamp = Math.floor(Date.now() / 1000);
        this.metrics.configHash = hash;
        this.o.log('info', `nginx ${result} with config ${hash.slice(0, 12)} (${built.model.servers.length} servers, ${built.model.backends.length} backends)`,
          { event: result === 'started' ? 'nginx_started' : 'reload', hash, servers: built.model.servers.length, backends: built.model.backends.length });
      }
    } catch (e) {
      this.metrics.lastReloadSuccessful = 0;
      if (e instanceof ConfigTestError) this.metrics.reloadFailures.config_test++;
      else this.metrics.reloadFailures.not_confirmed++;
      this.lastError = (e as Error).message;
      const kept = this.applier.live ? `; still serving config ${this.applier.live.hash.slice(0, 12)}` : '';
      this.o.log('error', `${(e as Error).message}${kept}`, {
        event: e instanceof ConfigTestError ? 'config_test_failed' : 'apply_failed', kept: this.applier.live?.hash,
      });
      if (!(e instanceof ConfigTestError || e instanceof NginxError)) this.o.log('error', (e as Error).stack ?? String(e));
    } finally {
      this.metrics.lastSyncSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    }
  }

  /** Log each problem once, when it first appears. */
  private report(problems: Problem[]): void {
    const now = new Set<string>();
    for (const p of problems) {
      const line = formatProblem(p);
      now.add(line);
      if (!this.reported.has(line)) {
        this.o.log(p.severity === 'error' ? 'error' : 'warn', line, { event: 'manifest_problem', file: p.file, line: p.line, object: p.object, field: p.field });
      }
    }
    this.reported = now;
    this.lastProblems = problems;
    this.metrics.rejectedManifests = this.manifests.rejectedCount();
    this.metrics.problems = {
      error: problems.filter((p) => p.severity === 'error').length,
      warning: problems.filter((p) => p.severity === 'warning').length,
    };
  }

  private async refreshNames(): Promise<void> {
    if (this.externalNames.length && (await this.resolver.refresh(this.externalNames))) {
      this.o.log('info', 'ExternalName addresses changed', { event: 'dns_changed' });
      await this.runSync(true);
    }
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.resolveTimer) clearInterval(this.resolveTimer);
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    if (this.recheckTimer) clearTimeout(this.recheckTimer);
    this.pusher?.stop();
    await this.watcher?.close();
    await this.syncing?.catch(() => undefined);
    await this.nginx?.stop(timeoutMs);
    await new Promise<void>((resolve) => {
      if (!this.status) return resolve();
      this.status.close(() => resolve());
      // a scraper's idle keep-alive connection would hold close() open (Node 18 does not drop it)
      this.status.closeIdleConnections();
    });
  }
}
