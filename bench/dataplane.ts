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
    const manifests = new ManifestDir(`bench-${mode}`);
    dirs.push(manifests);
    manifests.write('app.yaml', [
      service('app', { ports: [{ port: 80, targetPort: pods.port }] }),
      endpoints('app', { ready: pods.addresses, port: pods.port }),
      ingress('app', { paths: [{ path: '/', service: 'app' }] }),
      configMap('settings', 'default', { 'worker-processes': '1', 'disable-access-log': String(!accessLog) }),
    ]);
    const ctl = await startController({
      manifests: manifests.dir,
      extraArgs: ['--balancer', mode, '--configmap', 'default/settings'],
    });
    controllers.push(ctl);
    return ctl;
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
    const staticRates: number[] = [];
    const luaRates: number[] = [];
    for (let i = 0; i < rounds; i++) {
      staticRates.push(wrk(`http://127.0.0.1:${stat.ports.http}/`, { seconds, connections }));
      luaRates.push(wrk(`http://127.0.0.1:${lua.ports.http}/`, { seconds, connections }));
    }
    const ratio = median(luaRates) / median(staticRates);
    console.log(
      `| ${accessLog ? 'on' : 'off'} | ${median(staticRates).toFixed(0)} | ${median(luaRates).toFixed(0)} | ${ratio.toFixed(3)} |`,
    );
    await stat.stop();
    await lua.stop();
  }
} finally {
  for (const ctl of controllers) if (!ctl.hasExited) await ctl.stop();
  for (const dir of dirs) dir.cleanup();
  await pods.stop();
}
