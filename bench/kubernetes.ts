// The Kubernetes API source at scale, against a real kube-apiserver and etcd (test/helpers/cluster.ts), with
// the directory source measured in the same run as the baseline on the very same objects written as manifest
// files. Per size: N Ingresses, each with one Service and one EndpointSlice of 10 ready endpoints. The
// controller runs with its shipped defaults, in API mode as deploy/'s ServiceAccount with the roles deploy/
// grants it and nothing more (test/helpers/deploy-rbac.ts).
//
// Addresses: the API refuses loopback endpoints, so every bulk endpoint is in 100.64.0.0/10 and one DNAT rule
// (bench/kube-api.ts routeBlock) sends them all to a "filler" nginx on 127.0.98.1 (answering "pod-3"); the two
// pods whose changes are timed are 198.18.99.1 and .2, routed to 127.0.99.1 and .2 (pod-1, pod-2) by
// test/helpers/pod-network.ts. So a request to any host is answered only once nginx has its server block and
// the Lua balancer has its endpoints: "served" below always means an nginx answer from the right backend.
//
// Measured per source: spawn to ready (/healthz 200) and to the last Ingress answering; a sweep of every host
// after that; controller RSS after settling and its peak (VmHWM); EndpointSlice change to the first request
// answered by the new pod (the API's from the moment its PATCH was answered, the directory's from the rename
// of the slice's file); a new Ingress to served. Then, on a second cluster with the watch cache off, a run
// with dropped watches (a TCP proxy between controller and API server, cut N times) and 410s (etcd
// compacted while the controller is cut off, M times), counting LIST requests from the API server's side
// (its audit log and its /metrics) against the 410s plus the initial lists.
//
//   node dist/bench/kubernetes.js [--sizes 1000,10000] [--endpoint-changes 100] [--ingress-changes N]
//     [--fault-ingresses 1000] [--cuts 5] [--compactions 3] [--concurrency 16] [--skip-faults] [--json FILE]
//     [--controller-logs DIR]
// (--sizes '' runs only the fault phase)
// Needs root (iptables), the cluster binaries (scripts/cluster-build.sh) and kubectl.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { clusterBinaries, TestCluster } from '../test/helpers/cluster.js';
import { metricKey, type Metrics, type RunningController } from '../test/helpers/controller.js';
import { applyDeployRbac, deployRbac } from '../test/helpers/deploy-rbac.js';
import { PodNetwork } from '../test/helpers/pod-network.js';
import { TcpProxy } from '../test/helpers/tcp-proxy.js';
import { sleep } from '../test/helpers/wait.js';
import { writeAtomic } from './generate.js';
import {
  AdminApi,
  ArrivalWatch,
  type AuditedRequest,
  auditPolicy,
  compactEtcd,
  pool,
  readAudit,
  routeBlock,
  startsList,
  watchVersion,
} from './kube-api.js';
import { get, machine, percentile, procStatusKiB, spawnLoopbackRun, startBackends, yamlDocs } from './lib.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000' },
    'endpoint-changes': { type: 'string', default: '100' },
    'endpoint-apps': { type: 'string', default: '20' },
    'ingress-changes': { type: 'string' },
    'fault-ingresses': { type: 'string', default: '1000' },
    cuts: { type: 'string', default: '5' },
    compactions: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' },
    'skip-faults': { type: 'boolean', default: false },
    json: { type: 'string' },
    'controller-logs': { type: 'string' }, // a directory: each controller's output is written there as it stops
  },
});

type Obj = Record<string, unknown>;
const now = () => performance.now();
const PODS = ['127.0.99.1', '127.0.99.2'];
const FILLER = '127.0.98.1';
const BULK_BLOCK = '100.64.0.0/10';
const ENDPOINTS_PER_SERVICE = 10;
const APPS_PER_NAMESPACE = 100;
const QUIET_MS = 1000; // longer than the default --min-reload-interval (500 ms)
// the controller runs as deploy/'s ServiceAccount, with the RBAC `kubectl kustomize deploy/` renders and nothing more
const RBAC = deployRbac();
// what the controller lists and watches without --configmap (src/sources/kubernetes/api-source.ts)
const WATCHED = ['ingresses', 'ingressclasses', 'services', 'endpointslices', 'secrets'];
const INGRESS_CLASS = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'IngressClass',
  metadata: { name: 'nginx' },
  spec: { controller: 'ingress-templater.dev/controller' },
};

// what to undo, last first: a size or the fault run unwinds to where it began, the end (or a SIGINT) to nothing
const cleanups: (() => unknown)[] = [];
let interrupted = false;
async function unwind(depth: number): Promise<void> {
  while (cleanups.length > depth) {
    try {
      await cleanups.pop()!();
    } catch (err) {
      process.stderr.write(`cleanup: ${(err as Error).message}\n`);
    }
  }
}
// one unwinding at a time: after a SIGINT the main flow fails (its controller is gone) and must not race it
let cleaning = Promise.resolve();
const unwindTo = (depth: number) => (cleaning = cleaning.then(() => unwind(depth)));
process.once('SIGINT', () => {
  interrupted = true;
  void unwindTo(0).finally(() => process.exit(130));
});
const note = (text: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`);

// ---- the objects ----

interface App {
  namespace: string;
  name: string;
  host: string;
  /** endpoint addresses it starts with */
  addresses: string[];
}

/** Bulk endpoint number `index`: 100.64.0.1, 100.64.0.2, ... (never .0 or .255), all routed to the filler. */
function bulkAddress(index: number): string {
  const offset = (64 << 16) + Math.floor(index / 254) * 256 + (index % 254) + 1;
  return `100.${(offset >> 16) & 255}.${(offset >> 8) & 255}.${offset & 255}`;
}

function makeApps(count: number): App[] {
  return Array.from({ length: count }, (_, index) => {
    const namespace = `team-${String(Math.floor(index / APPS_PER_NAMESPACE)).padStart(3, '0')}`;
    const name = `app-${String(index).padStart(5, '0')}`;
    const addresses = Array.from({ length: ENDPOINTS_PER_SERVICE }, (_, k) =>
      bulkAddress(index * ENDPOINTS_PER_SERVICE + k),
    );
    return { namespace, name, host: `${name}.${namespace}.example.com`, addresses };
  });
}

const serviceOf = (app: App, port: number): Obj => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: app.name, namespace: app.namespace },
  spec: { selector: { app: app.name }, ports: [{ name: 'http', port: 80, targetPort: port }] },
});

const sliceEndpoints = (addresses: string[]) =>
  addresses.map((address) => ({ addresses: [address], conditions: { ready: true } }));

const sliceOf = (app: App, addresses: string[], port: number): Obj => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: `${app.name}-abcde`, namespace: app.namespace, labels: { 'kubernetes.io/service-name': app.name } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port, protocol: 'TCP' }],
  endpoints: sliceEndpoints(addresses),
});

const ingressOf = (app: App): Obj => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name: app.name, namespace: app.namespace },
  spec: {
    ingressClassName: 'nginx',
    rules: [
      {
        host: app.host,
        http: {
          paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: app.name, port: { number: 80 } } } }],
        },
      },
    ],
  },
});

const COLLECTION: Record<string, (namespace: string) => string> = {
  Service: (ns) => `/api/v1/namespaces/${ns}/services`,
  EndpointSlice: (ns) => `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
  Ingress: (ns) => `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`,
};
const collectionOf = (object: Obj) =>
  COLLECTION[object.kind as string]!((object.metadata as { namespace: string }).namespace);

/** The same objects as manifest files: per namespace its Ingresses and its Services, a file per slice. */
function writeDirectory(dir: string, apps: App[], port: number): void {
  writeAtomic(path.join(dir, 'ingressclass.yaml'), yamlDocs([INGRESS_CLASS]));
  const byNamespace = new Map<string, App[]>();
  for (const app of apps) byNamespace.set(app.namespace, [...(byNamespace.get(app.namespace) ?? []), app]);
  for (const [namespace, members] of byNamespace) {
    writeAtomic(path.join(dir, namespace, 'ingresses.yaml'), yamlDocs(members.map(ingressOf)));
    writeAtomic(path.join(dir, namespace, 'services.yaml'), yamlDocs(members.map((app) => serviceOf(app, port))));
    for (const app of members) writeAtomic(sliceFile(dir, app), yamlDocs([sliceOf(app, app.addresses, port)]));
  }
}
const sliceFile = (dir: string, app: App) => path.join(dir, app.namespace, 'slices', `${app.name}.yaml`);

/** The same objects in the API: namespaces, the IngressClass, then every object by POST, `limit` at once. */
async function populate(api: AdminApi, apps: App[], port: number, limit: number): Promise<number> {
  const namespaces = [...new Set(apps.map((app) => app.namespace)), 'bench-new'];
  await pool(namespaces, limit, (name) =>
    api.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
  );
  await api.create('/apis/networking.k8s.io/v1/ingressclasses', INGRESS_CLASS);
  const objects = apps.flatMap((app) => [serviceOf(app, port), sliceOf(app, app.addresses, port), ingressOf(app)]);
  await pool(objects, limit, (object) => api.create(collectionOf(object), object));
  return objects.length + namespaces.length + 1;
}

// ---- the two sources, driven the same way ----

interface Write {
  /** when the write was done: the PATCH answered, or the file renamed into place */
  at: number;
  /** API only: the PATCH's round trip, and when our own watch saw the event (relative to `at`) */
  roundTripMs?: number;
  deliveredMs?: () => Promise<number>;
}

interface Feed {
  source: 'directory' | 'api';
  /** run's flags that choose the source */
  args: string[];
  setSlice(app: App, addresses: string[]): Promise<Write>;
  /** a Service and its EndpointSlice, without an Ingress */
  addBackend(app: App, addresses: string[]): Promise<void>;
  addIngress(app: App): Promise<Write>;
}

function directoryFeed(dir: string, port: number): Feed {
  return {
    source: 'directory',
    args: ['--manifests', dir],
    async setSlice(app, addresses) {
      writeAtomic(sliceFile(dir, app), yamlDocs([sliceOf(app, addresses, port)]));
      return { at: now() };
    },
    async addBackend(app, addresses) {
      writeAtomic(
        path.join(dir, app.namespace, `${app.name}-backend.yaml`),
        yamlDocs([serviceOf(app, port), sliceOf(app, addresses, port)]),
      );
    },
    async addIngress(app) {
      writeAtomic(path.join(dir, app.namespace, `${app.name}-ingress.yaml`), yamlDocs([ingressOf(app)]));
      return { at: now() };
    },
  };
}

function apiFeed(api: AdminApi, port: number, watch: ArrivalWatch | null, args: string[]): Feed {
  return {
    source: 'api',
    args,
    async setSlice(app, addresses) {
      const slice = `${app.name}-abcde`;
      const answer = await api.mergePatch(`${COLLECTION.EndpointSlice!(app.namespace)}/${slice}`, {
        endpoints: sliceEndpoints(addresses),
      });
      const version = (JSON.parse(answer.text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
      return {
        at: answer.answeredAt,
        roundTripMs: answer.answeredAt - answer.sentAt,
        ...(watch ? { deliveredMs: async () => (await watch.arrival(slice, version)) - answer.answeredAt } : {}),
      };
    },
    async addBackend(app, addresses) {
      for (const object of [serviceOf(app, port), sliceOf(app, addresses, port)])
        await api.create(collectionOf(object), object);
    },
    async addIngress(app) {
      const object = ingressOf(app);
      const answer = await api.request('POST', collectionOf(object), object);
      if (answer.status !== 201) throw new Error(`POST Ingress: ${answer.status} ${answer.text.slice(0, 300)}`);
      return { at: answer.answeredAt, roundTripMs: answer.answeredAt - answer.sentAt };
    },
  };
}

// ---- measuring ----

/** Poll host through nginx every `everyMs` until `body` answers with 200; ms since t0. */
async function until(
  ctl: RunningController,
  host: string,
  body: string,
  t0: number,
  options: { timeoutMs: number; everyMs: number },
): Promise<number> {
  for (;;) {
    const answer = await get(ctl.ports.http, host);
    if (answer.status === 200 && answer.body === body) return now() - t0;
    if (ctl.hasExited) throw new Error(`controller exited:\n${ctl.log().slice(-3000)}`);
    if (now() - t0 > options.timeoutMs)
      throw new Error(
        `${host}: ${body} never answered (last: ${answer.status} ${answer.body.slice(0, 80)})\n${ctl.log().slice(-3000)}`,
      );
    await sleep(options.everyMs);
  }
}

/** Every host once through nginx, 8 at a time: how many the filler answered. */
async function sweep(ctl: RunningController, apps: App[]): Promise<{ served: number; firstMiss: string }> {
  let served = 0;
  let firstMiss = '';
  await pool(apps, 8, async (app) => {
    const answer = await get(ctl.ports.http, app.host);
    if (answer.status === 200 && answer.body === 'pod-3') served++;
    else firstMiss ||= `${app.host}: ${answer.status} ${answer.body.slice(0, 60)}`;
  });
  return { served, firstMiss };
}

/** count apps spread evenly over apps (the last one is the cold start's probe and stays as it is). */
function spread(apps: App[], count: number): App[] {
  const picks = Math.min(count, apps.length - 1);
  return Array.from({ length: picks }, (_, k) => apps[Math.floor((k * (apps.length - 1)) / picks)]!);
}

const sorted = (samples: number[]) => [...samples].sort((a, b) => a - b);
const bucket = (metrics: Metrics, le: string) =>
  metrics.get(metricKey('endpoint_convergence_seconds_bucket', { le })) ?? NaN;

async function measureSource(feed: Feed, apps: App[], podIPs: string[], big: boolean) {
  const timeoutMs = big ? 600_000 : 120_000;
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-bench-kube-nginx-'));
  cleanups.push(() => fs.rmSync(prefix, { recursive: true, force: true }));
  const last = apps[apps.length - 1]!;

  // initial list (or directory load) to serving
  const spawnedAt = now();
  const spawnedWall = Date.now();
  const ctl = await spawnLoopbackRun(feed.args, prefix);
  cleanups.push(() => ctl.stop());
  const readyMs = (async () => {
    for (;;) {
      if ((await ctl.healthz().catch(() => 0)) === 200) return now() - spawnedAt;
      if (ctl.hasExited) throw new Error(`controller exited:\n${ctl.log().slice(-3000)}`);
      if (now() - spawnedAt > timeoutMs) throw new Error(`not ready:\n${ctl.log().slice(-3000)}`);
      await sleep(10);
    }
  })();
  const lastMs = until(ctl, last.host, 'pod-3', spawnedAt, { timeoutMs, everyMs: 10 });
  const [readyAfter, lastAfter] = await Promise.all([readyMs, lastMs]);
  const start = { readyMs: readyAfter, lastIngressMs: lastAfter };
  const sweepStarted = now();
  const swept = await sweep(ctl, apps);
  const sweepMs = now() - sweepStarted;
  await ctl.settle(QUIET_MS, timeoutMs);
  const settledRssKiB = procStatusKiB(ctl.pid, 'VmRSS');
  const startPeakKiB = procStatusKiB(ctl.pid, 'VmHWM');
  note(
    `${feed.source}: ready ${start.readyMs.toFixed(0)} ms, last Ingress ${start.lastIngressMs.toFixed(0)} ms, ` +
      `${swept.served}/${apps.length} hosts served (sweep ${sweepMs.toFixed(0)} ms) ${swept.firstMiss}`,
  );

  // EndpointSlice changes: each chosen app warmed on pod-1 alone, then one app per change flipped to the other pod
  const chosen = spread(apps, Number(values['endpoint-apps']));
  for (const app of chosen) {
    const write = await feed.setSlice(app, [podIPs[0]!]);
    await until(ctl, app.host, 'pod-1', write.at, { timeoutMs, everyMs: 1 });
  }
  const before = await ctl.settle(QUIET_MS, timeoutMs);
  const onPod = new Map(chosen.map((app) => [app, 0]));
  const endpointMs: number[] = [];
  const syncMs: number[] = []; // the controller's own gauge of the sync that pushed each change
  const changedAt: number[] = []; // wall clock (ms since the epoch) of each write, to lay beside other traces
  const roundTrips: number[] = [];
  const deliveries: (() => Promise<number>)[] = [];
  const changes = Number(values['endpoint-changes']);
  const changesFrom = now() - spawnedAt;
  for (let k = 0; k < changes; k++) {
    const app = chosen[k % chosen.length]!;
    const next = 1 - onPod.get(app)!;
    const write = await feed.setSlice(app, [podIPs[next]!]);
    changedAt.push(performance.timeOrigin + write.at);
    endpointMs.push(await until(ctl, app.host, `pod-${next + 1}`, write.at, { timeoutMs, everyMs: 1 }));
    syncMs.push((await ctl.metric('last_sync_duration_seconds')) * 1000);
    if (write.roundTripMs !== undefined) roundTrips.push(write.roundTripMs);
    if (write.deliveredMs) deliveries.push(write.deliveredMs);
    onPod.set(app, next);
  }
  const after = await ctl.settle(QUIET_MS, timeoutMs);
  const delivered: number[] = [];
  for (const delivery of deliveries) delivered.push(await delivery());
  const delta = (name: string) => (after.get(metricKey(name)) ?? NaN) - (before.get(metricKey(name)) ?? NaN);
  const histogram = {
    pushes: delta('endpoint_convergence_seconds_count'),
    within10: bucket(after, '0.01') - bucket(before, '0.01'),
    within25: bucket(after, '0.025') - bucket(before, '0.025'),
    within50: bucket(after, '0.05') - bucket(before, '0.05'),
  };
  const reloadsDuringChanges = delta('reloads_total');
  note(
    `${feed.source}: ${changes} endpoint changes (from ${changesFrom.toFixed(0)} to ${(now() - spawnedAt).toFixed(0)} ms ` +
      `after the spawn), p99 ${percentile(sorted(endpointMs), 99).toFixed(1)} ms`,
  );

  // new Ingresses: the Service and its slice (pod-1) first, settled; then the Ingress alone, timed
  const ingressChanges = Number(values['ingress-changes'] ?? (big ? 10 : 20));
  const ingressMs: number[] = [];
  for (let k = 1; k <= ingressChanges; k++) {
    const app: App = {
      namespace: 'bench-new',
      name: `new-${k}`,
      host: `new-${k}.bench-new.example.com`,
      addresses: [podIPs[0]!],
    };
    await feed.addBackend(app, app.addresses);
    await ctl.settle(QUIET_MS, timeoutMs);
    const write = await feed.addIngress(app);
    ingressMs.push(await until(ctl, app.host, 'pod-1', write.at, { timeoutMs, everyMs: 5 }));
  }
  await ctl.settle(QUIET_MS, timeoutMs);
  note(`${feed.source}: ${ingressChanges} new Ingresses, p50 ${percentile(sorted(ingressMs), 50).toFixed(0)} ms`);
  const endRssKiB = procStatusKiB(ctl.pid, 'VmRSS');
  const endPeakKiB = procStatusKiB(ctl.pid, 'VmHWM');
  const stopped = await ctl.stop();
  if (values['controller-logs'])
    fs.writeFileSync(path.join(values['controller-logs'], `${feed.source}-${apps.length}.log`), ctl.log());
  if (stopped.leftovers.length) note(`nginx leftovers killed: ${stopped.leftovers.join(', ')}`);
  const ep = sorted(endpointMs);
  const ing = sorted(ingressMs);
  return {
    source: feed.source,
    spawnedWall,
    ...start,
    served: swept.served,
    sweepMs,
    settledRssKiB,
    startPeakKiB,
    endRssKiB,
    endPeakKiB,
    endpointChanges: ep.length,
    endpointApps: chosen.length,
    epP50: percentile(ep, 50),
    epP90: percentile(ep, 90),
    epP99: percentile(ep, 99),
    epMax: ep[ep.length - 1] ?? NaN,
    epSamples: endpointMs,
    epChangedAt: changedAt,
    syncP50: percentile(sorted(syncMs), 50),
    syncP99: percentile(sorted(syncMs), 99),
    syncSamples: syncMs,
    reloadsDuringChanges,
    histogram,
    writeRoundTripP50: percentile(sorted(roundTrips), 50),
    deliveredP50: percentile(sorted(delivered), 50),
    deliveredP99: percentile(sorted(delivered), 99),
    ingressChanges: ing.length,
    ingP50: percentile(ing, 50),
    ingP90: percentile(ing, 90),
    ingSamples: ingressMs,
  };
}
type SourceResult = Awaited<ReturnType<typeof measureSource>>;

interface Pods {
  port: number;
  ips: string[];
}

/** A cluster of ours: the controller's user with deploy/'s role, our audit log of its lists and watches. */
async function startCluster(watchCache: boolean): Promise<{ cluster: TestCluster; auditLog: string }> {
  const auditDir = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-bench-audit-'));
  cleanups.push(() => fs.rmSync(auditDir, { recursive: true, force: true }));
  const policy = path.join(auditDir, 'policy.json');
  fs.writeFileSync(policy, auditPolicy(RBAC.user.name));
  const auditLog = path.join(auditDir, 'audit.log');
  const cluster = new TestCluster({
    users: [RBAC.user],
    watchCache,
    apiserverArgs: [`--audit-policy-file=${policy}`, `--audit-log-path=${auditLog}`],
  });
  cleanups.push(() => cluster.stop());
  const started = now();
  await cluster.start();
  applyDeployRbac(cluster, RBAC);
  note(`cluster up in ${(now() - started).toFixed(0)} ms (watch cache ${watchCache ? 'on' : 'off'})`);
  return { cluster, auditLog };
}

async function measureSize(ingresses: number, pods: Pods) {
  const depth = cleanups.length;
  const apps = makeApps(ingresses);
  const big = ingresses >= 10_000;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-bench-kube-'));
  cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const dir = path.join(tmp, 'manifests');
  const emptyDir = path.join(tmp, 'empty');
  fs.mkdirSync(emptyDir);
  let started = now();
  writeDirectory(dir, apps, pods.port);
  const writeMs = now() - started;

  const { cluster, auditLog } = await startCluster(true);
  const version = JSON.parse(await cluster.get('/version')) as { gitVersion: string };
  const api = new AdminApi(cluster, Number(values.concurrency));
  cleanups.push(() => api.close());
  started = now();
  const objects = await populate(api, apps, pods.port, Number(values.concurrency));
  const populateMs = now() - started;
  note(
    `${ingresses}: ${objects} objects POSTed in ${(populateMs / 1000).toFixed(1)} s ` +
      `(${((objects / populateMs) * 1000).toFixed(0)}/s); files written in ${writeMs.toFixed(0)} ms`,
  );
  const watch = new ArrivalWatch(cluster, '/apis/discovery.k8s.io/v1/endpointslices');
  await watch.start();
  cleanups.push(() => watch.stop());

  const directory = await measureSource(directoryFeed(dir, pods.port), apps, pods.ips, big);
  const args = ['--kubeconfig', cluster.kubeconfig(cluster.users[0]), '--manifests', emptyDir];
  const fromApi = await measureSource(apiFeed(api, pods.port, watch, args), apps, pods.ips, big);
  await sleep(500);
  const audited = readAudit(auditLog);
  const lists = audited.filter((request) => request.verb === 'list');
  const initial = lists.filter((request) => request.receivedAt < fromApi.spawnedWall + fromApi.readyMs);
  const result = {
    ingresses,
    apiserver: version.gitVersion,
    binaries: path.basename(clusterBinaries()),
    endpoints: ingresses * ENDPOINTS_PER_SERVICE,
    objects,
    populateMs,
    writeMs,
    directory,
    api: fromApi,
    listStarts: lists.filter(startsList).length,
    listPages: lists.length,
    listsDoneMs: Math.max(...initial.map((request) => request.completedAt)) - fromApi.spawnedWall,
    listsSlowestPageMs: Math.max(...initial.map((request) => request.completedAt - request.receivedAt)),
  };
  // this size's cluster and directory go now: the next size starts from nothing
  await unwindTo(depth);
  return result;
}
type SizeResult = Awaited<ReturnType<typeof measureSize>>;

/** Dropped watches and 410s on a cluster with the watch cache off; LISTs counted by the API server. */
async function measureFaults(ingresses: number, pods: Pods) {
  const depth = cleanups.length;
  const apps = makeApps(ingresses);
  const { cluster, auditLog } = await startCluster(false);
  const api = new AdminApi(cluster, Number(values.concurrency));
  cleanups.push(() => api.close());
  const started = now();
  const objects = await populate(api, apps, pods.port, Number(values.concurrency));
  note(`faults: ${objects} objects POSTed in ${((now() - started) / 1000).toFixed(1)} s`);
  const proxy = new TcpProxy(cluster.apiPort);
  await proxy.open();
  cleanups.push(() => proxy.close());
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-bench-kube-faults-'));
  cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const listsBefore = await api.requestCounts('LIST', WATCHED);
  fs.mkdirSync(path.join(tmp, 'nginx'));
  fs.mkdirSync(path.join(tmp, 'empty'));
  const args = [
    '--kubeconfig',
    cluster.kubeconfig(cluster.users[0], proxy.url),
    '--manifests',
    path.join(tmp, 'empty'),
  ];
  const ctl = await spawnLoopbackRun(args, path.join(tmp, 'nginx'));
  cleanups.push(() => ctl.stop());
  await ctl.waitReady(120_000);
  const probe = apps[0]!;
  const feed = apiFeed(api, pods.port, null, args);
  let onPod = 0;
  const flip = async () => {
    onPod = 1 - onPod;
    return feed.setSlice(probe, [pods.ips[onPod]!]);
  };
  const served = (t0: number) => until(ctl, probe.host, `pod-${onPod + 1}`, t0, { timeoutMs: 120_000, everyMs: 2 });
  await served((await flip()).at);
  await ctl.settle(QUIET_MS, 60_000);
  const faultsFrom = Date.now();

  // cuts: every connection reset; the watches resume from their versions, no list
  const afterCut: number[] = [];
  for (let k = 0; k < Number(values.cuts); k++) {
    proxy.cut();
    await sleep(1000);
    afterCut.push(await served((await flip()).at));
    await sleep(1000);
  }
  // compactions: cut off, two writes (so that every kind's version is at least two behind), etcd compacted
  // at its head, connections let through again: each kind's next watch is answered 410, then one relist
  const compactions: { at: number; revision: number }[] = [];
  const afterCompaction: number[] = [];
  for (let k = 0; k < Number(values.compactions); k++) {
    await proxy.refuse();
    await flip();
    await api.create('/api/v1/namespaces/default/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `bench-marker-${k}` },
    });
    const revision = await compactEtcd(cluster.etcdPort);
    compactions.push({ at: Date.now(), revision });
    await proxy.open();
    const opened = now();
    afterCompaction.push(await served(opened));
    await ctl.settle(QUIET_MS * 3, 120_000);
  }
  await sleep(1000);
  const listsAfter = await api.requestCounts('LIST', WATCHED);
  // the controller's own count, beside the API server's: api_lists_total summed over its kinds
  const ownLists = [...(await ctl.metrics())]
    .filter(([key]) => key.startsWith(`${metricKey('api_lists_total')}{`))
    .reduce((sum, [, value]) => sum + value, 0);
  const stopped = await ctl.stop();
  if (stopped.leftovers.length) note(`nginx leftovers killed: ${stopped.leftovers.join(', ')}`);
  const audited = readAudit(auditLog);
  const lists = audited.filter((request) => request.verb === 'list');
  // a watch asked for a version older than the compaction before it (minus one: the API server watches from
  // version + 1) can only have been answered 410 Gone
  const gone = audited.filter((request) => {
    if (request.verb !== 'watch') return false;
    const compaction = [...compactions].reverse().find((c) => c.at <= request.receivedAt);
    return compaction !== undefined && watchVersion(request) < compaction.revision - 1;
  });
  const byResource = (requests: AuditedRequest[]) =>
    Object.fromEntries(WATCHED.map((resource) => [resource, requests.filter((r) => r.resource === resource).length]));
  const result = {
    ingresses,
    cuts: afterCut.length,
    compactions: compactions.length,
    initialListStarts: lists.filter((request) => startsList(request) && request.receivedAt < faultsFrom).length,
    listStarts: lists.filter(startsList).length,
    listPages: lists.length,
    metricsListRequests: listsAfter - listsBefore,
    ownLists,
    gone: gone.length,
    // a watch answered 410 ends at once; one that was served would have lasted until the controller stopped
    goneLongestMs: Math.max(...gone.map((request) => request.completedAt - request.receivedAt)),
    goneCodes: [...new Set(gone.map((request) => request.code))],
    goneByResource: byResource(gone),
    listStartsByResource: byResource(lists.filter(startsList)),
    watchRequests: audited.filter((request) => request.verb === 'watch').length,
    connections: proxy.accepted,
    afterCutMs: afterCut,
    afterCompactionMs: afterCompaction,
  };
  await unwindTo(depth);
  return result;
}
type FaultResult = Awaited<ReturnType<typeof measureFaults>>;

// ---- printing ----

const fixed = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const mib = (kib: number) => fixed(kib / 1024);
const ROWS: [string, (result: SourceResult) => number | string, number][] = [
  ['spawn to ready (/healthz 200) ms', (r) => r.readyMs, 0],
  ['spawn to the last Ingress answering ms', (r) => r.lastIngressMs, 0],
  ['hosts answering in the sweep after', (r) => r.served, 0],
  ['controller RSS after settling MiB', (r) => r.settledRssKiB / 1024, 0],
  ['controller peak RSS (VmHWM) after the start MiB', (r) => r.startPeakKiB / 1024, 0],
  ['controller RSS / peak at the end MiB', (r) => `${mib(r.endRssKiB)} / ${mib(r.endPeakKiB)}`, 0],
  ['EndpointSlice change to the new pod p50 ms', (r) => r.epP50, 1],
  ['  p90 ms', (r) => r.epP90, 1],
  ['  p99 ms', (r) => r.epP99, 1],
  ['  max ms', (r) => r.epMax, 1],
  ['  reloads during the changes', (r) => r.reloadsDuringChanges, 0],
  ['  the sync that pushed it (last_sync_duration_seconds) p50 ms', (r) => r.syncP50, 1],
  ['  p99 ms', (r) => r.syncP99, 1],
  [
    "  controller's histogram (event seen to push acknowledged): pushes, within 10/25/50 ms",
    (r) => `${r.histogram.pushes}: ${r.histogram.within10}/${r.histogram.within25}/${r.histogram.within50}`,
    0,
  ],
  ['new Ingress to served p50 ms', (r) => r.ingP50, 0],
  ['  p90 ms', (r) => r.ingP90, 0],
];

function report(sizes: SizeResult[]): void {
  for (const size of sizes) {
    console.log(
      `\n${size.ingresses} Ingresses, ${size.endpoints} endpoints (${size.endpoints / size.ingresses} per Service); ` +
        `setup: ${size.objects} objects POSTed in ${fixed(size.populateMs / 1000, 1)} s ` +
        `(${fixed((size.objects / size.populateMs) * 1000)}/s, ${values.concurrency} at once), files written in ${fixed(size.writeMs)} ms\n`,
    );
    console.log('| figure | directory (baseline) | API | API / directory |\n| --- | ---: | ---: | ---: |');
    for (const [name, value, digits] of ROWS) {
      const dirValue = value(size.directory);
      const apiValue = value(size.api);
      const ratio = typeof dirValue === 'number' && typeof apiValue === 'number' ? fixed(apiValue / dirValue, 2) : '';
      const show = (shown: number | string) => (typeof shown === 'number' ? fixed(shown, digits) : shown);
      console.log(`| ${name} | ${show(dirValue)} | ${show(apiValue)} | ${ratio} |`);
    }
    console.log(
      `\nAPI only: the initial lists (${size.listStarts} lists, ${size.listPages} pages, audit log) done ` +
        `${fixed(size.listsDoneMs)} ms after spawn, slowest page ${fixed(size.listsSlowestPageMs)} ms; ` +
        `PATCH round trip p50 ${fixed(size.api.writeRoundTripP50, 1)} ms; ` +
        `our own watch saw the event p50 ${fixed(size.api.deliveredP50, 1)} ms, p99 ${fixed(size.api.deliveredP99, 1)} ms after the PATCH's answer`,
    );
  }
  if (sizes.length > 1) {
    const [small, large] = [sizes[0]!, sizes[sizes.length - 1]!];
    console.log(`\n| ${large.ingresses} / ${small.ingresses} | directory | API |\n| --- | ---: | ---: |`);
    for (const [name, value] of ROWS) {
      const ratio = (pick: (size: SizeResult) => SourceResult) => {
        const [largeValue, smallValue] = [value(pick(large)), value(pick(small))];
        return typeof largeValue === 'number' && typeof smallValue === 'number'
          ? fixed(largeValue / smallValue, 2)
          : '';
      };
      console.log(`| ${name} | ${ratio((s) => s.directory)} | ${ratio((s) => s.api)} |`);
    }
  }
}

function reportFaults(faults: FaultResult): void {
  const expected = faults.initialListStarts + faults.gone;
  console.log(
    `\nDropped watches (${faults.ingresses} Ingresses, watch cache off, TCP proxy between controller and API server): ` +
      `${faults.cuts} cuts of every connection, ${faults.compactions} etcd compactions while cut off\n`,
  );
  console.log('| figure | count |\n| --- | ---: |');
  console.log(`| initial lists (audit log, before the first fault) | ${faults.initialListStarts} |`);
  console.log(
    `| 410 Gone (watches asked for a compacted version, audit log; each ended within ${fixed(faults.goneLongestMs)} ms, ` +
      `HTTP ${faults.goneCodes.join(', ')} with the 410 in the stream) | ${faults.gone} (${JSON.stringify(faults.goneByResource)}) |`,
  );
  console.log(
    `| **lists, whole run** (audit log: first pages) | **${faults.listStarts}** (${JSON.stringify(faults.listStartsByResource)}) |`,
  );
  console.log(
    `| expected: initial lists + 410s | ${expected} (${faults.listStarts === expected ? 'equal' : 'DIFFERENT'}) |`,
  );
  console.log(`| lists by the controller's own count (its api_lists_total) | ${faults.ownLists} |`);
  console.log(`| LIST requests, pages included (audit log) | ${faults.listPages} |`);
  console.log(
    `| LIST requests on those resources (apiserver /metrics apiserver_request_total) | ${faults.metricsListRequests} |`,
  );
  console.log(`| watch requests (audit log) | ${faults.watchRequests} |`);
  console.log(`| connections through the proxy | ${faults.connections} |`);
  console.log(
    `\nA probe EndpointSlice change served after each cut: ${faults.afterCutMs.map((ms) => fixed(ms)).join(', ')} ms ` +
      `(from the PATCH's answer); after each compaction: ${faults.afterCompactionMs.map((ms) => fixed(ms)).join(', ')} ms ` +
      `(from letting connections through again: the reflectors' backoff, the 410, the relist)`,
  );
}

async function main(): Promise<void> {
  console.log(
    `machine: ${machine()}; load average ${os
      .loadavg()
      .map((load) => load.toFixed(2))
      .join(' ')}`,
  );
  const kubectl = JSON.parse(execFileSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' }));
  console.log(`kubectl ${kubectl.clientVersion.gitVersion}; cluster binaries ${path.basename(clusterBinaries())}`);
  const backends = await startBackends([...PODS, FILLER]);
  cleanups.push(() => backends.stop());
  const network = new PodNetwork();
  cleanups.push(() => network.close());
  cleanups.push(routeBlock(BULK_BLOCK, FILLER));
  const pods = { port: backends.port, ips: network.route(PODS) };
  const sizes: SizeResult[] = [];
  // --sizes '' runs the fault phase alone
  for (const size of values.sizes!.split(',').filter(Boolean).map(Number)) sizes.push(await measureSize(size, pods));
  const faults = values['skip-faults'] ? null : await measureFaults(Number(values['fault-ingresses']), pods);
  report(sizes);
  if (faults) reportFaults(faults);
  console.log(
    `\nload average at the end: ${os
      .loadavg()
      .map((load) => load.toFixed(2))
      .join(' ')}`,
  );
  const command = `node dist/bench/kubernetes.js ${process.argv.slice(2).join(' ')}`.trim();
  console.log(`command: ${command}`);
  if (values.json)
    fs.writeFileSync(values.json, `${JSON.stringify({ command, machine: machine(), sizes, faults }, null, 2)}\n`);
}

try {
  await main();
} catch (err) {
  if (!interrupted) {
    process.exitCode = 1;
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  }
} finally {
  await unwindTo(0);
  if (interrupted) await new Promise(() => undefined);
}
