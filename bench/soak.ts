// Soak: the controller (Lua balancer) with fake pods on loopback under constant keep-alive GET load,
// while a second loop keeps changing Endpoints, Ingresses and the TLS Secret at random, writes invalid
// manifests now and then, and SIGKILLs nginx every so often. Prints what was sent and what failed (by
// reason, separating the windows where nginx was deliberately down), reloads and pushes, the
// controller's RSS at start and end, and the nginx processes left at the end.
//   node dist/bench/soak.js [--minutes 10] [--loops 4] [--kill-every 30] [--seed 1]
import { parseArgs } from 'node:util';
import { makeCert } from '../test/helpers/certs.js';
import { metricKey, startController, type RunningController } from '../test/helpers/controller.js';
import { Load } from '../test/helpers/load.js';
import { configMap, endpoints, ingress, ManifestDir, service, tlsSecret } from '../test/helpers/manifests.js';
import { closeAll, podSpecs, startPods, type Pods } from '../test/helpers/pods.js';
import { sleep } from '../test/helpers/wait.js';
import { machine, prng, procStatusKiB } from './lib.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    loops: { type: 'string', default: '4' },
    'kill-every': { type: 'string', default: '30' },
    seed: { type: 'string', default: '1' },
  },
});
const durationMs = Number(values.minutes) * 60_000;
const killEveryMs = Number(values['kill-every']) * 1000;
const HOST = 'soak.example.com';
const WORKERS = 2;

// a run's sequence of changes can be repeated
const random = prng(Number(values.seed));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

const rssKiB = (pid: number) => procStatusKiB(pid, 'VmRSS');

const pods: Pods = await startPods(podSpecs('soak', '127.0.0.6', 5));
const manifests = new ManifestDir('soak');
let ctl: RunningController | undefined;

const endpointsFile = (ready: string[]) => [
  service('app', { ports: [{ port: 80, targetPort: pods.port }] }),
  endpoints('app', { ready, port: pods.port }),
];
const secretFile = () => {
  const pair = makeCert(HOST);
  return [tlsSecret('soak-tls', pair.cert, pair.key)];
};

try {
  manifests.write('settings.yaml', [configMap('settings', 'default', { 'worker-processes': String(WORKERS) })]);
  manifests.write('app.yaml', endpointsFile(pods.specs.map((s) => s.address)));
  manifests.write('secret.yaml', secretFile());
  manifests.write('ingress.yaml', [
    ingress('app', {
      host: HOST,
      paths: [{ path: '/', service: 'app' }],
      tls: [{ hosts: [HOST], secretName: 'soak-tls' }],
      annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' },
    }),
  ]);
  ctl = await startController({
    manifests: manifests.dir,
    extraArgs: ['--balancer', 'lua', '--configmap', 'default/settings'],
  });
  const running = ctl;
  const rssStart = rssKiB(running.pid);
  console.log(`machine: ${machine()}`);
  console.log(
    `soak: ${values.minutes} min, ${values.loops} keep-alive loops, nginx SIGKILL every ${killEveryMs / 1000} s, ${WORKERS} workers, seed ${values.seed}`,
  );

  const load = new Load(
    { port: running.ports.http, host: HOST, path: '/' },
    { fresh: 0, keepAlive: Number(values.loops) },
  );
  const started = Date.now();
  const end = started + durationMs;
  const killWindows: [number, number, number][] = []; // [SIGKILL sent, healthz 200 again, end of the 1 s grace]
  const changes = { endpoints: 0, ingresses: 0, secrets: 0, invalid: 0, kills: 0 };
  let badWritten = false;

  const churn = (async () => {
    while (Date.now() < end) {
      await sleep(200 + random() * 600);
      const roll = random();
      if (roll < 0.45) {
        // a non-empty random subset of the pods: every request must still find an endpoint
        const ready = pods.specs.map((s) => s.address).filter(() => random() < 0.6);
        manifests.write('app.yaml', endpointsFile(ready.length ? ready : [pick(pods.specs).address]));
        changes.endpoints++;
      } else if (roll < 0.7) {
        const extras = Math.floor(random() * 4);
        const extra = Array.from({ length: extras }, (_, i) =>
          ingress(`extra-${i}`, {
            host: `extra${i}.example.com`,
            paths: [{ path: pick(['/', '/a', '/b/c', '/api']), service: 'app' }],
          }),
        );
        if (extra.length) manifests.write('extra.yaml', extra);
        else manifests.remove('extra.yaml');
        changes.ingresses++;
      } else if (roll < 0.85) {
        manifests.write('secret.yaml', secretFile());
        changes.secrets++;
      } else if (badWritten) {
        manifests.remove('bad.yaml');
        badWritten = false;
      } else {
        // an Ingress whose path would end the directive, or a file that is not YAML at all
        manifests.write(
          'bad.yaml',
          random() < 0.5
            ? [
                ingress('bad', {
                  host: 'bad.example.com',
                  paths: [{ path: '/x; include /etc/passwd;', service: 'app' }],
                }),
              ]
            : 'kind: Ingress\nmetadata: {name: [unterminated\n',
        );
        badWritten = true;
        changes.invalid++;
      }
    }
  })();

  const killer = (async () => {
    let next = started + Math.min(killEveryMs / 2, 15_000);
    while (next < end - 5_000) {
      await sleep(Math.max(0, next - Date.now()));
      const master = (await running.status()).nginxPid;
      if (master) {
        await running.nginxPids(); // tracked, so stop() makes sure none survives
        const from = Date.now();
        process.kill(master, 'SIGKILL');
        changes.kills++;
        // healthz turns 503 once the controller has seen nginx exit, then 200 when the new nginx is pushed
        await running.waitFor(async () => (await running.healthz()) !== 200 || undefined, {
          timeoutMs: 10_000,
          what: 'healthz not 200 after the kill',
        });
        await running.waitFor(async () => (await running.healthz()) === 200 || undefined, {
          timeoutMs: 60_000,
          what: 'healthz 200 after the kill',
        });
        // requests already in flight on the old workers' connections end within a second
        killWindows.push([from, Date.now(), Date.now() + 1000]);
      }
      next += killEveryMs;
    }
  })();

  let lastReport = started;
  while (Date.now() < end) {
    await sleep(1000);
    if (Date.now() - lastReport >= 30_000) {
      lastReport = Date.now();
      console.log(
        `  ${Math.round((Date.now() - started) / 1000)} s: ${load.count} requests, ${load.stats.failures.length} failed, RSS ${rssKiB(running.pid)} KiB`,
      );
    }
  }
  await Promise.all([churn, killer]);
  const stats = await load.stop();
  if (badWritten) manifests.remove('bad.yaml');
  const metrics = await running.settle(1000, 30_000);
  const rssEnd = rssKiB(running.pid);
  const workers = await running.workerPids();
  const all = await running.nginxPids();

  const inKill = (t: number) => killWindows.some(([a, , b]) => t >= a && t <= b);
  const afterReady = (t: number) => killWindows.some(([, r, b]) => t > r && t <= b);
  const reasons = (inside: boolean) => {
    const by = new Map<string, number>();
    stats.failures.forEach((failure, index) => {
      if (inKill(stats.failureTimes[index]!) !== inside) return;
      const reason = failure.replace(/^[^:]*: /, '').replace(/\d+ ms/, 'N ms');
      by.set(reason, (by.get(reason) ?? 0) + 1);
    });
    return by.size ? [...by].map(([r, n]) => `${n} x ${r}`).join('; ') : 'none';
  };
  const get = (name: string) => metrics.get(metricKey(name)) ?? NaN;
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `\nduration: ${seconds.toFixed(0)} s; changes: ${changes.endpoints} endpoints, ${changes.ingresses} ingresses, ${changes.secrets} TLS secrets, ${changes.invalid} invalid manifests, ${changes.kills} nginx SIGKILLs`,
  );
  console.log(
    `requests sent: ${stats.requests} (${(stats.requests / seconds).toFixed(0)}/s), keep-alive retries (idle connection closed before any byte): ${stats.retries}`,
  );
  console.log(
    `failed outside kill windows: ${stats.failures.filter((_, i) => !inKill(stats.failureTimes[i]!)).length} (${reasons(false)})`,
  );
  console.log(
    `failed inside kill windows (SIGKILL to healthz 200: ${killWindows.map(([a, r]) => `${r - a} ms`).join(', ') || 'none'}; each window ends 1 s after healthz 200): ${stats.failures.filter((_, i) => inKill(stats.failureTimes[i]!)).length} (${reasons(true)})`,
  );
  console.log(
    `  of which after healthz was 200 again: ${stats.failures.filter((_, i) => afterReady(stats.failureTimes[i]!)).length}`,
  );
  console.log(
    `reloads: ${get('reloads_total')}, endpoint pushes: ${get('endpoint_pushes_total')}, nginx restarts: ${get('nginx_restarts_total')}, syncs: ${get('syncs_total')}`,
  );
  console.log(`controller RSS: ${rssStart} KiB at start, ${rssEnd} KiB at end`);
  console.log(
    `nginx at the end: ${workers.length} workers (worker-processes ${WORKERS}), ${all.length} nginx processes in all${all.length === WORKERS + 1 ? ' (no leaked worker generations)' : ' (LEAKED processes)'}`,
  );
} finally {
  if (ctl && !ctl.hasExited) {
    const result = await ctl.stop();
    if (result.leftovers.length)
      console.log(`nginx processes left after the controller exited: ${result.leftovers.join(', ')}`);
  }
  manifests.cleanup();
  await closeAll(pods);
}
