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
  o: { namespace?: string; ports?: ServicePortSpec[]; type?: string; clusterIP?: string; externalName?: string } = {},
): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: o.namespace ?? NS },
    spec: {
      ...(o.type ? { type: o.type } : {}),
      ...(o.clusterIP ? { clusterIP: o.clusterIP } : {}),
      ...(o.externalName ? { externalName: o.externalName } : { selector: { app: name } }),
      ports: o.ports ?? [{ port: 80 }],
    },
  };
}

export function endpoints(
  name: string,
  o: { namespace?: string; ready: string[]; notReady?: string[]; port: number; portName?: string },
): Obj {
  const addr = (ip: string) => ({ ip, targetRef: { kind: 'Pod', name: `${name}-${ip.split('.').pop()}` } });
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace: o.namespace ?? NS },
    subsets: [
      {
        ...(o.ready.length ? { addresses: o.ready.map(addr) } : {}),
        ...(o.notReady?.length ? { notReadyAddresses: o.notReady.map(addr) } : {}),
        ports: [{ ...(o.portName ? { name: o.portName } : {}), port: o.port, protocol: 'TCP' }],
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
  o: { namespace?: string; endpoints: SliceEndpointSpec[]; port: number; portName?: string },
): Obj {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: o.namespace ?? NS, labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: 'IPv4',
    ports: [{ ...(o.portName ? { name: o.portName } : {}), port: o.port, protocol: 'TCP' }],
    endpoints: o.endpoints.map((e) => {
      const conditions: Obj = {};
      if (e.ready !== undefined) conditions.ready = e.ready;
      if (e.serving !== undefined) conditions.serving = e.serving;
      if (e.terminating !== undefined) conditions.terminating = e.terminating;
      return {
        addresses: [e.ip],
        conditions,
        targetRef: { kind: 'Pod', name: `${serviceName}-${e.ip.split('.').pop()}` },
      };
    }),
  };
}

/** A ClusterIP Service (port 80 -> the pods' port) with Endpoints listing every pod as ready. */
export function backend(name: string, pods: { port: number; specs: PodSpec[] }, o: { namespace?: string } = {}): Obj[] {
  return [
    service(name, { ...o, ports: [{ port: 80, targetPort: pods.port }] }),
    endpoints(name, { ...o, ready: pods.specs.map((s) => s.address), port: pods.port }),
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
  o: {
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
  const rules = o.rules ?? (o.paths ? [{ host: o.host, paths: o.paths }] : []);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: o.namespace ?? NS, ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: {
      ...(o.className ? { ingressClassName: o.className } : {}),
      ...(o.defaultBackend ? { defaultBackend: backendRef(o.defaultBackend.service, o.defaultBackend.port) } : {}),
      ...(o.tls ? { tls: o.tls } : {}),
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
