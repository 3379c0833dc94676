// Kubernetes objects for tests, and a temporary manifests directory written the way tools write files:
// complete files only (temporary name, then rename), so the controller never reads half a manifest.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { PodSpec } from './pods.js';

export type Obj = Record<string, unknown>;
const NS = 'default';

export interface ServicePortSpec {
  name?: string;
  port: number;
  targetPort?: number | string;
}

export function service(
  name: string,
  options: {
    namespace?: string;
    ports?: ServicePortSpec[];
    type?: string;
    clusterIP?: string;
    externalName?: string;
  } = {},
): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: options.namespace ?? NS },
    spec: {
      ...(options.type ? { type: options.type } : {}),
      ...(options.clusterIP ? { clusterIP: options.clusterIP } : {}),
      ...(options.externalName ? { externalName: options.externalName } : { selector: { app: name } }),
      ports: options.ports ?? [{ port: 80 }],
    },
  };
}

export function endpoints(
  name: string,
  options: { namespace?: string; ready: string[]; notReady?: string[]; port: number; portName?: string },
): Obj {
  const addr = (ip: string) => ({ ip, targetRef: { kind: 'Pod', name: `${name}-${ip.split('.').pop()}` } });
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace: options.namespace ?? NS },
    subsets: [
      {
        ...(options.ready.length ? { addresses: options.ready.map(addr) } : {}),
        ...(options.notReady?.length ? { notReadyAddresses: options.notReady.map(addr) } : {}),
        ports: [{ ...(options.portName ? { name: options.portName } : {}), port: options.port, protocol: 'TCP' }],
      },
    ],
  };
}

export interface SliceEndpointSpec {
  ip: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export function endpointSlice(
  name: string,
  serviceName: string,
  options: { namespace?: string; endpoints: SliceEndpointSpec[]; port: number; portName?: string },
): Obj {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: options.namespace ?? NS, labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: 'IPv4',
    ports: [{ ...(options.portName ? { name: options.portName } : {}), port: options.port, protocol: 'TCP' }],
    endpoints: options.endpoints.map((endpoint) => {
      const conditions: Obj = {};
      if (endpoint.ready !== undefined) conditions.ready = endpoint.ready;
      if (endpoint.serving !== undefined) conditions.serving = endpoint.serving;
      if (endpoint.terminating !== undefined) conditions.terminating = endpoint.terminating;
      return {
        addresses: [endpoint.ip],
        conditions,
        targetRef: { kind: 'Pod', name: `${serviceName}-${endpoint.ip.split('.').pop()}` },
      };
    }),
  };
}

/** A ClusterIP Service (port 80 -> the pods' port) with Endpoints listing every pod as ready. */
export function backend(
  name: string,
  pods: { port: number; specs: PodSpec[] },
  options: { namespace?: string } = {},
): Obj[] {
  return [
    service(name, { ...options, ports: [{ port: 80, targetPort: pods.port }] }),
    endpoints(name, { ...options, ready: pods.specs.map((s) => s.address), port: pods.port }),
  ];
}

export interface PathSpec {
  path: string;
  pathType?: 'Prefix' | 'Exact' | 'ImplementationSpecific';
  service: string;
  port?: number | string; // Service port number or name, default 80
}

export interface RuleSpec {
  host?: string;
  paths: PathSpec[];
}

const backendRef = (service: string, port: number | string = 80) => ({
  service: { name: service, port: typeof port === 'number' ? { number: port } : { name: port } },
});

export function ingress(
  name: string,
  options: {
    namespace?: string;
    host?: string;
    paths?: PathSpec[];
    rules?: RuleSpec[];
    tls?: { hosts: string[]; secretName?: string }[];
    annotations?: Record<string, string>;
    defaultBackend?: { service: string; port?: number | string };
    className?: string;
  },
): Obj {
  const rules = options.rules ?? (options.paths ? [{ host: options.host, paths: options.paths }] : []);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name,
      namespace: options.namespace ?? NS,
      ...(options.annotations ? { annotations: options.annotations } : {}),
    },
    spec: {
      ...(options.className ? { ingressClassName: options.className } : {}),
      ...(options.defaultBackend
        ? { defaultBackend: backendRef(options.defaultBackend.service, options.defaultBackend.port) }
        : {}),
      ...(options.tls ? { tls: options.tls } : {}),
      ...(rules.length
        ? {
            rules: rules.map((r) => ({
              ...(r.host !== undefined ? { host: r.host } : {}),
              http: {
                paths: r.paths.map((p) => ({
                  path: p.path,
                  pathType: p.pathType ?? 'Prefix',
                  backend: backendRef(p.service, p.port),
                })),
              },
            })),
          }
        : {}),
    },
  };
}

export function tlsSecret(name: string, cert: string, key: string, namespace = NS): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name, namespace },
    data: { 'tls.crt': Buffer.from(cert).toString('base64'), 'tls.key': Buffer.from(key).toString('base64') },
  };
}

/** An IngressClass; by default the one this controller answers to (spec.controller). */
export function ingressClass(name = 'nginx', controller = 'ingress-templater.dev/controller'): Obj {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name }, spec: { controller } };
}

export function configMap(name: string, namespace: string, data: Record<string, string>): Obj {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

export function deployment(name: string, replicas = 1): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name, image: `registry.example/${name}:1` }] },
      },
    },
  };
}

/** Several objects as one multi-document YAML file. */
export function yamlDocs(...objs: (Obj | Obj[])[]): string {
  return objs
    .flat()
    .map((o) => YAML.stringify(o))
    .join('---\n');
}

/** A temporary directory of manifests. */
export class ManifestDir {
  readonly dir: string;

  constructor(label = 'manifests') {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `itp-e2e-${label}-`));
  }

  /** Write a whole file atomically; objects are serialised as YAML documents. */
  write(name: string, content: string | Obj | Obj[]): string {
    const file = path.join(this.dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const text = typeof content === 'string' ? content : yamlDocs(content);
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${crypto.randomBytes(4).toString('hex')}.tmp`);
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
    return file;
  }

  read(name: string): string {
    return fs.readFileSync(path.join(this.dir, name), 'utf8');
  }

  remove(name: string): void {
    fs.rmSync(path.join(this.dir, name), { recursive: true, force: true });
  }

  path(name: string): string {
    return path.join(this.dir, name);
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
