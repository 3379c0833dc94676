// validate and render at scale: N distinct paths (bench/generate.ts generatePaths), on one host (Ingresses
// of 1000 paths) and spread (Ingresses of 100 paths over 50 hosts). Per case, in the same run:
//   - the baseline: the controller's own load, build+render (median of 3) and migration report, in a
//     fresh process, as bench/scale.ts measures them;
//   - nginx -t alone on that rendered config (nginx's share of validate);
//   - `validate` and `render` as a user runs them: wall time, peak RSS of the CLI (node alone) and of the
//     whole run (the larger of node and its nginx -t child);
//   - `render --diff` against the config of the case before (the same paths on other hosts: a diff
//     of nearly every line);
//   - with --baseline-cli, the same commands of another build (e.g. a copy of dist/ from before a
//     change), on the same manifests; each stopped after --limit seconds.
//   node dist/bench/validate-scale.js [--sizes 5000,50000] [--shapes one-host,spread] [--baseline-cli OLD/dist/src/cli.js] [--limit 300] [--json FILE]
// Needs GNU time (/usr/bin/time) for the peak RSS of the child processes, and timeout (coreutils).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { buildModel } from '../src/model/index.js';
import { defaultBinary, probeBinary } from '../src/nginx/binary.js';
import { ensureDefaultCertificate, preparePrefix, writeCertificates, writeManagedFiles } from '../src/nginx/files.js';
import { ManifestSet } from '../src/sources/manifest-set.js';
import { migrationReport } from '../src/migration-report.js';
import { loadTemplates, LUA_DIR } from '../src/render/index.js';
import { cleanEnv, CLI, REPO } from '../test/helpers/controller.js';
import { generatePaths, type PathsSize } from './generate.js';
import { machine, median } from './lib.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '5000,50000' },
    shapes: { type: 'string', default: 'one-host,spread' },
    'baseline-cli': { type: 'string' },
    limit: { type: 'string', default: '300' },
    json: { type: 'string' },
    phases: { type: 'string' }, // internal: DIR,PREFIX — the in-process baseline in a fresh process
  },
});

const SHAPES: Record<string, (paths: number) => PathsSize> = {
  'one-host': (paths) => ({ paths, ingresses: Math.ceil(paths / 1000), hosts: 1 }),
  spread: (paths) => ({ paths, ingresses: Math.ceil(paths / 100), hosts: 50 }),
};
const CLASSES = { ingressClass: 'nginx', controllerClass: 'ingress-templater.dev/controller', watchWithoutClass: true };
const now = () => performance.now();
// the CLI's own peak RSS, printed as it exits (GNU time's figure is the larger of it and nginx -t's)
const HWM_HOOK =
  'data:text/javascript,process.on("exit",()=>process.stderr.write("\\nnode-peak-rss-kib "+process.resourceUsage().maxRSS+"\\n"))';

/** In-process, as the controller's sync does it; also renders the config into PREFIX for nginx -t. */
async function phases(dir: string, prefix: string) {
  const bin = await probeBinary(defaultBinary());
  const balancer = bin.lua ? ('lua' as const) : ('static' as const);
  let started = now();
  const set = new ManifestSet(dir);
  await set.refresh();
  const loadMs = now() - started;
  await preparePrefix(prefix);
  const defaultCertificate = await ensureDefaultCertificate(prefix);
  const renderer = loadTemplates();
  const options = {
    prefix,
    listenAddress: '127.0.0.1',
    httpPort: 8080,
    httpsPort: 8443,
    internalPort: 10246,
    defaultCertificate,
    features: bin.features,
    version: 'bench',
    balancer,
    luaDir: LUA_DIR,
    luaModules: bin.luaModules,
  };
  const builds: number[] = [];
  const renders: number[] = [];
  const both: number[] = [];
  let last: { text: string; built: ReturnType<typeof buildModel> } | undefined;
  for (let i = 0; i < 3; i++) {
    started = now();
    const built = buildModel(set.store, { ...CLASSES, balancer });
    const buildDone = now();
    const { text } = renderer.render(built.model, options);
    builds.push(buildDone - started);
    renders.push(now() - buildDone);
    both.push(now() - started);
    last = { text, built };
  }
  started = now();
  migrationReport(set.store, CLASSES, [...set.problems(), ...last!.built.problems]);
  const reportMs = now() - started;
  await writeCertificates(prefix, last!.built.model.certificates);
  await writeManagedFiles(prefix, last!.built.model.files);
  fs.writeFileSync(path.join(prefix, 'nginx.conf'), last!.text);
  return {
    loadMs,
    buildMs: median(builds),
    renderMs: median(renders),
    buildRenderMs: median(both),
    reportMs,
    locations: (last!.text.match(/^\s*location /gm) ?? []).length,
    configBytes: Buffer.byteLength(last!.text),
    peakRssKiB: process.resourceUsage().maxRSS,
  };
}
type Phases = Awaited<ReturnType<typeof phases>>;

interface Timed {
  ms: number;
  treePeakKiB: number;
  nodePeakKiB: number;
  code: number;
}

/** A command under GNU time: wall time, peak RSS of it and its children, and the CLI's own peak. */
async function timed(cmd: string, args: string[]): Promise<Timed> {
  const out = path.join(os.tmpdir(), `itp-validate-scale-time-${process.pid}`);
  const started = now();
  const result = await promisify(execFile)(
    '/usr/bin/time',
    ['-o', out, '-f', '%M', 'timeout', values.limit!, cmd, ...args],
    { cwd: REPO, env: cleanEnv(), maxBuffer: 1 << 30, encoding: 'utf8' },
  ).then(
    (x) => ({ ...x, code: 0 }),
    (e: { stdout: string; stderr: string; code: number }) => e,
  );
  const ms = now() - started;
  const treePeakKiB = Number(fs.readFileSync(out, 'utf8').trim().split('\n').pop());
  fs.rmSync(out, { force: true });
  const node = /node-peak-rss-kib (\d+)/.exec(result.stderr);
  if (result.code === 124) return { ms: NaN, treePeakKiB: NaN, nodePeakKiB: NaN, code: result.code }; // stopped at --limit
  if (result.code !== 0)
    process.stderr.write(`${cmd} ${args.join(' ')} exited ${result.code}:\n${result.stderr.slice(-2000)}\n`);
  return { ms, treePeakKiB, nodePeakKiB: node ? Number(node[1]) : NaN, code: result.code };
}

const cli = (file: string, command: string[]) => timed(process.execPath, [`--import=${HWM_HOOK}`, file, ...command]);

// the rendered config of the case before, for render --diff
let previousConfig: string | undefined;

async function measure(paths: number, shape: string) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-validate-scale-'));
  try {
    const dir = path.join(tmp, 'manifests');
    const size = SHAPES[shape]!(paths);
    generatePaths(dir, size);
    const prefix = path.join(tmp, 'prefix');
    const child = await promisify(execFile)(
      process.execPath,
      [fileURLToPath(import.meta.url), '--phases', `${dir},${prefix}`],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    const inproc = JSON.parse(child.stdout) as Phases;
    const nginxTest = await timed(defaultBinary(), [
      '-t',
      '-q',
      '-p',
      prefix,
      '-c',
      path.join(prefix, 'nginx.conf'),
      '-e',
      'stderr',
    ]);
    const out = path.join(tmp, 'rendered.conf');
    const validate = await cli(CLI, ['validate', '--manifests', dir]);
    const render = await cli(CLI, ['render', '--manifests', dir, '--out', out]);
    const against = path.join(tmp, 'before.conf');
    if (previousConfig) fs.copyFileSync(previousConfig, against);
    const diff = previousConfig ? await cli(CLI, ['render', '--manifests', dir, '--diff', against]) : undefined;
    const old = values['baseline-cli'] && path.resolve(values['baseline-cli']);
    const baseline = old
      ? {
          validate: await cli(old, ['validate', '--manifests', dir]),
          render: await cli(old, ['render', '--manifests', dir, '--out', path.join(tmp, 'old.conf')]),
          diff: previousConfig ? await cli(old, ['render', '--manifests', dir, '--diff', against]) : undefined,
        }
      : undefined;
    previousConfig = path.join(os.tmpdir(), `itp-validate-scale-previous-${process.pid}.conf`);
    fs.copyFileSync(out, previousConfig);
    const result = { shape, ...size, ...inproc, nginxTest, validate, render, diff, baseline };
    process.stderr.write(
      `[${paths} ${shape}] ${JSON.stringify(result, (_, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}\n`,
    );
    return result;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
type Result = Awaited<ReturnType<typeof measure>>;

const seconds = (ms: number) => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : 'n/a');
const mib = (kib: number) => (Number.isFinite(kib) ? (kib / 1024).toFixed(0) : 'n/a');

const diffCell = (t: Timed | undefined) => (!t ? '-' : run(t));
// a run that failed shows its exit code (124: stopped at --limit)
const run = (t: Timed) =>
  t.code === 124 ? `> ${values.limit}` : `${seconds(t.ms)}${t.code ? ` (exit ${t.code})` : ''}`;

function report(results: Result[]): void {
  const head = [
    'paths',
    'shape',
    'locations',
    'load s',
    'build+render s (baseline)',
    'report s',
    'nginx -t s',
    'nginx -t MiB',
    'validate s',
    'validate node MiB',
    'validate all MiB',
    'render s',
    'render MiB',
    'render --diff s',
    ...(values['baseline-cli']
      ? ['old validate s', 'old validate all MiB', 'old render s', 'old render MiB', 'old render --diff s']
      : []),
  ];
  console.log(`| ${head.join(' | ')} |\n| --- | --- |${' ---: |'.repeat(head.length - 2)}`);
  for (const result of results) {
    const cells = [
      result.paths,
      result.shape,
      result.locations,
      seconds(result.loadMs),
      seconds(result.buildRenderMs),
      seconds(result.reportMs),
      seconds(result.nginxTest.ms),
      mib(result.nginxTest.treePeakKiB),
      run(result.validate),
      mib(result.validate.nodePeakKiB),
      mib(result.validate.treePeakKiB),
      run(result.render),
      mib(result.render.nodePeakKiB),
      diffCell(result.diff),
      ...(result.baseline
        ? [
            run(result.baseline.validate),
            mib(result.baseline.validate.treePeakKiB),
            run(result.baseline.render),
            mib(result.baseline.render.nodePeakKiB),
            diffCell(result.baseline.diff),
          ]
        : []),
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
  console.log(
    `\n> ${values.limit}: stopped after --limit ${values.limit} s; (exit 3): nginx -t failed (before this change also when validate stopped it at 60 s)`,
  );
  console.log(
    'validate s = load + build+render + report + nginx -t, and the start of node and nginx; "all MiB" is the larger of node and its nginx -t child',
  );
}

async function main(): Promise<void> {
  console.log(`machine: ${machine()}`);
  const results: Result[] = [];
  for (const paths of values.sizes!.split(',').map(Number)) {
    for (const shape of values.shapes!.split(',')) {
      if (!SHAPES[shape]) throw new Error(`unknown shape ${shape}; known: ${Object.keys(SHAPES).join(', ')}`);
      results.push(await measure(paths, shape));
    }
  }
  if (previousConfig) fs.rmSync(previousConfig, { force: true });
  report(results);
  const command = `node dist/bench/validate-scale.js ${process.argv.slice(2).join(' ')}`.trim();
  console.log(`\ncommand: ${command}`);
  if (values.json)
    fs.writeFileSync(values.json, `${JSON.stringify({ command, machine: machine(), results }, null, 2)}\n`);
}

if (values.phases) {
  const [dir, prefix] = values.phases.split(',');
  process.stdout.write(`${JSON.stringify(await phases(dir!, prefix!))}\n`);
} else {
  await main();
}
