// Pieces of bench/kubernetes.ts that talk to the test cluster's API server directly: requests with the
// admin token over keep-alive connections (bulk creation with bounded concurrency, PATCHes whose answer is
// the moment the write was accepted), a watch of our own (when the API server delivered an event), the
// API server's request counters, its audit log read back, and the DNAT rule that gives the bulk endpoint
// addresses a backend on loopback.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { TestCluster } from '../test/helpers/cluster.js';
import { sleep } from '../test/helpers/wait.js';

type Obj = Record<string, unknown>;

export interface ApiAnswer {
  status: number;
  text: string;
  /** performance.now() when the request was handed to the socket, and when the whole answer was read */
  sentAt: number;
  answeredAt: number;
}

/** Requests to one cluster as its admin, on keep-alive connections (at most `sockets` at once). */
export class AdminApi {
  private readonly agent: https.Agent;
  private readonly ca: Buffer;

  constructor(
    private readonly cluster: TestCluster,
    sockets = 32,
  ) {
    this.agent = new https.Agent({ keepAlive: true, maxSockets: sockets });
    this.ca = fs.readFileSync(path.join(cluster.dir, 'ca.crt'));
  }

  request(method: string, pathname: string, body?: unknown, contentType = 'application/json'): Promise<ApiAnswer> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const sentAt = performance.now();
      const request = https.request(
        {
          host: '127.0.0.1',
          port: this.cluster.apiPort,
          method,
          path: pathname,
          ca: this.ca,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.cluster.admin.token}`,
            accept: 'application/json',
            ...(payload === undefined ? {} : { 'content-type': contentType }),
          },
          timeout: 60_000,
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            text += chunk;
          });
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, text, sentAt, answeredAt: performance.now() }),
          );
          response.on('error', reject);
        },
      );
      request.on('timeout', () => request.destroy(new Error(`${method} ${pathname}: timeout`)));
      request.on('error', reject);
      request.end(payload);
    });
  }

  /** POST an object to its collection; retried on 429, 5xx and dropped connections; 409 (exists) is fine. */
  async create(collection: string, object: Obj): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const answer = await this.request('POST', collection, object).catch((error: Error) => ({
        status: 0,
        text: error.message,
      }));
      if (answer.status === 201 || answer.status === 200 || answer.status === 409) return;
      const retry = answer.status === 0 || answer.status === 429 || answer.status >= 500;
      if (!retry || attempt >= 8) throw new Error(`POST ${collection}: ${answer.status} ${answer.text.slice(0, 300)}`);
      await sleep(50 * attempt);
    }
  }

  /** A JSON merge patch; throws unless 200. The answer's answeredAt is when the API server had accepted it. */
  async mergePatch(pathname: string, patch: Obj): Promise<ApiAnswer> {
    const answer = await this.request('PATCH', pathname, patch, 'application/merge-patch+json');
    if (answer.status !== 200) throw new Error(`PATCH ${pathname}: ${answer.status} ${answer.text.slice(0, 300)}`);
    return answer;
  }

  /** The API server's /metrics: apiserver_request_total summed by verb, over these resources. */
  async requestCounts(verb: string, resources: string[]): Promise<number> {
    const answer = await this.request('GET', '/metrics');
    let sum = 0;
    for (const line of answer.text.split('\n')) {
      if (!line.startsWith('apiserver_request_total{')) continue;
      const labels = line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'));
      const resource = /(?:^|,)resource="([^"]*)"/.exec(labels)?.[1];
      if (labels.includes(`verb="${verb}"`) && resource && resources.includes(resource))
        sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sum;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs work on each item with at most `limit` at once. */
export async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(runners);
}

/**
 * A watch of our own on one collection (the admin's, beside the controller's): for each object name, when
 * each resourceVersion arrived. Tells how long the API server took to deliver a write to its watchers.
 */
export class ArrivalWatch {
  readonly arrivals = new Map<string, number>(); // "name@resourceVersion" -> performance.now()
  private request: ReturnType<typeof https.get> | null = null;

  constructor(
    private readonly cluster: TestCluster,
    private readonly collection: string,
  ) {}

  async start(): Promise<void> {
    const admin = new AdminApi(this.cluster, 1);
    const list = await admin.request('GET', `${this.collection}?limit=1`).finally(() => admin.close());
    const version = (JSON.parse(list.text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    await new Promise<void>((resolve, reject) => {
      this.request = https.get(
        {
          host: '127.0.0.1',
          port: this.cluster.apiPort,
          path: `${this.collection}?watch=1&resourceVersion=${version}&timeoutSeconds=3600`,
          ca: fs.readFileSync(path.join(this.cluster.dir, 'ca.crt')),
          headers: { authorization: `Bearer ${this.cluster.admin.token}` },
        },
        (response) => {
          let buffered = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            const at = performance.now();
            buffered += chunk;
            let end = buffered.indexOf('\n');
            while (end >= 0) {
              const event = JSON.parse(buffered.slice(0, end)) as {
                object: { metadata?: { name?: string; resourceVersion?: string } };
              };
              const meta = event.object.metadata;
              if (meta?.name && meta.resourceVersion) this.arrivals.set(`${meta.name}@${meta.resourceVersion}`, at);
              buffered = buffered.slice(end + 1);
              end = buffered.indexOf('\n');
            }
          });
          resolve();
        },
      );
      this.request.on('error', reject);
    });
  }

  /** When the event of this name at this version arrived (waits up to a second for it). */
  async arrival(name: string, version: string): Promise<number> {
    for (let i = 0; i < 200; i++) {
      const at = this.arrivals.get(`${name}@${version}`);
      if (at !== undefined) return at;
      await sleep(5);
    }
    return NaN;
  }

  stop(): void {
    this.request?.destroy();
  }
}

/** The audit policy of the benchmark: the controller's own list and watch requests, nothing else. */
export function auditPolicy(user: string): string {
  return JSON.stringify({
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    omitStages: ['RequestReceived'],
    rules: [{ level: 'Metadata', users: [user], verbs: ['list', 'watch'] }, { level: 'None' }],
  });
}

export interface AuditedRequest {
  verb: 'list' | 'watch';
  resource: string;
  uri: string;
  code: number;
  /** Date.now() clock */
  receivedAt: number;
  completedAt: number;
}

/** The audit log's requests, one per audit ID (a watch logs ResponseStarted and ResponseComplete). */
export function readAudit(file: string): AuditedRequest[] {
  if (!fs.existsSync(file)) return [];
  const byId = new Map<string, AuditedRequest>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const event = JSON.parse(line) as {
      auditID: string;
      verb: string;
      stage: string;
      requestURI: string;
      objectRef?: { resource?: string };
      responseStatus?: { code?: number };
      requestReceivedTimestamp: string;
      stageTimestamp: string;
    };
    if (event.verb !== 'list' && event.verb !== 'watch') continue;
    const seen = byId.get(event.auditID);
    const request: AuditedRequest = {
      verb: event.verb,
      resource: event.objectRef?.resource ?? '?',
      uri: event.requestURI,
      code: event.responseStatus?.code ?? 0,
      receivedAt: Date.parse(event.requestReceivedTimestamp),
      completedAt: Date.parse(event.stageTimestamp),
    };
    if (!seen || event.stage === 'ResponseComplete') byId.set(event.auditID, request);
  }
  return [...byId.values()].sort((a, b) => a.receivedAt - b.receivedAt);
}

/** A list request that starts a list (its first page: no continue token). */
export const startsList = (request: AuditedRequest): boolean =>
  request.verb === 'list' && !/[?&]continue=/.test(request.uri);

/** The resourceVersion a watch request starts from. */
export function watchVersion(request: AuditedRequest): number {
  return Number(new URL(request.uri, 'https://x').searchParams.get('resourceVersion') ?? NaN);
}

/** etcd's current revision, then a physical compaction at it, through etcd's v3 HTTP gateway. */
export async function compactEtcd(etcdPort: number): Promise<number> {
  const post = async (pathname: string, body: unknown) => {
    const response = await fetch(`http://127.0.0.1:${etcdPort}${pathname}`, {
      method: 'POST',
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`etcd ${pathname}: ${response.status} ${text}`);
    return JSON.parse(text) as { header: { revision: string } };
  };
  const revision = Number((await post('/v3/kv/range', { key: 'AA==' })).header.revision);
  await post('/v3/kv/compaction', { revision: String(revision), physical: true });
  return revision;
}

/**
 * One DNAT rule sending this machine's connections to a whole block of pod addresses to one loopback
 * address (test/helpers/pod-network.ts does it per address; 100,000 rules would not do). Returns its undo.
 */
export function routeBlock(block: string, loopback: string): () => void {
  const rule = ['-t', 'nat', '-p', 'tcp', '-d', block, '-m', 'comment', '--comment', `itp-bench-${process.pid}`];
  const target = ['-j', 'DNAT', '--to-destination', loopback];
  const iptables = (action: string) =>
    execFileSync('iptables', ['-w', '5', action, 'OUTPUT', ...rule, ...target], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  iptables('-A');
  return () => iptables('-D');
}
