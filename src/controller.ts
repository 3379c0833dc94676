// The sync loop: watch, debounce (min:max wait), refresh the named files, then either patch endpoints
// (Lua balancer) or rebuild and render, and apply in a lane of its own when the text changed.
import type http from 'node:http';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Debouncer } from './debounce.js';
import { failureReason } from './errors.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { collectGarbage } from './collect-garbage.js';
import type { ClassOptions, Model } from './model/index.js';
import { Applier } from './nginx/apply.js';
import { backendPayload, fetchBackends, hostPort, Pusher } from './nginx/endpoints.js';
import { servicesOf, updateEndpoints } from './model/endpoint-update.js';
import { probeBinary } from './nginx/binary.js';
import { ensureDefaultCertificate, preparePrefix, workerGroup } from './nginx/files.js';
import { NginxProcess, reapStale } from './nginx/process.js';
import type { NginxHandle } from './nginx/process.js';
import { ExternalNginx } from './nginx/external.js';
import { SnippetChecker } from './nginx/snippets.js';
import { balancerMode, renderOptionsFor, settle } from './plan.js';
import type { Plan } from './plan.js';
import { ManifestSet } from './sources/manifest-set.js';
import { loadTemplates, LUA_DIR } from './render/index.js';
import type { BalancerMode, RenderOptions, Renderer } from './render/index.js';
import { NameResolver } from './name-resolver.js';
import { watchDirectory } from './sources/watcher.js';
import { startStatusServer } from './status-server.js';
import { selfPolicy } from './own-listeners.js';
import type { EndpointPolicy } from './model/endpoint-policy.js';
import type { Problem } from './resources.js';
import { formatProblem } from './resources.js';

export interface ControllerOptions {
  manifests: string;
  prefix: string;
  listenAddress: string;
  httpPort: number;
  httpsPort: number;
  statusAddress: string;
  statusPort: number;
  internalPort: number;
  podIPs: string[]; // this pod's addresses (--pod-ip / POD_IP), beside those of its interfaces
  statusHosts?: string[]; // names the status server answers to besides its addresses (src/status-server.ts)
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

const BIG_CONFIG_BYTES = 1 << 20;
// pushes failing this long (nginx answering but refusing, or not answering) make the controller not ready
const PUSH_FAILING_UNREADY_MS = 10_000;
// what stop() waits at most for the watcher, the sync and the apply in progress
const STOP_WAIT_MS = 3000;

/** Waits for p (its failure too), but no longer than ms. */
async function settleWithin(p: Promise<unknown> | null | undefined, ms: number): Promise<void> {
  if (!p) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p.catch(() => undefined),
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

interface Candidate {
  text: string;
  hash: string;
  model: Model;
  seenAt: number;
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
  private resolveTimer: NodeJS.Timeout | null = null;
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
  private lastModel: Model | null = null; // what nginx runs
  private current: { model: Model; problems: Problem[] } | null = null; // the newest build, endpoints kept current
  private hints = new Set<string>(); // files the watcher named since the last sync
  private rescan = false; // an event named no file: look at the whole tree
  private againForced = false;
  private wanted: Candidate | null = null; // the newest rendered text not yet handed to nginx
  private applying: Promise<void> | null = null;
  private wakeApply: (() => void) | null = null;
  private pushedPid: number | undefined;
  private lastReloadAt = 0;
  private reloadTimer: NodeJS.Timeout | null = null;
  private recheckTimer: NodeJS.Timeout | null = null;
  private policy!: EndpointPolicy;
  private lastPushError = '';

  private readonly debounce: Debouncer;

  constructor(private readonly o: ControllerOptions) {
    this.manifests = new ManifestSet(o.manifests);
    this.debounce = new Debouncer(o.minWaitMs, o.maxWaitMs, () => void this.runSync(false));
  }

  async start(): Promise<void> {
    const o = this.o;
    this.renderer = loadTemplates(o.templateDir);
    // no endpoint may send nginx to these (src/model/endpoint-policy.ts)
    this.policy = selfPolicy({
      httpPort: o.httpPort,
      httpsPort: o.httpsPort,
      statusPort: o.statusPort,
      internalPort: o.internalPort,
      listenAddress: o.listenAddress,
      statusAddress: o.statusAddress,
      podAddresses: o.podIPs,
    });
    const bin = await probeBinary(o.nginxBinary);
    await preparePrefix(o.prefix);
    // a sidecar's nginx lives in another container: it reads our Lua from the shared prefix
    if (o.sidecar) await fs.cp(LUA_DIR, path.join(o.prefix, 'lua'), { recursive: true, force: true });
    else await reapStale(o.prefix, o.log);
    const defaultCertificate = await ensureDefaultCertificate(o.prefix);
    this.mode = balancerMode(o.balancer, bin);
    this.renderOptions = renderOptionsFor(
      {
        prefix: o.prefix,
        listenAddress: o.listenAddress,
        httpPort: o.httpPort,
        httpsPort: o.httpsPort,
        internalPort: o.internalPort,
        defaultCertificate,
        nginxUser: o.nginxUser ?? null,
        version: o.version,
        ...(o.sidecar ? { sidecar: { pidFile: o.sidecar.pidFile } } : {}),
      },
      bin,
      this.mode,
      LUA_DIR,
    );
    if (this.mode === 'lua') {
      this.pusher = new Pusher({
        port: o.internalPort,
        onAck: (seenAt, method) => {
          this.pushedPid = this.nginx.pid;
          this.metrics.endpointPushes++;
          this.metrics.endpointPushFailing = 0;
          this.metrics.backendsRefusedByNginx = this.pusher?.refused.size ?? 0;
          if (method === 'PATCH') this.metrics.endpointPatches++;
          if (seenAt) this.metrics.convergence.observe((Date.now() - seenAt) / 1000);
        },
        onRefused: (now) => {
          this.metrics.backendPushRefusals += now.length;
          for (const r of now) {
            o.log(
              'warn',
              `nginx refused backend ${r.name}: ${r.error}; it keeps its previous endpoints, the other backends were stored`,
              { event: 'backend_refused', backend: r.name },
            );
          }
        },
        onFailure: (e) => {
          this.metrics.endpointPushFailures++;
          this.metrics.endpointPushFailing = 1;
          this.lastPushError = e.message;
          if (this.nginx.running)
            o.log('warn', `endpoint push failed: ${e.message}; retrying`, { event: 'push_failed' });
        },
      });
    }
    // awaited before the nginx object exists: an external nginx may report 'started' on its first poll,
    // and that handler reads this.applier, so nothing may be awaited between the two
    const workerGid = await workerGroup(o.nginxUser);
    const sidecar = o.sidecar;
    this.nginx = sidecar
      ? new ExternalNginx({
          pidFile: sidecar.pidFile,
          internalPort: o.internalPort,
          reloadCommand: sidecar.reloadCommand,
          log: o.log,
        })
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
      // our own first start is confirmed by apply(); any other start runs the file on disk, normally the
      // last applied config: confirm it, then fill its empty shared dict
      if (!sidecar && this.nginx.restarts === 0) return;
      void this.applier.confirmLive().then((ok) => {
        if (this.nginx.pid !== pid) return;
        // it runs something else (a sidecar's own file, or ours written while it was down): give it ours
        if (!ok) {
          void this.runSync(true);
          return;
        }
        this.confirmedPid = pid;
        void this.pusher?.resend(Date.now());
      });
    });
    this.applier = new Applier({
      bin,
      prefix: o.prefix,
      internalPort: o.internalPort,
      process: this.nginx,
      confPath: sidecar?.conf,
      workerGid,
    });
    this.snippets = new SnippetChecker(bin, path.join(o.prefix, 'tmp'), this.mode === 'lua' ? bin.luaModules : []);
    this.status = await startStatusServer(
      o.statusAddress,
      o.statusPort,
      { allowedHosts: o.statusHosts },
      {
        ready: () => this.ready(),
        metrics: () => this.metrics.render(),
        status: () => ({
          ready: this.ready(),
          configHash: this.applier.live?.hash ?? null,
          nginxPid: this.nginx.pid ?? null,
          lastError: this.lastError || null,
          problems: this.lastProblems.map(formatProblem),
          // backends the Lua balancer refused on its own (each keeps its previous endpoints there)
          refusedBackends: Object.fromEntries(this.pusher?.refused ?? []),
        }),
        // lua mode: what nginx holds; static mode: what the running config renders
        backends: async () =>
          this.pusher
            ? { source: 'nginx', backends: await fetchBackends(o.internalPort) }
            : {
                source: 'config',
                backends: Object.fromEntries(
                  (this.lastModel?.backends ?? []).map((b) => [b.name, b.endpoints.map(hostPort)]),
                ),
              },
      },
    );
    o.log(
      'info',
      `nginx ${bin.version} at ${bin.path}; ${this.mode} balancer; prefix ${o.prefix}; watching ${o.manifests}`,
      { event: 'start', nginx: bin.version, balancer: this.mode, prefix: o.prefix, manifests: o.manifests },
    );
    this.watcher = watchDirectory(o.manifests, (why, file) => this.trigger(why, file));
    this.resolveTimer = setInterval(() => void this.refreshNames(), o.resolveIntervalMs);
    this.resolveTimer.unref();
    await this.runSync(true);
  }

  ready(): { ok: boolean; reason: string } {
    if (!this.applier?.live) return { ok: false, reason: 'no configuration applied yet' };
    if (!this.nginx.running) return { ok: false, reason: 'nginx is not running' };
    if (this.confirmedPid === undefined || this.confirmedPid !== this.nginx.pid)
      return { ok: false, reason: 'nginx has not confirmed the configuration' };
    // ready once this nginx instance has had its first push; later pushes in flight do not count
    if (this.pusher && this.pushedPid !== this.nginx.pid)
      return { ok: false, reason: 'endpoints not pushed to nginx yet' };
    // nginx serves stale endpoints while pushes fail; a backend refused alone (reported) does not count:
    // one tenant's Service must not take the whole controller out of its Service
    const failing = this.pusher?.failing ?? 0;
    if (failing && Date.now() - failing >= PUSH_FAILING_UNREADY_MS) {
      return {
        ok: false,
        reason: `endpoint pushes to nginx failing for ${Math.round((Date.now() - failing) / 1000)} s: ${this.lastPushError}`,
      };
    }
    if (this.nginx instanceof ExternalNginx && this.nginx.settledHash !== this.applier.live.hash) {
      return {
        ok: false,
        reason: `the external nginx runs config ${this.nginx.settledHash?.slice(0, 12) ?? '(unknown)'}, not ${this.applier.live.hash.slice(0, 12)}`,
      };
    }
    return { ok: true, reason: `ok ${this.applier.live.hash}` };
  }

  /** Schedule a sync: minWait after the latest event, but no later than maxWait after the first. */
  trigger(why: string, file?: string): void {
    if (this.stopped) return;
    // the files named since the last sync are all it needs to look at; an event naming none means a rescan
    if (file === undefined) this.rescan = true;
    else this.hints.add(file);
    this.debounce.note();
    if (why.startsWith('watch error')) this.o.log('warn', `watcher: ${why}`, { event: 'watch_error' });
  }

  private async runSync(force: boolean): Promise<void> {
    if (this.syncing) {
      this.again = true;
      this.againForced ||= force;
      return this.syncing;
    }
    const seenAt = this.debounce.take();
    // a sync that throws (a file that cannot be read, the endpoint fast path, a push) is reported and
    // counted like any failed sync; the loop goes on and nginx keeps the last good state
    this.syncing = this.sync(force, seenAt)
      .catch((e: unknown) => this.failed(e instanceof Error ? e : new Error(String(e))))
      .finally(() => {
        this.syncing = null;
      });
    await this.syncing;
    if (this.again && !this.stopped) {
      this.again = false;
      if (this.againForced) {
        this.againForced = false;
        void this.runSync(true);
      } else this.trigger('changes during the last sync');
    }
  }

  /**
   * sources -> store -> model -> render, then hand the text to the apply lane. When only Endpoints or
   * EndpointSlices changed (Lua balancer), the model is patched for those Services and their backends
   * are pushed: no rebuild, no render, and never waiting for an nginx -t or reload in progress.
   */
  private async sync(force: boolean, seenAt: number): Promise<void> {
    const started = process.hrtime.bigint();
    this.metrics.syncs++;
    const files = force || this.rescan ? undefined : this.hints;
    this.hints = new Set();
    this.rescan = false;
    const changed = await this.manifests.refresh(files);
    this.metrics.fullScans = this.manifests.fullScans;
    const changes = this.manifests.store.takeChanges();
    // a file held back as possibly half written may get no further event: look again when it is due
    const due = this.manifests.recheckAt;
    if (due && !this.recheckTimer && !this.stopped) {
      const held = [...this.manifests.held]; // recheckAt is set only with the files it holds
      this.recheckTimer = setTimeout(
        () => {
          this.recheckTimer = null;
          for (const f of held) this.trigger('in-place write settled', f);
        },
        Math.max(0, due - Date.now()) + 10,
      );
    }
    try {
      if (!changed && !force && this.applier.live && this.nginx.running) return;
      const services = force || !this.pusher || !this.current ? null : servicesOf(changes);
      if (services && this.current) {
        const update = updateEndpoints(this.current.model, this.manifests.store, services, this.policy);
        if (update) {
          this.metrics.endpointSyncs++;
          this.current = { model: update.model, problems: this.current.problems };
          this.report([...this.manifests.problems(), ...this.current.problems]);
          await this.pusher!.updateBackends(update.changed.map(backendPayload), seenAt, this.pushMode());
          return;
        }
      }
      await this.rebuild(force, seenAt);
    } finally {
      this.metrics.lastSyncSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    }
  }

  /** Push now while nginx runs a config of ours; before that, keep the set for the push after its start. */
  private pushMode(): 'send' | 'hold' {
    return this.applier.live !== null && this.nginx.running ? 'send' : 'hold';
  }

  private async rebuild(force: boolean, seenAt: number): Promise<void> {
    const started = process.hrtime.bigint();
    // the endpoints each backend has now: one whose new list is over the limit keeps them
    const lastGood = new Map((this.current?.model.backends ?? []).map((b) => [b.name, b.endpoints]));
    // the same plan as render and validate (src/plan.ts); names and snippets are resolved and tested here
    let planned: Plan;
    try {
      planned = (
        await settle(
          this.manifests.store,
          {
            model: {
              ...this.o.classes,
              configMap: this.o.configMap,
              balancer: this.mode,
              endpointPolicy: this.policy,
              lastGood,
            },
            resolved: this.resolver.map,
            snippetVerdicts: this.snippets.known,
            renderer: this.renderer,
            render: this.renderOptions,
          },
          {
            resolve: (names) => this.resolver.resolve(names),
            testSnippets: (checks) => this.snippets.verdictsFor(checks),
          },
        )
      ).plan;
    } catch (e) {
      this.failed(e as Error);
      return;
    }
    const { model, problems, text, hash } = planned;
    this.externalNames = planned.externalNames;
    this.snippets.keepOnly(planned.snippets);
    this.report([...this.manifests.problems(), ...problems]);
    this.metrics.buildRenderSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.current = { model, problems };
    const withheld = model.backends.filter((b) => b.withheld);
    this.metrics.backendsOverLimit = withheld.filter((b) => b.withheld!.overLimit !== undefined).length;
    this.metrics.endpointsRefused = withheld.reduce((n, b) => n + b.withheld!.refused, 0);
    // thousands of Ingresses: give back the garbage of the load, build and render at once (src/collect-garbage.ts)
    if (text.length > BIG_CONFIG_BYTES) collectGarbage();
    // endpoints go out at once, also ahead of a reload that will start routing to new backends
    await this.pusher?.setBackends(model.backends.map(backendPayload), seenAt, this.pushMode());
    this.wanted = { text, hash, model, seenAt };
    this.applying ??= this.applyLane().finally(() => {
      this.applying = null;
    });
    // the first sync (start-up) and forced ones (a restart) finish with nginx running the result
    if (force) await this.applying;
  }

  /**
   * The apply lane: nginx -t, reload, confirm, for the newest rendered text, one at a time and at least
   * --min-reload-interval apart. Syncs and endpoint pushes go on meanwhile; a text rendered while one is
   * being applied replaces any other still waiting, so a burst of changes becomes one more reload.
   */
  private async applyLane(): Promise<void> {
    while (this.wanted && !this.stopped) {
      const c = this.wanted;
      if (this.applier.live?.hash !== c.hash && this.nginx.running) {
        const wait = this.lastReloadAt + this.o.minReloadIntervalMs - Date.now();
        if (wait > 0) {
          await new Promise<void>((resolve) => {
            this.wakeApply = resolve;
            this.reloadTimer = setTimeout(resolve, wait);
          });
          this.reloadTimer = null;
          this.wakeApply = null;
          continue; // a newer text may have arrived meanwhile
        }
      }
      this.wanted = null;
      // nginx not known to run the live config (a restart from another file): apply even if unchanged
      const force = this.applier.live !== null && this.nginx.running && this.confirmedPid !== this.nginx.pid;
      await this.apply(c, force);
    }
  }

  private async apply(c: Candidate, force: boolean): Promise<void> {
    const { text, hash, model, seenAt } = c;
    try {
      const result = await this.applier.apply(text, hash, model.certificates, model.files, force).finally(() => {
        if (this.applier.lastTestSeconds !== null) this.metrics.configTestSeconds = this.applier.lastTestSeconds;
      });
      this.lastModel = model;
      if (result === 'pending') {
        if (!(this.nginx instanceof ExternalNginx)) {
          // ours died and waits out its restart backoff; the failure that ended it stays reported
          this.o.log(
            'info',
            `wrote ${this.applier.confPath} (config ${hash.slice(0, 12)}); nginx reads it when it restarts`,
            { event: 'waiting_for_restart', hash },
          );
          return;
        }
        this.o.log(
          'info',
          `wrote ${this.applier.confPath} (config ${hash.slice(0, 12)}); waiting for the external nginx to start`,
          { event: 'waiting_for_nginx', hash },
        );
      } else if (this.nginx instanceof ExternalNginx) this.nginx.noteConfirmed(hash);
      // nginx runs what the manifests now say (also after a rejected change was reverted)
      this.metrics.lastReloadSuccessful = 1;
      this.lastError = '';
      if (result === 'adopted') {
        this.confirmedPid = this.nginx.pid;
        this.metrics.configHash = hash;
        this.o.log('info', `nginx already runs config ${hash.slice(0, 12)}: adopted without a reload`, {
          event: 'adopted',
          hash,
        });
        await this.pusher?.resend(seenAt);
      } else if (result === 'started' || result === 'reloaded') {
        this.lastReloadAt = Date.now();
        this.confirmedPid = this.nginx.pid;
        if (this.applier.lastReloadSeconds !== null) this.metrics.reloadSeconds = this.applier.lastReloadSeconds;
        // a reload keeps the shared dict, a start begins empty: push the whole set after both
        await this.pusher?.resend(seenAt);
        this.metrics.reloads++;
        this.metrics.lastReloadSuccessTimestamp = Math.floor(Date.now() / 1000);
        this.metrics.configHash = hash;
        this.o.log(
          'info',
          `nginx ${result} with config ${hash.slice(0, 12)} (${model.servers.length} servers, ${model.backends.length} backends)`,
          {
            event: result === 'started' ? 'nginx_started' : 'reload',
            hash,
            servers: model.servers.length,
            backends: model.backends.length,
          },
        );
        if (text.length > BIG_CONFIG_BYTES) collectGarbage(); // the full push and the apply's copies
      } else if (result === 'unchanged' && force && this.confirmedPid !== this.nginx.pid && this.nginx.running) {
        this.confirmedPid = this.nginx.pid;
      }
    } catch (e) {
      this.failed(e as Error);
    }
  }

  /**
   * Every failure of a sync ends here: one log record with its cause, counted by what failed (plan,
   * filesystem, config_test, reload, not_confirmed, internal); nginx keeps serving the last good config.
   */
  private failed(e: Error): void {
    const reason = failureReason(e);
    this.metrics.lastReloadSuccessful = 0;
    this.metrics.reloadFailures[reason]++;
    this.lastError = e.message;
    const kept = this.applier.live ? `; still serving config ${this.applier.live.hash.slice(0, 12)}` : '';
    // a failure of ours (not nginx's verdict, not the disk) is a failed sync, with its stack in the same record
    const ours = reason === 'plan' || reason === 'internal';
    const event = reason === 'config_test' ? 'config_test_failed' : ours ? 'sync_failed' : 'apply_failed';
    this.o.log('error', `${e.message}${kept}`, {
      event,
      reason,
      kept: this.applier.live?.hash,
      ...(ours ? { stack: e.stack ?? String(e) } : {}),
    });
  }

  /** Log each problem once, when it first appears. */
  private report(problems: Problem[]): void {
    const now = new Set<string>();
    for (const p of problems) {
      const line = formatProblem(p);
      now.add(line);
      if (!this.reported.has(line)) {
        this.o.log(p.severity === 'error' ? 'error' : 'warn', line, {
          event: 'manifest_problem',
          file: p.file,
          line: p.line,
          object: p.object,
          field: p.field,
        });
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

  /** For an exit that cannot wait for stop(): our own nginx is told to quit at once (a sidecar's is not ours). */
  terminateNginx(): void {
    if (this.nginx instanceof NginxProcess) this.nginx.terminate();
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopped = true;
    this.debounce.cancel();
    if (this.resolveTimer) clearInterval(this.resolveTimer);
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    this.wakeApply?.();
    if (this.recheckTimer) clearTimeout(this.recheckTimer);
    this.pusher?.stop();
    // a sync or an apply that hangs (a file system that never answers) must not keep nginx from stopping
    await settleWithin(this.watcher?.close(), STOP_WAIT_MS);
    await settleWithin(this.syncing, STOP_WAIT_MS);
    await settleWithin(this.applying, STOP_WAIT_MS);
    await this.nginx?.stop(timeoutMs);
    await new Promise<void>((resolve) => {
      if (!this.status) return resolve();
      this.status.close(() => resolve());
      // a scraper's idle keep-alive connection would hold close() open (Node 18 does not drop it)
      this.status.closeIdleConnections();
    });
  }
}
