#!/usr/bin/env node
// Commands: render (preview), validate (schema + nginx -t), run (the controller).
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Controller } from './controller.js';
import { assembleController } from './sync/assemble.js';
import type { ControllerOptions } from './sync/assemble.js';
import { EXIT_CODES, ManifestsRejectedError, UsageError } from './errors.js';
import { stderrLogger } from './log.js';
import type { LogFormat, Logger } from './log.js';
import { probeBinary, defaultBinary } from './nginx/binary.js';
import { testConfig } from './nginx/configtest.js';
import {
  ensureDefaultCertificate,
  preparePrefix,
  readIfExists,
  writeAtomic,
  writeCertificates,
  writeManagedFiles,
} from './nginx/files.js';
import { describeIngresses } from './describe.js';
import { formatReport, migrationReport, nginxNotes } from './migration-report.js';
import { ManifestSet } from './sources/manifest-set.js';
import { unifiedDiff } from './render/diff.js';
import { loadTemplates, LUA_DIR } from './render/index.js';
import { balancerMode, renderOptionsFor, settle } from './plan.js';
import type { Placement } from './plan.js';
import { NameResolver } from './name-resolver.js';
import { SnippetChecker } from './nginx/snippets.js';
import type { SnippetCheck } from './model/annotations/snippets.js';
import type { BalancerMode } from './render/index.js';
import type { NginxBinary } from './nginx/binary.js';
import { formatProblem } from './resources.js';
import { podAddresses, selfPolicy } from './own-listeners.js';
import { DNS_LABEL, DNS_SUBDOMAIN, isIP } from './syntax.js';
import { ApiConfigError, inPod, loadApiConfig } from './sources/kubernetes/config.js';
import type { Problem } from './resources.js';
import { STATUS_FLAGS, statusSettings } from './publish/status-flags.js';

const VERSION: string = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

// Every flag can also come from the environment: --http-port <-> INGRESS_TEMPLATER_HTTP_PORT.
const OPTIONS = {
  manifests: { type: 'string', default: './manifests', help: 'directory of Kubernetes manifests (recursive)' },
  out: { type: 'string', help: 'render: write the config to FILE instead of stdout' },
  diff: { type: 'string', help: 'render: print a unified diff against FILE (e.g. the live nginx.conf) instead' },
  format: {
    type: 'string',
    default: 'nginx',
    help: 'render: nginx (the config) or json (the routing model); validate: json for the migration report as JSON',
  },
  'template-dir': { type: 'string', help: 'directory with nginx.conf.hbs and partials/ (default: bundled)' },
  'http-port': { type: 'string', default: '80', help: 'HTTP listen port' },
  'https-port': { type: 'string', default: '443', help: 'HTTPS listen port' },
  'listen-address': { type: 'string', default: '*', help: 'address nginx listens on ("*" for all)' },
  'status-port': { type: 'string', default: '10254', help: 'controller status port (/healthz, /metrics, /status)' },
  'status-address': { type: 'string', default: '127.0.0.1', help: 'address of the status server' },
  'internal-port': { type: 'string', default: '10246', help: 'nginx internal status port, bound to 127.0.0.1' },
  'pod-ip': {
    type: 'string',
    help: "this pod's addresses, comma-separated (default: $POD_IPS or $POD_IP); endpoints naming them on a port of ours are refused, as for every interface address",
  },
  'status-host': {
    type: 'string',
    help: 'Host names the status server answers besides its own addresses and localhost, comma-separated (a scraper using a DNS name)',
  },
  'nginx-prefix': {
    type: 'string',
    help: 'directory for nginx.conf, pid, logs, temp and TLS files (default ./.ingress-templater)',
  },
  'nginx-binary': { type: 'string', help: 'nginx executable (default: OpenResty if installed, else nginx on PATH)' },
  'nginx-user': { type: 'string', help: "user for nginx workers when running as root (default: nginx's own)" },
  sidecar: { type: 'boolean', help: 'run: do not start nginx; drive an nginx running beside us (another container)' },
  'nginx-conf': {
    type: 'string',
    help: 'sidecar: the config file the external nginx reads (default PREFIX/nginx.conf)',
  },
  'nginx-pid-file': {
    type: 'string',
    help: "sidecar: the external nginx master's pid file (default PREFIX/nginx.pid)",
  },
  'reload-command': {
    type: 'string',
    help: 'sidecar: shell command that reloads the external nginx (default: SIGHUP to the pid)',
  },
  configmap: { type: 'string', help: 'NAMESPACE/NAME of the settings ConfigMap' },
  'default-backend-service': {
    type: 'string',
    help: 'NAMESPACE/NAME of the Service answering requests no Ingress routes (its first port); default: 404',
  },
  'default-ssl-certificate': {
    type: 'string',
    help: 'NAMESPACE/NAME of the TLS Secret served instead of the generated self-signed certificate',
  },
  kubeconfig: {
    type: 'string',
    help: 'run: watch the Kubernetes API with this kubeconfig (also KUBECONFIG, or in a pod its service account) instead of --manifests',
  },
  'watch-namespace': { type: 'string', help: 'run with the API: watch only this namespace (default: all)' },
  ...STATUS_FLAGS,
  'disable-sync-events': {
    type: 'string',
    default: 'false',
    help: "run with the API: write no Normal 'Sync' Events on Ingresses (Warnings about their problems are still written)",
  },
  'ingress-class': { type: 'string', default: 'nginx', help: 'ingress class this controller serves' },
  'controller-class': {
    type: 'string',
    default: 'ingress-templater.dev/controller',
    help: 'IngressClass spec.controller value served',
  },
  'watch-ingress-without-class': {
    type: 'string',
    default: 'true',
    help: 'serve Ingresses that name no class (true/false)',
  },
  balancer: {
    type: 'string',
    default: 'auto',
    help: 'lua (endpoints pushed, no reloads), static (upstream blocks, reloads), auto (lua when nginx has ngx_lua)',
  },
  'min-wait': { type: 'string', default: '10', help: 'ms of quiet after a change before syncing' },
  'max-wait': { type: 'string', default: '250', help: 'ms at most between a change and its sync' },
  'min-reload-interval': {
    type: 'string',
    default: '500',
    help: 'ms at least between two reloads (endpoint pushes never wait)',
  },
  'resolve-interval': { type: 'string', default: '30', help: 's between re-resolutions of ExternalName targets' },
  quiet: { type: 'boolean', help: 'log warnings and errors only' },
  'log-format': {
    type: 'string',
    default: 'auto',
    help: 'json (one object per line), text, or auto (text on a terminal, else json)',
  },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
  version: { type: 'boolean', short: 'v', help: 'print the version' },
} as const;

type Values = Record<string, string | boolean | undefined>;
const GIVEN = '\0given';
const isGiven = (values: Values, k: string) => String(values[GIVEN]).split(',').includes(k);

const USAGE = `ingress-templater ${VERSION}: Kubernetes Ingress manifests -> nginx

Usage:
  ingress-templater render   --manifests DIR [--out FILE] [--template-dir DIR] [--http-port N] [--https-port N] [--nginx-prefix DIR]
  ingress-templater validate --manifests DIR
  ingress-templater describe [NAMESPACE/NAME] --manifests DIR [--status-port N]
  ingress-templater run      --manifests DIR --http-port N --https-port N --status-port N --nginx-prefix DIR [--template-dir DIR]
  ingress-templater run --sidecar --manifests DIR --nginx-conf FILE --nginx-pid-file FILE [--reload-command CMD] ...

Options (each also as an environment variable INGRESS_TEMPLATER_<NAME>, e.g. INGRESS_TEMPLATER_HTTP_PORT):
${Object.entries(OPTIONS)
  .map(([k, v]) => `  --${k.padEnd(28)} ${v.help}${'default' in v ? ` [${v.default}]` : ''}`)
  .join('\n')}

Exit codes: 0 ok, 1 other errors (e.g. a port taken), 2 manifests rejected, 3 nginx -t failed, 4 template error, 5 nginx error, 64 usage.
`;

// Flags that take true/false (parsed by boolFlag). ingress-nginx's deployments write them bare, as Go's flag
// package reads booleans (`--watch-ingress-without-class`, `--update-status-on-shutdown`): a bare one means
// true here too, so those argument lists carry over. `--flag=false` and `--flag false` keep working.
const TRUE_FALSE_FLAGS = new Set(
  Object.entries(OPTIONS)
    .filter(([, spec]) => spec.type === 'string' && 'default' in spec && /^(true|false)$/.test(String(spec.default)))
    .map(([flag]) => `--${flag}`),
);

function withBareBooleans(argv: string[]): string[] {
  return argv.map((arg, index) => {
    if (!TRUE_FALSE_FLAGS.has(arg)) return arg;
    const next = argv[index + 1];
    return next === 'true' || next === 'false' ? arg : `${arg}=true`;
  });
}

function parse(argv: string[]): { command: string | undefined; values: Values; positionals: string[] } {
  const options = Object.fromEntries(
    Object.entries(OPTIONS).map(([k, v]) => [k, { type: v.type, ...('short' in v ? { short: v.short } : {}) }]),
  );
  let parsed;
  try {
    parsed = parseArgs({
      args: withBareBooleans(argv),
      options: options as never,
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const values: Values = { ...(parsed.values as Values) };
  const given = new Set(Object.keys(values));
  for (const [flag, spec] of Object.entries(OPTIONS)) {
    if (values[flag] !== undefined) continue;
    const env = process.env[`INGRESS_TEMPLATER_${flag.toUpperCase().replace(/-/g, '_')}`];
    if (env !== undefined) {
      values[flag] = spec.type === 'boolean' ? env === 'true' || env === '1' : env;
      given.add(flag);
    } else if ('default' in spec) values[flag] = spec.default;
  }
  // which flags the user set (command line or environment), for commands where a default means "off"
  values[GIVEN] = [...given].join(',');
  return { command: parsed.positionals[0], values, positionals: parsed.positionals };
}

function intFlag(values: Values, name: string, min: number, max: number): number {
  const raw = String(values[name]);
  const value = Number(raw);
  if (!/^[0-9]+$/.test(raw) || value < min || value > max)
    throw new UsageError(`--${name} must be an integer ${min}-${max}, got ${JSON.stringify(raw)}`);
  return value;
}

function boolFlag(values: Values, name: string): boolean {
  const raw = String(values[name]);
  if (raw !== 'true' && raw !== 'false') throw new UsageError(`--${name} must be true or false`);
  return raw === 'true';
}

function balancerFlag(values: Values): BalancerMode | 'auto' {
  const mode = String(values.balancer);
  if (mode !== 'auto' && mode !== 'lua' && mode !== 'static')
    throw new UsageError(`--balancer must be auto, lua or static, got ${JSON.stringify(mode)}`);
  return mode;
}

/** A flag naming a Secret as NAMESPACE/NAME (a DNS label, then a DNS subdomain, as Kubernetes names them). */
function secretFlag(values: Values, flag: string): { namespace: string; name: string } | undefined {
  const value = values[flag] as string | undefined;
  if (value === undefined) return undefined;
  const slash = value.indexOf('/');
  const namespace = value.slice(0, slash);
  const name = value.slice(slash + 1);
  if (slash < 0 || !DNS_LABEL.test(namespace) || !DNS_SUBDOMAIN.test(name))
    throw new UsageError(`--${flag} must be NAMESPACE/NAME, got ${JSON.stringify(value)}`);
  return { namespace, name };
}

function common(values: Values) {
  const cm = values.configmap as string | undefined;
  let configMap: { namespace: string; name: string } | undefined;
  if (cm) {
    const match = /^([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(cm);
    if (!match) throw new UsageError(`--configmap must be NAMESPACE/NAME, got ${JSON.stringify(cm)}`);
    configMap = { namespace: match[1]!, name: match[2]! };
  }
  const defaultService = values['default-backend-service'] as string | undefined;
  let defaultBackendService: { namespace: string; name: string } | undefined;
  if (defaultService) {
    const match = /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)\/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)$/.exec(defaultService);
    if (!match)
      throw new UsageError(`--default-backend-service must be NAMESPACE/NAME, got ${JSON.stringify(defaultService)}`);
    defaultBackendService = { namespace: match[1]!, name: match[3]! };
  }
  const defaultSslCertificate = secretFlag(values, 'default-ssl-certificate');
  const listenAddress = String(values['listen-address']);
  return {
    manifests: path.resolve(String(values.manifests)),
    prefix: path.resolve(String(values['nginx-prefix'] ?? '.ingress-templater')),
    httpPort: intFlag(values, 'http-port', 1, 65535),
    httpsPort: intFlag(values, 'https-port', 1, 65535),
    internalPort: intFlag(values, 'internal-port', 1, 65535),
    listenAddress: listenAddress === '0.0.0.0' ? '*' : listenAddress,
    templateDir: values['template-dir'] ? path.resolve(String(values['template-dir'])) : undefined,
    configMap,
    defaultBackendService,
    defaultSslCertificate,
    classes: {
      ingressClass: String(values['ingress-class']),
      controllerClass: String(values['controller-class']),
      watchWithoutClass: boolFlag(values, 'watch-ingress-without-class'),
    },
    nginxBinary: String(values['nginx-binary'] ?? defaultBinary()),
    balancer: balancerFlag(values),
    podIPs: podIPsFlag(values),
  };
}

function podIPsFlag(values: Values): string[] {
  const list = podAddresses(values['pod-ip'] as string | undefined);
  const bad = list.find((a) => !isIP(a));
  if (bad !== undefined)
    throw new UsageError(`--pod-ip (or POD_IP/POD_IPS) must list IP addresses, got ${JSON.stringify(bad)}`);
  return list;
}

/** The controller's own ports and addresses, which no endpoint may name (src/model/endpoint-policy.ts). */
function policyFor(values: Values, shared: ReturnType<typeof common>) {
  return selfPolicy({
    httpPort: shared.httpPort,
    httpsPort: shared.httpsPort,
    internalPort: shared.internalPort,
    statusPort: intFlag(values, 'status-port', 1, 65535),
    listenAddress: shared.listenAddress,
    statusAddress: String(values['status-address']),
    podAddresses: shared.podIPs,
  });
}

/** render and describe must work without nginx installed: a full build is assumed when it cannot be asked (and no snippet is tested). */
async function probeOrAssume(binary: string) {
  const probed = await probeBinary(binary).catch(() => null);
  return {
    probed,
    bin: probed ?? {
      features: { tempPaths: ['fastcgi', 'uwsgi', 'scgi'] },
      lua: false,
      luaModules: [] as string[],
      path: binary,
    },
  };
}

const printProblems = (problems: Problem[]) => {
  for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
};

/** Where `run` with these flags would put nginx: render and validate plan for the same placement. */
function placementFor(values: Values, shared: ReturnType<typeof common>, prefix: string): Placement {
  return {
    prefix,
    listenAddress: shared.listenAddress,
    httpPort: shared.httpPort,
    httpsPort: shared.httpsPort,
    internalPort: shared.internalPort,
    defaultCertificate: path.join(prefix, 'ssl', 'default.pem'),
    nginxUser: (values['nginx-user'] as string | undefined) ?? null,
    version: VERSION,
    ...(values.sidecar
      ? { sidecar: { pidFile: path.resolve(String(values['nginx-pid-file'] ?? path.join(prefix, 'nginx.pid'))) } }
      : {}),
  };
}

/**
 * Load, then the plan `run` makes (src/plan.ts): ExternalName targets resolved, snippets tested by nginx
 * when there is one (`tmpDir` for their throwaway prefixes).
 */
async function planOnce(
  values: Values,
  bin: Pick<NginxBinary, 'features' | 'lua' | 'luaModules' | 'path'>,
  placement: Placement,
  tmpDir: string | null,
) {
  const shared = common(values);
  if (!fs.existsSync(shared.manifests)) throw new UsageError(`manifests directory ${shared.manifests} does not exist`);
  const set = new ManifestSet(shared.manifests);
  await set.refresh();
  const mode = balancerMode(shared.balancer, bin);
  const resolver = new NameResolver();
  const snippets = tmpDir ? new SnippetChecker(bin as NginxBinary, tmpDir, mode === 'lua' ? bin.luaModules : []) : null;
  const { plan: planned } = await settle(
    set.store,
    {
      model: {
        ...shared.classes,
        configMap: shared.configMap,
        defaultBackendService: shared.defaultBackendService,
        defaultSslCertificate: shared.defaultSslCertificate,
        balancer: mode,
        endpointPolicy: policyFor(values, shared),
      },
      resolved: new Map(),
      snippetVerdicts: new Map(),
      renderer: loadTemplates(shared.templateDir),
      render: renderOptionsFor(placement, bin, mode, LUA_DIR),
    },
    {
      resolve: (names) => resolver.resolve(names),
      ...(snippets ? { testSnippets: (checks: SnippetCheck[]) => snippets.verdictsFor(checks) } : {}),
    },
  );
  const problems: Problem[] = [...set.problems(), ...planned.problems];
  if (!snippets && planned.untested.length) {
    problems.push({
      severity: 'warning',
      message: `${planned.untested.length} snippet(s) not tested: no nginx to run nginx -t (run would test each and leave out a refused one)`,
    });
  }
  const errors = problems.filter((p) => p.severity === 'error').length;
  return {
    text: planned.text,
    hash: planned.hash,
    model: planned.model,
    errors,
    problems,
    store: set.store,
    classes: shared.classes,
  };
}

async function render(values: Values): Promise<void> {
  const shared = common(values);
  const format = String(values.format);
  if (format !== 'nginx' && format !== 'json')
    throw new UsageError(`--format must be nginx or json, got ${JSON.stringify(format)}`);
  const { probed, bin } = await probeOrAssume(shared.nginxBinary);
  const tmp = probed ? await fsp.mkdtemp(path.join(os.tmpdir(), 'ingress-templater-render-')) : null;
  const planned = await planOnce(values, bin, placementFor(values, shared, shared.prefix), tmp).finally(
    () => tmp && fsp.rm(tmp, { recursive: true, force: true }),
  );
  printProblems(planned.problems);
  // the routing model as JSON leaves out certificate keys: a preview is no place for secrets
  const text =
    format === 'json'
      ? `${JSON.stringify(
          {
            ...planned.model,
            certificates: planned.model.certificates.map(({ pem: _pem, ...rest }) => rest),
            files: planned.model.files.map(({ content: _content, ...rest }) => rest), // client keys, htpasswd hashes
          },
          null,
          2,
        )}\n`
      : planned.text;
  if (values.diff) {
    const file = path.resolve(String(values.diff));
    const current = (await readIfExists(file)) ?? '';
    process.stdout.write(
      current === text ? `no change against ${file}\n` : unifiedDiff(file, '(rendered)', current, text),
    );
  } else if (values.out) await writeAtomic(path.resolve(String(values.out)), text);
  else process.stdout.write(text);
  if (planned.errors)
    throw new ManifestsRejectedError(`${planned.errors} problem(s) in the manifests; the output leaves them out`);
}

async function describe(values: Values, target: string | undefined): Promise<void> {
  const shared = common(values);
  let only: { namespace: string; name: string } | undefined;
  if (target) {
    const match = /^(?:([a-z0-9-]+)\/)?([a-z0-9.-]+)$/.exec(target);
    if (!match) throw new UsageError(`describe takes NAMESPACE/NAME or NAME, got ${JSON.stringify(target)}`);
    only = { namespace: match[1] ?? 'default', name: match[2]! };
  }
  // the endpoints of each backend as run would push them (the same plan; no nginx needed), or, with a
  // running controller, what nginx actually balances over
  const { bin } = await probeOrAssume(shared.nginxBinary);
  const planned = await planOnce(values, bin, placementFor(values, shared, shared.prefix), null);
  const live = isGiven(values, 'status-port')
    ? await fetchLiveBackends(String(values['status-address']), intFlag(values, 'status-port', 1, 65535))
    : undefined;
  const out = describeIngresses(
    planned.store,
    { classes: shared.classes, backends: planned.model.backends, live },
    only,
  );
  if (!out.length)
    throw new UsageError(
      only ? `no Ingress ${only.namespace}/${only.name} in ${shared.manifests}` : `no Ingress in ${shared.manifests}`,
    );
  process.stdout.write(out.join('\n'));
}

async function fetchLiveBackends(host: string, port: number): Promise<Map<string, string[]>> {
  const res = await fetch(`http://${host.includes(':') ? `[${host}]` : host}:${port}/backends`).catch((e: Error) => {
    throw new UsageError(`cannot reach the controller's status port ${host}:${port}: ${e.message}`);
  });
  if (!res.ok) throw new UsageError(`the controller answered ${res.status} for /backends`);
  const body = (await res.json()) as { backends: Record<string, string[]> };
  return new Map(Object.entries(body.backends));
}

async function validate(values: Values): Promise<void> {
  const shared = common(values);
  const bin = await probeBinary(shared.nginxBinary);
  const prefix = await fsp.mkdtemp(path.join(os.tmpdir(), 'ingress-templater-validate-'));
  try {
    await preparePrefix(prefix);
    await ensureDefaultCertificate(prefix);
    const planned = await planOnce(values, bin, placementFor(values, shared, prefix), path.join(prefix, 'tmp'));
    printProblems(planned.problems);
    await writeCertificates(prefix, planned.model.certificates);
    await writeManagedFiles(prefix, planned.model.files);
    const file = path.join(prefix, 'nginx.conf');
    await writeAtomic(file, planned.text);
    // the migration report first: what a user moving from ingress-nginx needs to see, even on failure
    const rows = migrationReport(planned.store, planned.classes, planned.problems, bin.features);
    process.stdout.write(
      values.format === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : formatReport(rows, nginxNotes(bin.features)),
    );
    await testConfig(bin, prefix, file, planned.text);
    if (planned.errors) throw new ManifestsRejectedError(`${planned.errors} problem(s) in the manifests`);
    process.stderr.write(`ok: manifests accepted and nginx -t passed (config ${planned.hash.slice(0, 12)})\n`);
  } finally {
    await fsp.rm(prefix, { recursive: true, force: true });
  }
}

// SIGTERM to exit at most: nginx's graceful quit is given 10 s (then SIGTERM, 3 s, SIGKILL) and the sync
// and apply in progress 3 s each; Kubernetes' default grace period is 30 s.
const STOP_GRACE_MS = 25_000;

/**
 * run's API mode: with --kubeconfig; or, when --manifests is not given, with KUBECONFIG or in a pod with its
 * service account (loadApiConfig says how the order differs from ingress-nginx's). --manifests given keeps the directory source.
 */
function apiSourceFor(values: Values): ControllerOptions['api'] {
  const wanted =
    values.kubeconfig !== undefined || (!isGiven(values, 'manifests') && (Boolean(process.env.KUBECONFIG) || inPod()));
  if (!wanted) return undefined;
  const namespace = values['watch-namespace'] as string | undefined;
  if (namespace !== undefined && !DNS_LABEL.test(namespace))
    throw new UsageError(`--watch-namespace must be a namespace name, got ${JSON.stringify(namespace)}`);
  const events = { sync: !boolFlag(values, 'disable-sync-events'), podName: process.env.POD_NAME || undefined };
  try {
    return { config: loadApiConfig({ kubeconfig: values.kubeconfig as string | undefined }), namespace, events };
  } catch (err) {
    if (err instanceof ApiConfigError) throw new UsageError(err.message);
    throw err;
  }
}

async function run(values: Values): Promise<void> {
  const shared = common(values);
  const format = String(values['log-format']);
  if (format !== 'auto' && format !== 'json' && format !== 'text')
    throw new UsageError(`--log-format must be auto, json or text, got ${JSON.stringify(format)}`);
  const log = stderrLogger({ quiet: Boolean(values.quiet), format });
  // set once the controller is assembled: a signal before that exits at once (nothing is started yet)
  let controller: Controller | null = null;
  const api = apiSourceFor(values);
  const options = {
    ...shared,
    statusAddress: String(values['status-address']),
    statusPort: intFlag(values, 'status-port', 1, 65535),
    statusHosts: values['status-host']
      ? String(values['status-host'])
          .split(',')
          .map((h) => h.trim().toLowerCase())
          .filter(Boolean)
      : undefined,
    nginxUser: (values['nginx-user'] as string | undefined) ?? null,
    minWaitMs: intFlag(values, 'min-wait', 0, 600_000),
    maxWaitMs: intFlag(values, 'max-wait', 0, 600_000),
    minReloadIntervalMs: intFlag(values, 'min-reload-interval', 0, 600_000),
    sidecar: values.sidecar
      ? {
          conf: path.resolve(String(values['nginx-conf'] ?? path.join(shared.prefix, 'nginx.conf'))),
          pidFile: path.resolve(String(values['nginx-pid-file'] ?? path.join(shared.prefix, 'nginx.pid'))),
          reloadCommand: values['reload-command'] as string | undefined,
        }
      : undefined,
    resolveIntervalMs: intFlag(values, 'resolve-interval', 1, 86_400) * 1000,
    api,
    status: statusSettings(values, (flag) => isGiven(values, flag), api !== undefined),
    version: VERSION,
    log,
  };
  let stopping: Promise<void> | null = null;
  const shutdown = (signal: string) => {
    if (stopping) return;
    log(
      'info',
      values.sidecar
        ? `${signal}: stopping (the external nginx keeps running)`
        : `${signal}: stopping nginx gracefully`,
      { event: 'stop', signal },
    );
    // The stop is bounded whatever hangs: past the grace time nginx is told to quit at once and the
    // controller kills itself. SIGKILL, not process.exit(): exit waits for libuv's threads, and one stuck
    // in a system call (an open() of a FIFO, a dead NFS server) would keep the process alive for ever.
    const hard = setTimeout(() => {
      log('error', `${signal}: still stopping after ${STOP_GRACE_MS} ms; terminating nginx and exiting now`, {
        event: 'stop_timeout',
        signal,
      });
      controller?.terminateNginx();
      process.kill(process.pid, 'SIGKILL');
    }, STOP_GRACE_MS);
    hard.unref();
    stopping = (controller?.stop() ?? Promise.resolve()).then(
      () => process.exit(0),
      (error) => {
        log('error', String(error));
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  controller = await assembleController(options);
  if (stopping) return;
  await controller.start();
}

export async function main(argv: string[]): Promise<number> {
  // the controller's log format, once known: a fatal start-up error is one more record of that log
  let fatal: Logger | null = null;
  try {
    const { command, values, positionals } = parse(argv);
    if (command === 'run' && ['auto', 'json', 'text'].includes(String(values['log-format']))) {
      fatal = stderrLogger({ format: values['log-format'] as LogFormat });
    }
    if (values.version) {
      process.stdout.write(`${VERSION}\n`);
      return 0;
    }
    if (values.help || !command) {
      process.stdout.write(USAGE);
      return command || values.help ? 0 : 64;
    }
    if (command === 'render') await render(values);
    else if (command === 'validate') await validate(values);
    else if (command === 'describe') await describe(values, positionals[1]);
    else if (command === 'run') await run(values);
    else throw new UsageError(`unknown command ${JSON.stringify(command)}; see --help`);
    return 0;
  } catch (thrown) {
    const err = thrown as Error;
    const name = err.name === 'Error' ? 'error' : err.name;
    const cause = err.cause ? ((err.cause as Error).message ?? String(err.cause)) : undefined;
    if (fatal) fatal('error', `${name}: ${err.message}`, { event: 'fatal', cause });
    else {
      process.stderr.write(`${name}: ${err.message}\n`);
      if (cause) process.stderr.write(`  cause: ${cause}\n`);
    }
    return EXIT_CODES[err.name] ?? 1;
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
