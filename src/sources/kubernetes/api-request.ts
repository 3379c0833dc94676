// GET requests to the API server with the credentials client-node's KubeConfig applies: the cluster CA,
// bearer token, client certificates and its exec/auth-provider plugins, all through applyToHTTPSOptions,
// which fills headers and TLS options and builds an agent (proxy-url included). That method refuses a
// plain http:// server unless the cluster says insecure-skip-tls-verify (there is no TLS to verify), so
// for such a server (`kubectl proxy`) it is asked with that flag set on a copy of the configuration.
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

export class ApiStatusError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: string,
    /** seconds from a Retry-After header, when the server sent one */
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(`HTTP ${statusCode}: ${summary(body)}`);
  }
}

function summary(body: string): string {
  try {
    const status = JSON.parse(body) as { message?: string; reason?: string };
    if (status.message) return status.message;
  } catch {
    // not a Status: the text itself
  }
  return body.slice(0, 200) || '(no body)';
}

function retryAfter(response: IncomingMessage): number | undefined {
  const header = response.headers['retry-after'];
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

export class ApiClient {
  readonly server: URL;
  private readonly config: KubeConfig;

  constructor(config: KubeConfig) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig: no current cluster');
    this.server = new URL(cluster.server);
    if (this.server.protocol === 'http:' && !cluster.skipTLSVerify) {
      const plain = new KubeConfig();
      plain.loadFromOptions({
        clusters: config.clusters.map((entry) => (entry === cluster ? { ...entry, skipTLSVerify: true } : entry)),
        contexts: config.contexts,
        users: config.users,
        currentContext: config.currentContext,
      });
      this.config = plain;
    } else {
      this.config = config;
    }
  }

  /**
   * GET pathAndQuery (relative to the server's path); resolves with the response once its status is 200,
   * rejects with ApiStatusError for any other status (its body read), or with the transport's error.
   * Credentials are applied on every request so that exec plugins can refresh expiring tokens.
   */
  async get(pathAndQuery: string, signal: AbortSignal, timeoutMs: number): Promise<IncomingMessage> {
    const options: https.RequestOptions = {};
    await this.config.applyToHTTPSOptions(options);
    signal.throwIfAborted();
    const base = this.server.pathname.replace(/\/$/, '');
    const url = new URL(base + pathAndQuery, this.server);
    const transport = url.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const request = transport.request(url, {
        ...options,
        method: 'GET',
        headers: { ...options.headers, accept: 'application/json' },
        signal,
      });
      // a hard deadline as well as the idle one: a half-open connection may never say it is dead
      const deadline = setTimeout(() => request.destroy(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
      request.on('close', () => clearTimeout(deadline));
      request.on('error', reject);
      request.on('response', (response) => {
        if (response.statusCode === 200) return resolve(response);
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (body.length < 64 * 1024) body += chunk;
        });
        response.on('error', reject);
        response.on('end', () => reject(new ApiStatusError(response.statusCode ?? 0, body, retryAfter(response))));
      });
      request.end();
    });
  }
}
