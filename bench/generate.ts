// Writes a synthetic cluster into a directory, laid out the way a sync tool would dump it: per
// namespace (100 apps each) one file of Ingresses, one of Services, one TLS Secret, and one file per
// Service for its Endpoints (even apps) or EndpointSlice (odd apps), so an endpoint change rewrites one
// small file. Every endpoint address is on loopback (127.16.0.0 and up) where nothing listens: a request
// that reaches one fails fast and never leaves the machine.
//
//   node dist/bench/generate.js --ingresses 10000 --endpoints 100000 --out DIR
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { prng, yamlDocs } from './lib.js';

type Obj = Record<string, unknown>;
export const APPS_PER_NAMESPACE = 100;
const ANNOTATION = 'nginx.ingress.kubernetes.io/';

export interface ClusterSize {
  ingresses: number;
  endpoints: number; // in all, spread evenly over the Services (one per Ingress)
}

export interface GeneratedApp {
  namespace: string;
  name: string; // Ingress and Service name
  host: string;
  endpointsFile: string; // relative to the output directory
  slice: boolean; // EndpointSlice instead of Endpoints
}

/** Endpoint address number `index` of the cluster (from 0): 127.16.0.1, 127.16.0.2, ... (never .0 or .255). */
export function endpointAddress(index: number): string {
  const offset = 16 * 65536 + Math.floor(index / 254) * 256 + (index % 254) + 1;
  return `127.${(offset >> 16) & 255}.${(offset >> 8) & 255}.${offset & 255}`;
}

export function namespaceOf(app: number): string {
  return `team-${String(Math.floor(app / APPS_PER_NAMESPACE)).padStart(3, '0')}`;
}

export function appName(app: number): string {
  return `app-${String(app).padStart(5, '0')}`;
}

/** Endpoints or EndpointSlice of one app with the given addresses on port 8080. */
export function endpointsDoc(app: GeneratedApp, addresses: string[]): Obj {
  const meta = { namespace: app.namespace };
  if (app.slice) {
    return {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { ...meta, name: `${app.name}-abcde`, labels: { 'kubernetes.io/service-name': app.name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: addresses.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    };
  }
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { ...meta, name: app.name },
    subsets: addresses.length
      ? [{ addresses: addresses.map((ip) => ({ ip })), ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }]
      : [],
  };
}

/** Write complete files only (temporary name, then rename), as tools that feed a watched directory do. */
export function writeAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** One self-signed certificate naming every namespace's wildcard, made with openssl for this cluster. */
function certificate(namespaces: number): { crt: string; key: string } {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-gen-'));
  try {
    const names = Array.from(
      { length: namespaces },
      (_, n) => `DNS:*.${namespaceOf(n * APPS_PER_NAMESPACE)}.example.com`,
    ).join(',');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '3650',
        '-subj',
        '/CN=example.com',
        '-addext',
        `subjectAltName=${names}`,
        '-keyout',
        path.join(tmp, 'key'),
        '-out',
        path.join(tmp, 'crt'),
      ],
      { stdio: 'ignore' },
    );
    const b64 = (f: string) => fs.readFileSync(path.join(tmp, f)).toString('base64');
    return { crt: b64('crt'), key: b64('key') };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The mix per app: two paths (Prefix "/" and "/api"; every 10th app an Exact "/healthz" instead of "/api"),
 * every 4th app shares its host with the previous one (two Ingresses merged into one server), every 5th
 * host is TLS, and about a third carry annotations (timeouts, body size, load balancing, affinity, rate
 * limits, allow lists, and every 20th a regex with rewrite-target).
 */
export function generateCluster(dir: string, size: ClusterSize, seed = 1): GeneratedApp[] {
  const rand = prng(seed); // every run writes the same cluster
  const namespaces = Math.ceil(size.ingresses / APPS_PER_NAMESPACE);
  const cert = certificate(namespaces);
  const apps: GeneratedApp[] = [];
  const perService = Math.max(1, Math.floor(size.endpoints / size.ingresses));
  let extra = size.endpoints - perService * size.ingresses; // the first `extra` apps get one more
  let nextAddress = 0;
  for (let nsIndex = 0; nsIndex < namespaces; nsIndex++) {
    const ingresses: Obj[] = [];
    const services: Obj[] = [];
    const namespace = namespaceOf(nsIndex * APPS_PER_NAMESPACE);
    const tlsHosts: string[] = [];
    for (
      let app = nsIndex * APPS_PER_NAMESPACE;
      app < Math.min(size.ingresses, (nsIndex + 1) * APPS_PER_NAMESPACE);
      app++
    ) {
      const name = appName(app);
      const hostApp = app % 4 === 3 ? app - 1 : app;
      const host = `${appName(hostApp)}.${namespace}.example.com`;
      const tls = hostApp % 5 === 0;
      if (tls && hostApp === app) tlsHosts.push(host);
      const annotations: Record<string, string> = {};
      const roll = rand();
      if (roll < 0.08) annotations[`${ANNOTATION}proxy-read-timeout`] = String(30 + Math.floor(rand() * 90));
      else if (roll < 0.14) annotations[`${ANNOTATION}proxy-body-size`] = `${1 + Math.floor(rand() * 50)}m`;
      else if (roll < 0.19) annotations[`${ANNOTATION}load-balance`] = 'ewma';
      else if (roll < 0.23) {
        annotations[`${ANNOTATION}affinity`] = 'cookie';
        annotations[`${ANNOTATION}session-cookie-name`] = 'route';
      } else if (roll < 0.27) annotations[`${ANNOTATION}limit-rps`] = String(10 + Math.floor(rand() * 100));
      else if (roll < 0.3) annotations[`${ANNOTATION}whitelist-source-range`] = '10.0.0.0/8,127.0.0.0/8';
      else if (roll < 0.33) annotations[`${ANNOTATION}proxy-buffering`] = 'on';
      const regex = app % 20 === 7 && hostApp === app;
      if (regex) {
        annotations[`${ANNOTATION}use-regex`] = 'true';
        annotations[`${ANNOTATION}rewrite-target`] = '/$2';
      }
      const base = hostApp === app ? '' : `/${name}`; // the second Ingress of a host lives under /<name>
      const second =
        app % 10 === 9
          ? { path: `${base}/healthz`, pathType: 'Exact' }
          : { path: regex ? '/api(/|$)(.*)' : `${base}/api`, pathType: regex ? 'ImplementationSpecific' : 'Prefix' };
      const backend = { service: { name, port: { number: 80 } } };
      ingresses.push({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name, namespace, ...(Object.keys(annotations).length ? { annotations } : {}) },
        spec: {
          ingressClassName: 'nginx',
          ...(tls ? { tls: [{ hosts: [host], secretName: 'wildcard-tls' }] } : {}),
          rules: [
            {
              host,
              http: {
                paths: [
                  { path: base || '/', pathType: 'Prefix', backend },
                  { ...second, backend },
                ],
              },
            },
          ],
        },
      });
      services.push({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace },
        spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      });
      const count = perService + (extra > 0 ? 1 : 0);
      if (extra > 0) extra--;
      const addresses = Array.from({ length: count }, () => endpointAddress(nextAddress++));
      const generated: GeneratedApp = {
        namespace,
        name,
        host,
        endpointsFile: `${namespace}/endpoints/${name}.yaml`,
        slice: app % 2 === 1,
      };
      apps.push(generated);
      writeAtomic(path.join(dir, generated.endpointsFile), yamlDocs([endpointsDoc(generated, addresses)]));
    }
    writeAtomic(path.join(dir, namespace, 'ingresses.yaml'), yamlDocs(ingresses));
    writeAtomic(path.join(dir, namespace, 'services.yaml'), yamlDocs(services));
    writeAtomic(
      path.join(dir, namespace, 'tls.yaml'),
      yamlDocs([
        {
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'kubernetes.io/tls',
          metadata: { name: 'wildcard-tls', namespace },
          data: { 'tls.crt': cert.crt, 'tls.key': cert.key },
        },
      ]),
    );
  }
  writeAtomic(
    path.join(dir, 'ingressclass.yaml'),
    yamlDocs([
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'IngressClass',
        metadata: { name: 'nginx' },
        spec: { controller: 'ingress-templater.dev/controller' },
      },
    ]),
  );
  return apps;
}

export interface PathsSize {
  paths: number; // distinct paths in all
  ingresses: number; // the paths spread evenly over them
  hosts: number; // Ingress i on host i % hosts
}

/**
 * Many paths on few hosts, for validate and render at scale (bench/validate-scale.ts): 20 Services with
 * Endpoints in namespace paths, and Ingresses of paths /aK/bM (every third Exact, the others Prefix) to
 * them, at most about 1 MB of manifests a file. Every path is distinct; none encloses another.
 */
export function generatePaths(dir: string, size: PathsSize): void {
  const services = 20;
  const perIngress = Math.ceil(size.paths / size.ingresses);
  const base: Obj[] = [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: 'nginx' },
      spec: { controller: 'ingress-templater.dev/controller' },
    },
  ];
  for (let service = 0; service < services; service++) {
    base.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `s${service}`, namespace: 'paths' },
      spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    base.push({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: `s${service}`, namespace: 'paths' },
      subsets: [{ addresses: [{ ip: endpointAddress(service) }], ports: [{ name: 'http', port: 8080 }] }],
    });
  }
  writeAtomic(path.join(dir, 'services.yaml'), yamlDocs(base));
  let docs: Obj[] = [];
  let files = 0;
  const flush = () => {
    if (docs.length) writeAtomic(path.join(dir, `ingresses-${String(files++).padStart(4, '0')}.yaml`), yamlDocs(docs));
    docs = [];
  };
  for (let i = 0, k = 0; i < size.ingresses && k < size.paths; i++) {
    const paths: Obj[] = [];
    for (let j = 0; j < perIngress && k < size.paths; j++, k++) {
      paths.push({
        path: `/a${k % 97}/b${Math.floor(k / 97)}`,
        pathType: k % 3 === 0 ? 'Exact' : 'Prefix',
        backend: { service: { name: `s${k % services}`, port: { number: 80 } } },
      });
    }
    docs.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: `paths-${i}`, namespace: 'paths' },
      spec: { ingressClassName: 'nginx', rules: [{ host: `h${i % size.hosts}.example.com`, http: { paths } }] },
    });
    if (docs.length * perIngress >= 10_000) flush(); // about 100 bytes of YAML a path
  }
  flush();
}

function arg(name: string, fallback?: string): string {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? process.argv[at + 1] : fallback;
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = arg('out');
  const size = { ingresses: Number(arg('ingresses', '100')), endpoints: Number(arg('endpoints', '1000')) };
  const started = Date.now();
  const apps = generateCluster(out, size, Number(arg('seed', '1')));
  process.stdout.write(
    `wrote ${apps.length} Ingresses, ${apps.length} Services, ${size.endpoints} endpoints under ${out} in ${Date.now() - started} ms\n`,
  );
}
