// The sync loop: watch, debounce (min:max wait), rescan, rebuild, render, apply when the text changed.
import type http from 'node:http';
import path from 'node:path';
import { ConfigTestError, NginxError } from './errors.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { buildModel } from './model/index.js';
import type { ClassOptions } from './model/index.js';
import { Applier } from './nginx/apply.js';
import { probeBinary } from './nginx/binary.js';
import { ensureDefaultCertificate, preparePrefix } from './nginx/files.js';
import { NginxProcess, reapStale } from './nginx/process.js';
import { ManifestSet } from './pipeline.js';
import { loadTemplates } from './render/index.js';
import type { RenderOptions, Renderer } from './render/index.js';
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
  private nginx!: NginxProcess;
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

  constructor(private readonly o: ControllerOptions) {
    this.manifests = new ManifestSet(o.manifests);
  }

  async start(): Promise<void> {
    const o = this.o;
    this.renderer = loadTemplates(o.templateDir);
    const bin = await probeBinary(o.nginxBinary);
    await preparePrefix(o.prefix);
    await reapStale(o.prefix, o.log);
    const defaultCertificate = await ensureDefaultCertificate(o.prefix);
    this.renderOptions = {
      prefix: o.prefix, listenAddress: o.listenAddress, httpPort: o.httpPort, httpsPort: o.httpsPort,
      internalPort: o.internalPort, defaultCertificate, user: o.nginxUser ?? null, features: bin.features, version: o.version,
    };
    this.nginx = new NginxProcess({ bin, prefix: o.prefix, conf: path.join(o.prefix, 'nginx.conf'), log: o.log });
    this.nginx.on('exited', () => { this.confirmedPid = undefined; });
    this.nginx.on('started', (pid: number) => {
      // a restart after a crash runs the file on disk, which is the last applied config
      if (!this.applier.live || this.nginx.restarts === 0) return;
      this.metrics.nginxRestarts++;
      void this.applier.confirmLive().then((ok) => {
        if (ok && this.nginx.pid === pid) this.confirmedPid = pid;
      });
    });
    this.applier = new Applier({ bin, prefix: o.prefix, internalPort: o.internalPort, process: this.nginx });
    this.status = await startStatusServer(o.statusAddress, o.statusPort, {
      ready: () => this.ready(),
      metrics: () => this.metrics.render(),
      status: () => ({
        ready: this.ready(), configHash: this.applier.live?.hash ?? null, nginxPid: this.nginx.pid ?? null,
        lastError: this.lastError || null, problems: this.lastProblems.map(formatProblem),
      }),
    });
    o.log('info', `nginx ${bin.version} at ${bin.path}; prefix ${o.prefix}; watching ${o.manifests}`);
    this.watcher = watchDirectory(o.manifests, (why) => this.trigger(why));
    this.resolveTimer = setInterval(() => void this.refreshNames(), o.resolveIntervalMs);
    this.resolveTimer.unref();
    await this.runSync(true);
  }

  ready(): { ok: boolean; reason: string } {
    if (!this.applier?.live) return { ok: false, reason: 'no configuration applied yet' };
    if (!this.nginx.running) return { ok: false, reason: 'nginx is not running' };
    if (this.confirmedPid === undefined || this.confirmedPid !== this.nginx.pid) return { ok: false, reason: 'nginx has not confirmed the configuration' };
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
    if (why.startsWith('error')) this.o.log('warn', `watcher: ${why}`);
  }

  private async runSync(force: boolean): Promise<void> {
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.firstPending = 0;
    this.syncing = this.sync(force).finally(() => { this.syncing = null; });
    await this.syncing;
    if (this.again && !this.stopped) {
      this.again = false;
      this.trigger('changes during the last sync');
    }
  }

  private async sync(force: boolean): Promise<void> {
    const started = process.hrtime.bigint();
    this.metrics.syncs++;
    const changed = await this.manifests.refresh();
    if (!changed && !force && this.applier.live && this.nginx.running) {
      this.metrics.lastSyncSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      return;
    }
    const input = { ...this.o.classes, configMap: this.o.configMap, resolved: this.resolver.map };
    let built = buildModel(this.manifests.store, input);
    if (built.externalNames.some((n) => !this.resolver.has(n))) {
      await this.resolver.refresh(built.externalNames);
      built = buildModel(this.manifests.store, input);
    }
    this.externalNames = built.externalNames;
    this.report([...this.manifests.problems(), ...built.problems]);
    try {
      const { text, hash } = this.renderer.render(built.model, this.renderOptions);
      const result = await this.applier.apply(text, hash, built.model.certificates);
      // nginx runs what the manifests now say (also after a rejected change was reverted)
      this.metrics.lastReloadSuccessful = 1;
      this.lastError = '';
      if (result !== 'unchanged') {
        this.confirmedPid = this.nginx.pid;
        this.metrics.reloads++;
        this.metrics.lastReloadSuccessTimestamp = Math.floor(Date.now() / 1000);
        this.metrics.configHash = hash;
        this.o.log('info', `nginx ${result} with config ${hash.slice(0, 12)} (${built.model.servers.length} servers, ${built.model.backends.length} backends)`);
      }
    } catch (e) {
      this.metrics.lastReloadSuccessful = 0;
      if (e instanceof ConfigTestError) this.metrics.reloadFailures.config_test++;
      else this.metrics.reloadFailures.not_confirmed++;
      this.lastError = (e as Error).message;
      const kept = this.applier.live ? `; still serving config ${this.applier.live.hash.slice(0, 12)}` : '';
      this.o.log('error', `${(e as Error).message}${kept}`);
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
      if (!this.reported.has(line)) this.o.log(p.severity === 'error' ? 'error' : 'warn', line);
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
      this.o.log('info', 'ExternalName addresses changed');
      await this.runSync(true);
    }
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.resolveTimer) clearInterval(this.resolveTimer);
    await this.watcher?.close();
    await this.syncing?.catch(() => undefined);
    await this.nginx?.stop(timeoutMs);
    await new Promise<void>((resolve) => (this.status ? this.status.close(() => resolve()) : resolve()));
  }
}
