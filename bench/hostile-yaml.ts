// Hostile manifests files (issue 10, items 7-8) against a real controller, each beside a plain file of the
// same size measured in the same run. Per shape, a fresh controller (so its memory high-water mark is this
// file's): the time from the write until the file is refused (or, for a plain file, accepted: its last
// document, a ConfigMap with a bad field, reported), the controller's added memory (VmHWM after minus
// VmRSS before), and the slowest /healthz while /healthz is asked every 20 ms. Targets: within 2 s, under
// 200 MB, /healthz under 100 ms.
//   node dist/bench/hostile-yaml.js [--shapes a,b] [--timeout MS] [--cli PATH] [--json FILE]
//   --cli: another build's dist/src/cli.js (say the code before a change), measured the same way
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { startController, type RunningController } from '../test/helpers/controller.js';
import { sleep } from '../test/helpers/wait.js';
import { machine, procStatusKiB } from './lib.js';

const { values } = parseArgs({
  options: {
    shapes: { type: 'string' },
    timeout: { type: 'string', default: '30000' },
    cli: { type: 'string' },
    json: { type: 'string' },
  },
});
const TIMEOUT_MS = Number(values.timeout);
const MiB = 1024 * 1024;
const FILE = 'subject.yaml';

const fill = (unit: string, bytes: number) => unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);

/** Ingresses of a class nobody serves (loaded and validated, no server built), then one bad ConfigMap. */
function plainFile(bytes: number): string {
  const last = YAML.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'last', namespace: 'bench' },
    data: { bad: [1] },
  });
  const docs: string[] = [];
  let size = last.length;
  for (let i = 0; ; i++) {
    const doc = `${YAML.stringify({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: `app-${i}`,
        namespace: 'bench',
        annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '8m' },
      },
      spec: {
        ingressClassName: 'not-served',
        rules: [
          {
            host: `app-${i}.example.com`,
            http: {
              paths: [
                { path: '/', pathType: 'Prefix', backend: { service: { name: `svc-${i}`, port: { number: 80 } } } },
              ],
            },
          },
        ],
      },
    })}---\n`;
    if (size + doc.length > bytes) break;
    docs.push(doc);
    size += doc.length;
  }
  return docs.join('') + last;
}

function blockNesting(levels: number): string {
  let yaml = '';
  for (let i = 0; i < levels; i++) yaml += `${' '.repeat(i)}a:\n`;
  return yaml;
}

function oneMapping(bytes: number): string {
  let yaml = '';
  for (let i = 0; yaml.length < bytes - 20; i++) yaml += `k${i}: 1\n`;
  return yaml;
}

/**
 * plain-*: a plain file of that size (the baseline); anchors-55k: '&a ' x 55,000 on one line; brackets-2m:
 * '[' x 2,000,000; block-1400: block mappings nested 1,400 deep; *-4mib: the size limit filled with '&a !t ',
 * '{', '---' lines, one mapping's 'kN: 1' lines, one flow list '[1,1,...]', '#' lines; aliases-40x20k: a list
 * of 20,000 items anchored and aliased 40 times (under the 50 aliases toJS allows).
 */
const SHAPES: Record<string, () => string> = {
  'plain-165k': () => plainFile(165_000),
  'anchors-55k': () => '&a '.repeat(55_000),
  'plain-2m': () => plainFile(2_000_000),
  'brackets-2m': () => '['.repeat(2_000_000),
  'block-1400': () => blockNesting(1400),
  'plain-4mib': () => plainFile(4 * MiB - 100),
  'anchors-tags-4mib': () => fill('&a !t ', 4 * MiB),
  'braces-4mib': () => fill('{', 4 * MiB),
  'documents-4mib': () => fill('---\n', 4 * MiB),
  'mapping-4mib': () => oneMapping(4 * MiB),
  'flow-list-4mib': () => `[${fill('1,', 4 * MiB - 3)}1]`,
  'comments-4mib': () => fill('#\n', 4 * MiB),
  'aliases-40x20k': () => `a: &a [${'1,'.repeat(19_999)}1]\nb: [${Array(40).fill('*a').join(',')}]\n`,
};

interface Row {
  shape: string;
  bytes: number;
  outcome: string;
  ms: number;
  addedMiB: number;
  worstHealthzMs: number;
  polls: number;
}

async function measure(shape: string, text: string): Promise<Row> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-bench-hostile-'));
  let ctl: RunningController | undefined;
  try {
    // a file at start, as any real directory has: the parser worker runs before the measured file comes
    fs.writeFileSync(
      path.join(dir, 'base.yaml'),
      YAML.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'base', namespace: 'bench' },
        data: { a: '1' },
      }),
    );
    ctl = await startController({
      manifests: dir,
      ...(values.cli ? { cli: path.resolve(values.cli) } : {}),
      readyTimeoutMs: 30_000,
    });
    await ctl.settle(500);
    const before = procStatusKiB(ctl.pid, 'VmRSS');
    let worst = 0;
    let polls = 0;
    let stop = false;
    const running = ctl;
    const poller = (async () => {
      while (!stop) {
        const started = performance.now();
        await running.healthz().catch(() => 0);
        worst = Math.max(worst, performance.now() - started);
        polls++;
        await sleep(20);
      }
    })();
    const t0 = performance.now();
    fs.writeFileSync(path.join(dir, `.${FILE}.tmp`), text);
    fs.renameSync(path.join(dir, `.${FILE}.tmp`), path.join(dir, FILE));
    let outcome = `no verdict within ${TIMEOUT_MS} ms`;
    let ms = NaN;
    while (performance.now() - t0 < TIMEOUT_MS) {
      const line = await running.status().then(
        (s) => s.problems.find((p) => p.includes(`: ${FILE}`) && p.startsWith('error')),
        () => undefined,
      );
      if (line) {
        ms = performance.now() - t0;
        outcome = /"bad"|data\.bad/.test(line)
          ? 'accepted'
          : line
              .replace(/^error: [^ ]+ /, '')
              .replace(/ \(a limit of the manifests loader\)/, '')
              .slice(0, 70);
        break;
      }
      await sleep(10);
    }
    await sleep(200);
    stop = true;
    await poller;
    const hwm = procStatusKiB(ctl.pid, 'VmHWM');
    return {
      shape,
      bytes: Buffer.byteLength(text),
      outcome,
      ms,
      addedMiB: (hwm - before) / 1024,
      worstHealthzMs: worst,
      polls,
    };
  } finally {
    await ctl?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`machine: ${machine()}`);
  console.log(
    `controller: ${values.cli ?? 'this checkout'}; per shape a fresh controller; verdict timeout ${TIMEOUT_MS} ms\n`,
  );
  const names = values.shapes ? values.shapes.split(',') : Object.keys(SHAPES);
  const rows: Row[] = [];
  for (const name of names) {
    const make = SHAPES[name];
    if (!make) throw new Error(`unknown shape ${JSON.stringify(name)}; known: ${Object.keys(SHAPES).join(', ')}`);
    const row = await measure(name, make());
    process.stderr.write(`${JSON.stringify(row)}\n`);
    rows.push(row);
  }
  const fixed = (v: number, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
  console.log(
    '| file | bytes | verdict | time to verdict ms | added memory MiB (HWM - RSS before) | worst /healthz ms | polls |',
  );
  console.log('| --- | ---: | --- | ---: | ---: | ---: | ---: |');
  for (const row of rows)
    console.log(
      `| ${row.shape} | ${row.bytes} | ${row.outcome} | ${fixed(row.ms)} | ${fixed(row.addedMiB)} | ${fixed(row.worstHealthzMs)} | ${row.polls} |`,
    );
  const command = `node dist/bench/hostile-yaml.js ${process.argv.slice(2).join(' ')}`.trim();
  console.log(`\ncommand: ${command}`);
  if (values.json) fs.writeFileSync(values.json, `${JSON.stringify({ command, machine: machine(), rows }, null, 2)}\n`);
}

await main();
