// `run`'s controller from its options: the I/O of getting ready (nginx's features, the prefix, the default
// certificate, the Lua files a sidecar's nginx reads), then the real parts of the loop: the manifest
// directory, the planner, nginx (our child or a sidecar's), the applier, the endpoint pusher, and the
// status server.
import fs from 'node:fs/promises';
import path from 'node:path';
import { Controller } from '../controller.js';
import type { Logger } from '../log.js';
import { nginxNotes } from '../migration-report.js';
import { Metrics } from '../metrics.js';
import type { ClassOptions } from '../model/index.js';
import { Applier } from '../nginx/apply.js';
import { probeBinary } from '../nginx/binary.js';
import type { NginxBinary } from '../nginx/binary.js';
import { fetchBackends, hostPort, Pusher } from '../nginx/endpoints.js';
import { ExternalNginx } from '../nginx/external.js';
import { ensureDefaultCertificate, preparePrefix, workerGroup } from '../nginx/files.js';
import { NginxProcess, reapStale } from '../nginx/process.js';
import type { NginxHandle } from '../nginx/process.js';
import { SnippetChecker } from '../nginx/snippets.js';
import { selfPolicy } from '../own-listeners.js';
import { balancerMode, renderOptionsFor } from '../plan.js';
import { loadTemplates, LUA_DIR } from '../render/index.js';
import type { BalancerMode } from '../render/index.js';
import { formatProblem } from '../resources.js';
import { startStatusServer } from '../status-server.js';
import { DirectorySource } from '../sources/directory-source.js';
import { ApiSource, watchedKinds } from '../sources/kubernetes/api-source.js';
import { canListIngressClasses } from '../sources/kubernetes/ingress-class-access.js';
import { referencedObjects } from '../model/references.js';
import type { ApiConfig } from '../sources/kubernetes/config.js';
import { reflectorWatch } from '../sources/kubernetes/reflector-watch.js';
import { Store } from '../store.js';
import { EventRecorder } from '../publish/events.js';
import type { Source } from './source.js';
import { Planner } from './planner.js';
import { IngressStatusPublisher } from '../publish/ingress-status.js';
import type { StatusSettings } from '../publish/status-flags.js';
import type { SyncObserver } from './parts.js';

/** Kubernetes Events in API mode (src/publish/events.ts). */
export interface EventOptions {
  /** Normal Sync Events (false: --disable-sync-events); Warnings are always written */
  sync: boolean;
  /** POD_NAME, which tells the replicas' Events apart */
  podName?: string;
}

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
  defaultBackendService?: { namespace: string; name: string }; // --default-backend-service
  defaultSslCertificate?: { namespace: string; name: string }; // --default-ssl-certificate
  classes: ClassOptions;
  nginxBinary: string;
  nginxUser?: string | null;
  minWaitMs: number; // quiet time after the last event before a sync
  maxWaitMs: number; // a steady trickle of events cannot postpone a sync longer than this
  minReloadIntervalMs: number; // reloads are spaced at least this far apart; endpoint pushes never wait
  balancer: BalancerMode | 'auto';
  // sidecar mode: nginx runs elsewhere (another container) from the config file we write
  sidecar?: { conf: string; pidFile: string; reloadCommand?: string };
  // API mode: the Kubernetes API is the source (src/sources/kubernetes/), not the manifests directory
  api?: { config: ApiConfig; namespace?: string; events?: EventOptions };
  // API mode: the Ingress status written by the leader of the replicas (src/publish/ingress-status.ts)
  status?: StatusSettings;
  resolveIntervalMs: number;
  version: string;
  log: Logger;
}

/** API mode: the Events about Ingresses (the directory source has no API to write them to). */
function eventObservers(options: ControllerOptions, store: Store, log: Logger): SyncObserver[] {
  const api = options.api;
  if (!api) return [];
  const events = api.events ?? { sync: true };
  const recorder = new EventRecorder({
    api: api.config,
    ingress: (namespace, name) => store.get('Ingress', namespace, name),
    log,
    podName: events.podName,
    syncEvents: events.sync,
  });
  return [recorder];
}

/** The directory, or in API mode one list/watch per kind of the Kubernetes API, feeding one store. */
async function sourceFor(
  options: ControllerOptions,
  log: Logger,
  metrics: Metrics,
): Promise<{ source: Source; store: Store }> {
  const api = options.api;
  if (!api) {
    const directory = new DirectorySource({ root: options.manifests, log, metrics });
    return { source: directory, store: directory.store };
  }
  log('info', `watching the Kubernetes API: ${api.config.origin} (${api.config.server})`, {
    event: 'api_source',
    namespace: api.namespace ?? '(all)',
  });
  const store = new Store();
  let kinds = watchedKinds({ namespace: api.namespace, configMap: options.configMap });
  if (!(await canListIngressClasses(api.config))) {
    kinds = kinds.filter((kind) => kind.kind !== 'IngressClass');
    log(
      'warn',
      'the API refuses to list IngressClasses (403): going on without them, as ingress-nginx did; an Ingress is served when its class (spec.ingressClassName or the kubernetes.io/ingress.class annotation) is --ingress-class, or it has none and --watch-ingress-without-class is on. Grant list and watch on ingressclasses (deploy/rbac.yaml does) to serve classes by their controller',
      { event: 'ingressclass_forbidden' },
    );
  }
  const source = new ApiSource({
    store,
    kinds,
    watch: (kind) => reflectorWatch(api.config, kind, log, metrics),
    log,
    // the model's own view of what the served Ingresses and the settings name
    references: (current) =>
      referencedObjects(current, {
        ...options.classes,
        configMap: options.configMap,
        defaultSslCertificate: options.defaultSslCertificate,
      }),
  });
  return { source, store };
}

export async function assembleController(options: ControllerOptions): Promise<Controller> {
  const { log, prefix, sidecar } = options;
  const renderer = loadTemplates(options.templateDir);
  // no endpoint may send nginx to these (src/model/endpoint-policy.ts)
  const endpointPolicy = selfPolicy({
    httpPort: options.httpPort,
    httpsPort: options.httpsPort,
    statusPort: options.statusPort,
    internalPort: options.internalPort,
    listenAddress: options.listenAddress,
    statusAddress: options.statusAddress,
    podAddresses: options.podIPs,
  });
  const bin = await probeBinary(options.nginxBinary);
  await preparePrefix(prefix);
  // a sidecar's nginx lives in another container: it reads our Lua from the shared prefix
  if (sidecar) await fs.cp(LUA_DIR, path.join(prefix, 'lua'), { recursive: true, force: true });
  else await reapStale(prefix, log);
  const defaultCertificate = await ensureDefaultCertificate(prefix);
  const mode = balancerMode(options.balancer, bin);
  for (const note of nginxNotes(bin.features)) log('warn', note, { event: 'nginx_feature_missing' });
  const render = renderOptionsFor(
    {
      prefix,
      listenAddress: options.listenAddress,
      httpPort: options.httpPort,
      httpsPort: options.httpsPort,
      internalPort: options.internalPort,
      defaultCertificate,
      nginxUser: options.nginxUser ?? null,
      version: options.version,
      ...(sidecar ? { sidecar: { pidFile: sidecar.pidFile } } : {}),
    },
    bin,
    mode,
    LUA_DIR,
  );
  const workerGid = await workerGroup(options.nginxUser);
  // nothing is awaited from here until the controller listens to nginx's events: an external nginx may
  // report 'started' on its first poll
  const nginx = sidecar
    ? new ExternalNginx({
        pidFile: sidecar.pidFile,
        internalPort: options.internalPort,
        reloadCommand: sidecar.reloadCommand,
        log,
      })
    : new NginxProcess({ bin, prefix, conf: path.join(prefix, 'nginx.conf'), log });
  const applier = new Applier({
    bin,
    prefix,
    internalPort: options.internalPort,
    process: nginx,
    confPath: sidecar?.conf,
    workerGid,
  });
  const snippets = new SnippetChecker(bin, path.join(prefix, 'tmp'), mode === 'lua' ? bin.luaModules : []);
  const metrics = new Metrics();
  const { source, store } = await sourceFor(options, log, metrics);
  return new Controller({
    source,
    store,
    planner: new Planner({
      model: {
        ...options.classes,
        configMap: options.configMap,
        defaultBackendService: options.defaultBackendService,
        defaultSslCertificate: options.defaultSslCertificate,
        balancer: mode,
        endpointPolicy,
      },
      renderer,
      render,
      snippets,
    }),
    nginx,
    applier,
    pusher: mode === 'lua' ? (events) => new Pusher({ port: options.internalPort, ...events }) : undefined,
    timing: {
      minWaitMs: options.minWaitMs,
      maxWaitMs: options.maxWaitMs,
      minReloadIntervalMs: options.minReloadIntervalMs,
      resolveIntervalMs: options.resolveIntervalMs,
    },
    log,
    metrics,
    observers: [...eventObservers(options, store, log), ...statusObservers(options)],
    serve: (controller) => serveStatus(controller, options, { bin, mode, applier, nginx }),
  });
}

/** API mode: the Ingress status writer, or the one log record of why there is none. */
function statusObservers({ api, status, podIPs, log }: ControllerOptions): SyncObserver[] {
  if (!api || !status) return [];
  if ('off' in status) {
    log('info', `Ingress status is not written: ${status.off}`, { event: 'ingress_status_off' });
    return [];
  }
  return [new IngressStatusPublisher({ ...status.on, api: api.config, watchNamespace: api.namespace, podIPs, log })];
}

/** The status server (/healthz, /metrics, /status, /backends), then the record that the controller started. */
async function serveStatus(
  controller: Controller,
  options: ControllerOptions,
  { bin, mode, applier, nginx }: { bin: NginxBinary; mode: BalancerMode; applier: Applier; nginx: NginxHandle },
): Promise<{ close(): Promise<void> }> {
  const server = await startStatusServer(
    options.statusAddress,
    options.statusPort,
    { allowedHosts: options.statusHosts },
    {
      ready: () => controller.ready(),
      metrics: () => controller.metrics.render(),
      status: () => ({
        ready: controller.ready(),
        configHash: applier.live?.hash ?? null,
        nginxPid: nginx.pid ?? null,
        lastError: controller.reporter.lastError || null,
        problems: controller.reporter.problems.map(formatProblem),
        // backends the Lua balancer refused on its own (each keeps its previous endpoints there)
        refusedBackends: Object.fromEntries(controller.push?.refused ?? []),
      }),
      // lua mode: what nginx holds; static mode: what the running config renders
      backends: async () =>
        controller.push
          ? { source: 'nginx', backends: await fetchBackends(options.internalPort) }
          : {
              source: 'config',
              backends: Object.fromEntries(
                (controller.lane.applied?.backends ?? []).map((backend) => [
                  backend.name,
                  backend.endpoints.map(hostPort),
                ]),
              ),
            },
    },
  );
  const { prefix, manifests } = options;
  options.log(
    'info',
    `nginx ${bin.version} at ${bin.path}; ${mode} balancer; prefix ${prefix}; watching ${manifests}`,
    {
      event: 'start',
      nginx: bin.version,
      balancer: mode,
      prefix,
      manifests,
    },
  );
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // a scraper's idle keep-alive connection would hold close() open (Node 18 does not drop it)
        server.closeIdleConnections();
      }),
  };
}
