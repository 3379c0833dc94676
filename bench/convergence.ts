// Convergence: time from an Endpoints file written (atomically, as kubectl-style tools and ConfigMap
// volumes do) to the first request served by the new pod. Lua mode (push, no reload) against static
// mode (reload) in the same run, with the controller's default debounce.
//   node dist/bench/convergence.js [--changes 100] [--static-changes 20]
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { metricKey, startController } from '../test/helpers/controller.js';
import { endpoints, ingress, ManifestDir, service, yamlDocs } from '../test/helpers/manifests.js';
import { startPods } from '../test/helpers/pods.js';
import { machine, percentile } from './lib.js';

const { values } = parseArgs({
  options: { changes: { type: 'string', default: '100' }, 'static-changes': { type: 'string', default: '20' } },
});

const pods = await startPods([
  { name: 'pod-a', address: '127.0.0.51' },
  { name: 'pod-b', address: '127.0.0.52' },
]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function whoAnswers(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent, headers: { host: 'app.bench' } }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => {
        try {
          resolve(JSON.parse(body).pod);
        } catch {
          resolve(`status ${res.statusCode}`);
        }
      });
    });
    req.on('error', () => resolve('error'));
  });
}

function writeAtomic(file: string, text: string): void {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

async function run(mode: 'lua' | 'static', changes: number) {
  const manifests = new ManifestDir(`conv-${mode}`);
  const file = path.join(manifests.dir, 'endpoints.yaml');
  const eps = (i: number) => yamlDocs(endpoints('app', { ready: [pods.specs[i % 2]!.address], port: pods.port }));
  manifests.write('app.yaml', [
    service('app', { ports: [{ port: 80, targetPort: pods.port }] }),
    ingress('app', { host: 'app.bench', paths: [{ path: '/', service: 'app' }] }),
  ]);
  writeAtomic(file, eps(0));
  const ctl = await startController({
    manifests: manifests.dir,
    extraArgs: ['--balancer', mode, '--min-wait', '10', '--max-wait', '250', '--min-reload-interval', '500'],
  });
  try {
    const reloadsBefore = await ctl.metric('reloads_total');
    const times: number[] = [];
    let requests = 0;
    let failed = 0;
    for (let i = 1; i <= changes; i++) {
      const want = pods.specs[i % 2]!.name;
      const t0 = performance.now();
      writeAtomic(file, eps(i));
      for (;;) {
        const who = await whoAnswers(ctl.ports.http);
        requests++;
        if (!who.startsWith('pod-')) failed++;
        if (who === want) break;
        if (performance.now() - t0 > 10_000)
          throw new Error(`change ${i}: ${want} never answered (last: ${who})\n${ctl.log().slice(-3000)}`);
      }
      times.push(performance.now() - t0);
      // static mode spaces reloads; wait it out so every change is measured on its own
      if (mode === 'static') await new Promise((r) => setTimeout(r, 600));
    }
    const reloads = (await ctl.metric('reloads_total')) - reloadsBefore;
    const pushes = await ctl.metric('endpoint_pushes_total');
    const sorted = [...times].sort((a, b) => a - b);
    return {
      mode,
      changes,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1]!,
      reloads,
      pushes,
      requests,
      failed,
      metrics: await ctl.metrics(),
    };
  } finally {
    await ctl.stop();
    manifests.cleanup();
  }
}

try {
  console.log(`machine: ${machine()}\n`);
  const results = [await run('lua', Number(values.changes)), await run('static', Number(values['static-changes']))];
  console.log('| mode | changes | p50 ms | p90 ms | p99 ms | max ms | reloads | requests sent | failed |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of results) {
    console.log(
      `| ${row.mode} | ${row.changes} | ${row.p50.toFixed(1)} | ${row.p90.toFixed(1)} | ${row.p99.toFixed(1)} | ${row.max.toFixed(1)} | ${row.reloads} | ${row.requests} | ${row.failed} |`,
    );
  }
  const lua = results[0]!.metrics;
  console.log(
    `\nlua mode, controller's own histogram (change seen -> push acknowledged): ${lua.get(metricKey('endpoint_convergence_seconds_count'))} pushes, ` +
      `${lua.get(metricKey('endpoint_convergence_seconds_bucket', { le: '0.025' }))} within 25 ms, ${lua.get(metricKey('endpoint_convergence_seconds_bucket', { le: '0.05' }))} within 50 ms`,
  );
} finally {
  agent.destroy();
  await pods.close();
}
