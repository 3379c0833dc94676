// Chooses --min-reload-interval: for each interval, bursts of Ingress files written one after another within
// about a second (a CI pipeline applying a hundred manifests), on a generated cluster. Per interval: reloads per
// burst, time from the first write to the last new host served, and the delay of a lone change that arrives
// right after a reload (what the interval costs a single user).
//   node dist/bench/reload-interval.js [--ingresses 100] [--intervals 0,250,500,1000,2000] [--bursts 3] [--files 100]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cleanEnv, CLI, metricKey, REPO, RunningController } from '../test/helpers/controller.js';
import { freePorts } from '../test/helpers/ports.js';
import { sleep } from '../test/helpers/wait.js';
import { generateCluster, writeAtomic } from './generate.js';
import { get, ingressDoc, machine, median, startBackends, yamlDocs } from './lib.js';

const { values } = parseArgs({
  options: {
    ingresses: { type: 'string', default: '100' },
    intervals: { type: 'string', default: '0,250,500,1000,2000' },
    bursts: { type: 'string', default: '3' },
    files: { type: 'string', default: '100' },
  },
});
const FILES = Number(values.files);
const BURSTS = Number(values.bursts);
const POD = '127.0.98.1';

const ingress = (name: string, host: string) => ingressDoc(name, host, 'storm');

async function servedAll(port: number, hosts: string[]): Promise<void> {
  let pending = hosts;
  while (pending.length) {
    const codes = await Promise.all(pending.map(async (h) => (await get(port, h)).status));
    pending = pending.filter((_, i) => codes[i] !== 200);
    if (pending.length) await sleep(2);
  }
}

async function run(
  interval: number,
  podPort: number,
): Promise<{ reloads: number[]; lastMs: number[]; loneMs: number[] }> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-mri-'));
  const dir = path.join(tmp, 'manifests');
  generateCluster(dir, { ingresses: Number(values.ingresses), endpoints: Number(values.ingresses) * 10 });
  writeAtomic(
    path.join(dir, 'bench', 'storm.yaml'),
    yamlDocs([
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'storm', namespace: 'bench' },
        spec: { ports: [{ port: 80, targetPort: podPort }] },
      },
      {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: 'storm', namespace: 'bench' },
        subsets: [{ addresses: [{ ip: POD }], ports: [{ port: podPort }] }],
      },
    ]),
  );
  const [httpPort, httpsPort, statusPort, internalPort] = await freePorts(4);
  const ports = { http: httpPort!, https: httpsPort!, status: statusPort!, internal: internalPort! };
  const prefix = path.join(tmp, 'nginx');
  fs.mkdirSync(prefix);
  const child = spawn(
    process.execPath,
    [
      CLI,
      'run',
      '--manifests',
      dir,
      '--nginx-prefix',
      prefix,
      '--listen-address',
      '127.0.0.1',
      '--http-port',
      String(ports.http),
      '--https-port',
      String(ports.https),
      '--status-port',
      String(ports.status),
      '--internal-port',
      String(ports.internal),
      '--min-reload-interval',
      String(interval),
    ],
    { cwd: REPO, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const ctl = new RunningController(child, ports, prefix, dir);
  const out = { reloads: [] as number[], lastMs: [] as number[], loneMs: [] as number[] };
  try {
    await ctl.waitReady(120_000);
    const quiet = Math.max(1000, interval + 500);
    for (let burst = 0; burst < BURSTS; burst++) {
      const before = await ctl.settle(quiet, 120_000);
      const hosts: string[] = [];
      const t0 = performance.now();
      for (let k = 0; k < FILES; k++) {
        const host = `b${burst}-${k}.example.com`;
        hosts.push(host);
        writeAtomic(path.join(dir, 'bench', `b${burst}-${k}.yaml`), yamlDocs([ingress(`b${burst}-${k}`, host)]));
        await sleep(1000 / FILES);
      }
      await servedAll(ctl.ports.http, hosts);
      out.lastMs.push(performance.now() - t0);
      const after = await ctl.settle(quiet, 120_000);
      out.reloads.push((after.get(metricKey('reloads_total')) ?? 0) - (before.get(metricKey('reloads_total')) ?? 0));
      // a lone change 50 ms after a reload: it waits for the rest of the interval
      const reloads = after.get(metricKey('reloads_total')) ?? 0;
      writeAtomic(
        path.join(dir, 'bench', `trigger-${burst}.yaml`),
        yamlDocs([ingress(`trigger-${burst}`, `trigger-${burst}.example.com`)]),
      );
      await ctl.waitForReload(reloads, 120_000);
      await sleep(50);
      const t1 = performance.now();
      writeAtomic(
        path.join(dir, 'bench', `lone-${burst}.yaml`),
        yamlDocs([ingress(`lone-${burst}`, `lone-${burst}.example.com`)]),
      );
      await servedAll(ctl.ports.http, [`lone-${burst}.example.com`]);
      out.loneMs.push(performance.now() - t1);
    }
  } finally {
    await ctl.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

async function main(): Promise<void> {
  const pods = await startBackends([POD]);
  try {
    process.stdout.write(
      `machine: ${machine()}\n${values.ingresses} generated Ingresses; bursts of ${FILES} files over ~1 s\n\n`,
    );
    process.stdout.write(
      '| --min-reload-interval ms | reloads per burst | first write to last host served, median ms | lone change right after a reload, median ms |\n| ---: | --- | ---: | ---: |\n',
    );
    for (const interval of values.intervals!.split(',').map(Number)) {
      const result = await run(interval, pods.port);
      process.stdout.write(
        `| ${interval} | ${result.reloads.join(', ')} | ${median(result.lastMs).toFixed(0)} | ${median(result.loneMs).toFixed(0)} |\n`,
      );
    }
    process.stdout.write(`\ncommand: node dist/bench/reload-interval.js ${process.argv.slice(2).join(' ')}\n`);
  } finally {
    await pods.stop();
  }
}

await main();
