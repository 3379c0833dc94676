// Data plane: requests/s through the Lua balancer against the same nginx build with a static upstream of
// the same three endpoints. Two controllers (--balancer lua and --balancer static), one nginx worker
// each, fast nginx backends, alternating wrk runs; the ratio of medians is the number.
//   node dist/bench/dataplane.js [--rounds 5] [--seconds 3] [--connections 50]
import { parseArgs } from 'node:util';
import { startController, type RunningController } from '../test/helpers/controller.js';
import { configMap, endpoints, ingress, ManifestDir, service } from '../test/helpers/manifests.js';
import { machine, median, startBackends, wrk } from './lib.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
  },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const connections = Number(values.connections);

const pods = await startBackends(['127.0.0.41', '127.0.0.42', '127.0.0.43']);
const dirs: ManifestDir[] = [];
const controllers: RunningController[] = [];
try {
  const start = async (mode: 'lua' | 'static', accessLog: boolean) => {
    const m = new ManifestDir(`bench-${mode}`);
    dirs.push(m);
    m.write('app.yaml', [
      service('app', { ports: [{ port: 80, targetPort: pods.port }] }),
      endpoints('app', { ready: pods.addresses, port: pods.port }),
      ingress('app', { paths: [{ path: '/', service: 'app' }] }),
      configMap('settings', 'default', { 'worker-processes': '1', 'disable-access-log': String(!accessLog) }),
    ]);
    const c = await startController({
      manifests: m.dir,
      extraArgs: ['--balancer', mode, '--configmap', 'default/settings'],
    });
    controllers.push(c);
    return c;
  };
  console.log(`machine: ${machine()}`);
  console.log(`wrk: 1 thread, ${connections} connections, ${seconds} s per run, ${rounds} alternating runs per side\n`);
  console.log('| access log | static upstream req/s | Lua balancer req/s | ratio |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const accessLog of [false, true]) {
    const stat = await start('static', accessLog);
    const lua = await start('lua', accessLog);
    // warm both (keepalive pools, JIT)
    wrk(`http://127.0.0.1:${stat.ports.http}/`, { seconds: 1, connections });
    wrk(`http://127.0.0.1:${lua.ports.http}/`, { seconds: 1, connections });
    const s: number[] = [];
    const l: number[] = [];
    for (let i = 0; i < rounds; i++) {
      s.push(wrk(`http://127.0.0.1:${stat.ports.http}/`, { seconds, connections }));
      l.push(wrk(`http://127.0.0.1:${lua.ports.http}/`, { seconds, connections }));
    }
    const ratio = median(l) / median(s);
    console.log(
      `| ${accessLog ? 'on' : 'off'} | ${median(s).toFixed(0)} | ${median(l).toFixed(0)} | ${ratio.toFixed(3)} |`,
    );
    await stat.stop();
    await lua.stop();
  }
} finally {
  for (const c of controllers) if (!c.hasExited) await c.stop();
  for (const d of dirs) d.cleanup();
  await pods.stop();
}
