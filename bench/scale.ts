// Scale: the controller on a synthetic cluster of N Ingresses and 10 x N endpoints (bench/generate.ts),
// per size: build+render in-process, nginx -t, reload, config bytes, endpoint and Ingress convergence, a
// reload storm, cold start and memory. Two real pods on loopback; every generated address is 127.16.x.x+
// where nothing listens, so no traffic leaves the machine. The controller runs with its shipped defaults.
//   node dist/bench/scale.js [--sizes 100,1000,10000] [--changes 40] [--ingress-changes N] [--storm 100]
//                            [--min-reload-interval MS] [--json FILE]
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import YAML from 'yaml';
import { defaultBinary, probeBinary } from '../src/nginx/binary.js';
import { buildModel } from '../src/model/index.js';
import { ManifestSet } from '../src/sources/manifest-set.js';
import { loadTemplates, LUA_DIR } from '../src/render/index.js';
import { metricKey, type RunningController, type Metrics } from '../test/helpers/controller.js';
import { sleep } from '../test/helpers/wait.js';
import { generateCluster, writeAtomic, type GeneratedApp } from './generate.js';
import {
  get,
  ingressDoc,
  machine,
  median,
  percentile,
  procStatusKiB,
  spawnLoopbackRun,
  startBackends,
  yamlDocs,
  type Backends,
} from './lib.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100,1000,10000' },
    changes: { type: 'string', default: '40' },
    'ingress-changes': { type: 'string' },
    storm: { type: 'string', default: '100' },
    'min-reload-interval': { type: 'string' },
    json: { type: 'string' },
    phases: { type: 'string' }, // internal: the in-process measurement of one directory, in a fresh process
  },
});
const sizes = values.sizes!.split(',').map(Number);
const CHANGES = Number(values.changes);
const STORM = Number(values.storm);
const MRI = values['min-reload-interval'];
const QUIET_MS = Math.max(1000, Number(MRI ?? 500) + 500); // longer than a reload interval
const PODS = ['127.0.99.1', '127.0.99.2'];
const ANNOTATION = 'nginx.ingress.kubernetes.io/';

type Obj = Record<string, unknown>;
const now = () => performance.now();
const cleanups: (() => unknown)[] = [];
let interrupted = false;
async function cleanup(): Promise<void> {
  for (const undo of cleanups.splice(0).reverse()) {
    try {
      await undo();
    } catch (err) {
      process.stderr.write(`cleanup: ${(err as Error).message}\n`);
    }
  }
}
// one cleanup at a time: after a SIGINT the main flow fails (its controller is gone) and must not exit first
let cleaning = Promise.resolve();
const cleanupOnce = () => (cleaning = cleaning.then(cleanup));
process.once('SIGINT', () => {
  interrupted = true;
  void cleanupOnce().finally(() => process.exit(130));
});

/** Poll host until pod answers (every ~1 ms); ms since t0. */
async function until(
  port: number,
  host: string,
  pod: string,
  t0: number,
  timeoutMs: number,
  ctl?: RunningController,
): Promise<number> {
  for (;;) {
    const answer = await get(port, host);
    if (answer.status === 200 && answer.body === pod) return now() - t0;
    if (now() - t0 > timeoutMs)
      throw new Error(
        `${host}: ${pod} never answered (last: ${answer.status} ${answer.body.slice(0, 80)})\n${ctl?.log().slice(-3000) ?? ''}`,
      );
    if (ctl?.hasExited) throw new Error(`controller exited:\n${ctl.log().slice(-3000)}`);
    await sleep(1);
  }
}

/** The Endpoints/EndpointSlice endpointsDoc() writes, with one address on the pods' port. */
function podEndpoints(app: Pick<GeneratedApp, 'namespace' | 'name' | 'slice'>, address: string, port: number): Obj {
  const ports = [{ name: 'http', port, protocol: 'TCP' }];
  if (app.slice) {
    return {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        namespace: app.namespace,
        name: `${app.name}-abcde`,
        labels: { 'kubernetes.io/service-name': app.name },
      },
      addressType: 'IPv4',
      ports,
      endpoints: [{ addresses: [address], conditions: { ready: true } }],
    };
  }
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { namespace: app.namespace, name: app.name },
    subsets: [{ addresses: [{ ip: address }], ports }],
  };
}

const serviceDoc = (name: string): Obj => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'bench' },
  spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
});

/**
 * Apps whose plain-HTTP "/" reaches their own Service and nothing else in the way: own host (not the
 * second Ingress of a host), not TLS (308), no rate limit (the polling would hit it) and no regex rewrite.
 */
function plainApps(dir: string, apps: GeneratedApp[]): number[] {
  const annotations = new Map<string, Record<string, string>>();
  for (const ns of new Set(apps.map((a) => a.namespace))) {
    for (const doc of YAML.parseAllDocuments(fs.readFileSync(path.join(dir, ns, 'ingresses.yaml'), 'utf8'))) {
      const ing = doc.toJS() as { metadata: { namespace: string; name: string; annotations?: Record<string, string> } };
      annotations.set(`${ing.metadata.namespace}/${ing.metadata.name}`, ing.metadata.annotations ?? {});
    }
  }
  return apps
    .map((_, i) => i)
    .filter((index) => {
      const appAnnotations = annotations.get(`${apps[index]!.namespace}/${apps[index]!.name}`) ?? {};
      return (
        index % 4 !== 3 &&
        index % 5 !== 0 &&
        !(`${ANNOTATION}limit-rps` in appAnnotations) &&
        !(`${ANNOTATION}rewrite-target` in appAnnotations)
      );
    });
}

/** count picks spread evenly over the candidates, alternating Endpoints and EndpointSlice apps. */
function spread(apps: GeneratedApp[], candidates: number[], count: number): number[] {
  const out: number[] = [];
  const picks = Math.min(count, candidates.length);
  for (let k = 0; k < picks; k++) {
    let at = Math.floor((k * candidates.length) / picks);
    while (at < candidates.length && (out.includes(candidates[at]!) || apps[candidates[at]!]!.slice !== (k % 2 === 1)))
      at++;
    if (at < candidates.length) out.push(candidates[at]!);
  }
  return out;
}

/** nginx master and workers: summed RSS (counts shared pages once per process) and summed PSS. */
function nginxMemoryKiB(master: number): { rss: number; pss: number } {
  const kids = fs
    .readFileSync(`/proc/${master}/task/${master}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
  const pss = (pid: number) =>
    Number(/^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN);
  const all = [master, ...kids];
  return {
    rss: all.reduce((sum, pid) => sum + procStatusKiB(pid, 'VmRSS'), 0),
    pss: all.reduce((sum, pid) => sum + pss(pid), 0),
  };
}

/** A gauge in ms, whatever its labels; NaN when the controller does not export it. */
function gaugeMs(metrics: Metrics, name: string): number {
  const full = metricKey(name);
  for (const [key, value] of metrics) if (key === full || key.startsWith(`${full}{`)) return value * 1000;
  return NaN;
}

/** In-process, as the controller's sync does it: cold load, rescan, median of 3 builds and renders. */
async function phases(dir: string) {
  const bin = await probeBinary(defaultBinary());
  let started = now();
  const set = new ManifestSet(dir);
  await set.refresh();
  const load = now() - started;
  const renderer = loadTemplates();
  const opts = {
    ingressClass: 'nginx',
    controllerClass: 'ingress-templater.dev/controller',
    watchWithoutClass: true,
    resolved: new Map<string, string[]>(),
    balancer: 'lua' as const,
  };
  const render = {
    prefix: '/tmp/itp-scale-render',
    listenAddress: '127.0.0.1',
    httpPort: 8080,
    httpsPort: 8443,
    internalPort: 10246,
    defaultCertificate: '/tmp/itp-scale-render/default.pem',
    user: null,
    features: bin.features,
    version: 'bench',
    balancer: 'lua' as const,
    luaDir: LUA_DIR,
    luaModules: bin.luaModules,
  };
  const builds: number[] = [];
  const renders: number[] = [];
  const both: number[] = [];
  for (let i = 0; i < 3; i++) {
    started = now();
    const built = buildModel(set.store, opts);
    const buildDone = now();
    renderer.render(built.model, render);
    builds.push(buildDone - started);
    renders.push(now() - buildDone);
    both.push(now() - started);
  }
  started = now();
  await set.refresh();
  const rescanMs = now() - started;
  return {
    loadMs: load,
    rescanMs,
    buildMs: median(builds),
    renderMs: median(renders),
    buildRenderMs: median(both),
    phasesRssKiB: process.memoryUsage().rss / 1024,
  };
}
type Phases = Awaited<ReturnType<typeof phases>>;

async function measure(ingresses: number, pods: Backends) {
  const endpoints = ingresses * 10;
  const big = ingresses >= 10_000;
  const timeoutMs = big ? 300_000 : 60_000;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-scale-'));
  cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const dir = path.join(tmp, 'manifests');
  let started = now();
  const apps = generateCluster(dir, { ingresses, endpoints });
  process.stderr.write(`[${ingresses}] generated in ${(now() - started).toFixed(0)} ms\n`);

  // a fresh process, so the load is cold at every size (no JIT or caches from the size before)
  const child = await promisify(execFile)(process.execPath, [fileURLToPath(import.meta.url), '--phases', dir], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  const inproc = JSON.parse(child.stdout) as Phases;
  process.stderr.write(
    `[${ingresses}] in-process: ${JSON.stringify(inproc, (_, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}\n`,
  );

  const candidates = plainApps(dir, apps);
  const cold = apps[candidates[0]!]!;
  const chosen = spread(apps, candidates.slice(1), CHANGES).map((i) => apps[i]!);
  const writeEp = (app: GeneratedApp, pod: number) =>
    writeAtomic(path.join(dir, app.endpointsFile), yamlDocs([podEndpoints(app, PODS[pod]!, pods.port)]));
  writeEp(cold, 0);

  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-scale-nginx-'));
  cleanups.push(() => fs.rmSync(prefix, { recursive: true, force: true }));
  started = now();
  // the shipped defaults, only --min-reload-interval when asked
  const ctl = await spawnLoopbackRun(['--manifests', dir, ...(MRI ? ['--min-reload-interval', MRI] : [])], prefix);
  cleanups.push(() => ctl.stop());
  const coldStartMs = await until(ctl.ports.http, cold.host, 'pod-1', started, timeoutMs, ctl);
  await ctl.waitReady(timeoutMs);
  await ctl.settle(QUIET_MS, timeoutMs);
  process.stderr.write(`[${ingresses}] cold start ${coldStartMs.toFixed(0)} ms\n`);

  const conf = path.join(prefix, 'nginx.conf');
  const nginx = defaultBinary();
  const tests: number[] = [];
  for (let i = 0; i < 3; i++) {
    started = now();
    // -e stderr as the controller's own test: nginx would otherwise open its compiled-in error log
    execFileSync(nginx, ['-t', '-q', '-p', prefix, '-c', conf, '-e', 'stderr'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    tests.push(now() - started);
  }
  const configBytes = fs.statSync(conf).size;

  // endpoint changes: warm every chosen app on pod-1, then flip one app per change to the other pod
  for (const app of chosen) writeEp(app, 0);
  for (const app of chosen) await until(ctl.ports.http, app.host, 'pod-1', now(), timeoutMs, ctl);
  await ctl.settle(QUIET_MS, timeoutMs);
  const onPod = new Map(chosen.map((a) => [a, 0]));
  const epTimes: number[] = [];
  for (let k = 0; k < CHANGES && chosen.length; k++) {
    const app = chosen[k % chosen.length]!;
    const next = 1 - onPod.get(app)!;
    const t0 = now();
    writeEp(app, next);
    epTimes.push(await until(ctl.ports.http, app.host, `pod-${next + 1}`, t0, timeoutMs, ctl));
    onPod.set(app, next);
  }
  process.stderr.write(
    `[${ingresses}] ${epTimes.length} endpoint changes over ${chosen.length} apps (${chosen.filter((a) => a.slice).length} EndpointSlice)\n`,
  );

  // new Ingresses: each its own file with a Service and Endpoints at pod-1
  await ctl.settle(QUIET_MS, timeoutMs);
  const ingTimes: number[] = [];
  const ingChanges = Number(values['ingress-changes'] ?? (big ? 5 : 10));
  for (let k = 1; k <= ingChanges; k++) {
    const name = `bench-${k}`;
    const docs = [
      ingressDoc(name, `${name}.example.com`, name),
      serviceDoc(name),
      podEndpoints({ namespace: 'bench', name, slice: false }, PODS[0]!, pods.port),
    ];
    const t0 = now();
    writeAtomic(path.join(dir, 'bench-new', `ing-${k}.yaml`), yamlDocs(docs));
    ingTimes.push(await until(ctl.ports.http, `${name}.example.com`, 'pod-1', t0, timeoutMs, ctl));
    await ctl.settle(QUIET_MS, timeoutMs);
  }

  // reload storm: STORM Ingress files in about a second, all to one Service at pod-1
  writeAtomic(
    path.join(dir, 'bench-storm', 'service.yaml'),
    yamlDocs([
      serviceDoc('storm'),
      podEndpoints({ namespace: 'bench', name: 'storm', slice: false }, PODS[0]!, pods.port),
    ]),
  );
  const before = await ctl.settle(QUIET_MS, timeoutMs);
  const t0 = now();
  for (let k = 1; k <= STORM; k++) {
    writeAtomic(
      path.join(dir, 'bench-storm', `ing-${k}.yaml`),
      yamlDocs([ingressDoc(`storm-${k}`, `storm-${k}.example.com`, 'storm')]),
    );
    await sleep(8);
  }
  const writeMs = now() - t0;
  let pending = Array.from({ length: STORM }, (_, k) => `storm-${k + 1}.example.com`);
  while (pending.length) {
    const replies = await Promise.all(pending.map((h) => get(ctl.ports.http, h)));
    pending = pending.filter((_, i) => !(replies[i]!.status === 200 && replies[i]!.body === 'pod-1'));
    if (now() - t0 > timeoutMs)
      throw new Error(`storm: ${pending.length} hosts never served\n${ctl.log().slice(-3000)}`);
    if (pending.length) await sleep(2);
  }
  const stormLastMs = now() - t0;
  const after = await ctl.settle(QUIET_MS, timeoutMs);
  const delta = (name: string) => (after.get(metricKey(name)) ?? NaN) - (before.get(metricKey(name)) ?? NaN);

  const master = (await ctl.status()).nginxPid;
  const nginxMemory = master ? nginxMemoryKiB(master) : { rss: NaN, pss: NaN };
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const ep = sorted(epTimes);
  const ing = sorted(ingTimes);
  const result = {
    ingresses,
    endpoints,
    ...inproc,
    gaugeBuildRenderMs: gaugeMs(after, 'build_render_seconds'),
    nginxTestMs: median(tests),
    ctlConfigTestMs: gaugeMs(after, 'config_test_seconds'),
    reloadMs: gaugeMs(after, 'reload_seconds'),
    configBytes,
    bytesPerIngress: configBytes / ingresses,
    epChanges: ep.length,
    epApps: chosen.length,
    epP50: percentile(ep, 50),
    epP90: percentile(ep, 90),
    epP99: percentile(ep, 99),
    ingChanges: ing.length,
    ingP50: percentile(ing, 50),
    ingP99: percentile(ing, 99),
    stormIngresses: STORM,
    stormWriteMs: writeMs,
    stormReloads: delta('reloads_total'),
    stormSyncs: delta('syncs_total'),
    stormLastMs,
    coldStartMs,
    ctlRssKiB: procStatusKiB(ctl.pid, 'VmRSS'),
    ctlHwmKiB: procStatusKiB(ctl.pid, 'VmHWM'),
    nginxRssKiB: nginxMemory.rss,
    nginxPssKiB: nginxMemory.pss,
  };
  const stop = await ctl.stop();
  if (stop.leftovers.length)
    process.stderr.write(`[${ingresses}] nginx leftovers killed: ${stop.leftovers.join(', ')}\n`);
  fs.rmSync(tmp, { recursive: true, force: true });
  return result;
}

type Result = Awaited<ReturnType<typeof measure>>;
const fixed = (v: number, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
const mib = (kib: number) => fixed(kib / 1024);
// column header, and its value (also what the ratios compare)
const COLUMNS: [string, (result: Result) => number, number][] = [
  ['load ms', (r) => r.loadMs, 0],
  ['rescan ms', (r) => r.rescanMs, 0],
  ['build ms', (r) => r.buildMs, 0],
  ['render ms', (r) => r.renderMs, 0],
  ['build+render ms', (r) => r.buildRenderMs, 0],
  ['gauge build+render ms', (r) => r.gaugeBuildRenderMs, 0],
  ['nginx -t ms', (r) => r.nginxTestMs, 0],
  ['ctl nginx -t ms', (r) => r.ctlConfigTestMs, 0],
  ['reload ms', (r) => r.reloadMs, 0],
  ['config bytes', (r) => r.configBytes, 0],
  ['bytes/Ingress', (r) => r.bytesPerIngress, 0],
  ['ep p50 ms', (r) => r.epP50, 1],
  ['ep p90 ms', (r) => r.epP90, 1],
  ['ep p99 ms', (r) => r.epP99, 1],
  ['ing p50 ms', (r) => r.ingP50, 0],
  ['ing p99 ms', (r) => r.ingP99, 0],
  ['storm reloads', (r) => r.stormReloads, 0],
  ['storm last ms', (r) => r.stormLastMs, 0],
  ['cold start ms', (r) => r.coldStartMs, 0],
];
const MEMORY: [string, (result: Result) => number][] = [
  ['ctl RSS MiB', (r) => r.ctlRssKiB],
  ['ctl HWM MiB', (r) => r.ctlHwmKiB],
  ['nginx RSS MiB', (r) => r.nginxRssKiB],
  ['nginx PSS MiB', (r) => r.nginxPssKiB],
];

function report(results: Result[]): void {
  const head = ['Ingresses/endpoints', ...COLUMNS.map((c) => c[0]), ...MEMORY.map((c) => c[0])];
  console.log(`| ${head.join(' | ')} |\n| --- |${' ---: |'.repeat(head.length - 1)}`);
  for (const result of results) {
    console.log(
      `| ${result.ingresses}/${result.endpoints} | ${[...COLUMNS.map(([, g, d]) => fixed(g(result), d)), ...MEMORY.map(([, g]) => mib(g(result)))].join(' | ')} |`,
    );
  }
  const pairs: [Result, Result][] = [];
  for (let j = 1; j < results.length; j++) for (let i = 0; i < j; i++) pairs.push([results[j]!, results[i]!]);
  if (!pairs.length) return;
  console.log(
    `\n| ratio | ${pairs.map(([a, b]) => `${a.ingresses}/${b.ingresses}`).join(' | ')} |\n| --- |${' ---: |'.repeat(pairs.length)}`,
  );
  for (const [name, columnValue] of [...COLUMNS.map(([n, g]) => [n, g] as const), ...MEMORY]) {
    console.log(`| ${name} | ${pairs.map(([a, b]) => fixed(columnValue(a) / columnValue(b), 2)).join(' | ')} |`);
  }
}

async function main(): Promise<void> {
  console.log(`machine: ${machine()}`);
  const podDirs = () => fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('itp-bench-pods-'));
  const seen = new Set(podDirs());
  const backends = await startBackends(PODS);
  // lib's stop() waits for an exit that may already have happened (a terminal's SIGINT reaches nginx
  // too) and then never removes its prefix: find that prefix (new, naming our port) to remove it here
  const mine = podDirs()
    .filter((d) => !seen.has(d))
    .map((d) => path.join(os.tmpdir(), d))
    .filter((dir) => {
      try {
        return fs.readFileSync(path.join(dir, 'nginx.conf'), 'utf8').includes(`${PODS[0]}:${backends.port} `);
      } catch {
        return false;
      }
    });
  cleanups.push(async () => {
    await Promise.race([backends.stop(), sleep(5000)]);
    for (const dir of mine) fs.rmSync(dir, { recursive: true, force: true });
  });
  const results: Result[] = [];
  for (const size of sizes) results.push(await measure(size, backends));
  console.log(
    `\nendpoint changes per size: ${results.map((r) => `${r.epChanges} over ${r.epApps} apps`).join(', ')}; ` +
      `Ingress changes: ${results.map((r) => r.ingChanges).join(', ')}; storm: ${STORM} Ingress files written in ${results.map((r) => fixed(r.stormWriteMs)).join(', ')} ms, syncs ${results.map((r) => r.stormSyncs).join(', ')}\n`,
  );
  report(results);
  const command = `node dist/bench/scale.js ${process.argv.slice(2).join(' ')}`.trim();
  console.log(`\ncommand: ${command}`);
  if (values.json)
    fs.writeFileSync(values.json, `${JSON.stringify({ command, machine: machine(), results }, null, 2)}\n`);
}

if (values.phases) {
  process.stdout.write(`${JSON.stringify(await phases(values.phases))}\n`);
} else {
  try {
    await main();
  } catch (err) {
    if (!interrupted) {
      process.exitCode = 1;
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    }
  } finally {
    await cleanupOnce();
    if (interrupted) await new Promise(() => undefined); // the SIGINT handler exits
  }
}
