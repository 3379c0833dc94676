// Where the controller's API credentials come from: --kubeconfig FILE, else $KUBECONFIG, else the pod's
// service account (in-cluster), loaded through client-node's KubeConfig so that tokens, client certificates,
// exec plugins and token files behave as the official client makes them behave. What the rest of the code
// gets is an ApiConfig: the server URL and node http(s) request options with the credentials applied, fresh
// for each request (a service-account token is re-read as it rotates, an exec credential is run again when
// it expires), which serve plain requests and long streaming watches alike.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { type Cluster, KubeConfig } from '@kubernetes/client-node';

/** The fixed place of a pod's service-account files (client-node reads them under an optional prefix). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export class ApiConfigError extends Error {}

export interface ApiConfigOptions {
  /** --kubeconfig */
  kubeconfig?: string;
  /** a context other than the file's current-context */
  context?: string;
  /** the environment to read KUBECONFIG and KUBERNETES_SERVICE_HOST from (default: process.env) */
  env?: NodeJS.ProcessEnv;
  /** prefix of the service-account directory, for tests (client-node's loadFromCluster pathPrefix) */
  serviceAccountPrefix?: string;
}

export interface ApiRequest {
  method?: string;
  headers?: Record<string, string>;
  /** socket idle timeout; 0 for none (a watch with bookmarks is never idle for long, but may be) */
  timeoutMs?: number;
  /** ends the request, or the response's stream (a watch being stopped) */
  signal?: AbortSignal;
  /**
   * a hard deadline for the whole exchange, response stream included, beside the idle one: a half-open
   * connection may never say it is dead
   */
  deadlineMs?: number;
}

export interface ApiConfig {
  /** client-node's configuration, credentials included (for what takes a KubeConfig) */
  readonly kubeConfig: KubeConfig;
  /** the API server's base URL, no trailing slash */
  readonly server: string;
  /** where the configuration came from, for logs and errors: "kubeconfig /x (context foo)", "in-cluster" */
  readonly origin: string;
  /** the context's namespace or the service account's, if any */
  readonly namespace?: string;
  /** node http/https request options for pathAndQuery (e.g. "/api/v1/namespaces?limit=500"), credentials applied */
  requestOptions(pathAndQuery: string, request?: ApiRequest): Promise<https.RequestOptions>;
  /** sends a request; resolves with the response as soon as its headers arrive (the body is a stream) */
  request(pathAndQuery: string, request?: ApiRequest & { body?: string }): Promise<http.IncomingMessage>;
  /** closes idle kept-alive connections */
  close(): void;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** In a pod with its service account's token mounted (what the in-cluster configuration needs). */
export function inPod(env: NodeJS.ProcessEnv = process.env, serviceAccountPrefix = ''): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST) && fs.existsSync(`${serviceAccountPrefix}${SERVICE_ACCOUNT_DIR}/token`);
}

/**
 * Loads the configuration: --kubeconfig, else KUBECONFIG, else the pod's service account; throws ApiConfigError
 * naming file and field. ingress-nginx (client-go's BuildConfigFromFlags) takes --kubeconfig, else the
 * in-cluster configuration, else client-go's default rules (KUBECONFIG, then ~/.kube/config): here KUBECONFIG
 * comes before the service account, and ~/.kube/config is never read (README, API mode).
 */
export function loadApiConfig(options: ApiConfigOptions = {}): ApiConfig {
  const env = options.env ?? process.env;
  if (options.kubeconfig) return fromFiles([options.kubeconfig], options.context, '--kubeconfig');
  const listed = (env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  if (listed.length) return fromFiles(listed, options.context, 'KUBECONFIG');
  const prefix = options.serviceAccountPrefix ?? '';
  const tokenFile = `${prefix}${SERVICE_ACCOUNT_DIR}/token`;
  if (inPod(env, prefix)) return inCluster(env, prefix, tokenFile);
  const why = env.KUBERNETES_SERVICE_HOST
    ? `KUBERNETES_SERVICE_HOST is set but ${tokenFile} does not exist (automountServiceAccountToken: false?)`
    : 'KUBERNETES_SERVICE_HOST is not set (not in a pod)';
  throw new ApiConfigError(`no Kubernetes API configuration: no --kubeconfig, KUBECONFIG is empty, and ${why}`);
}

function readKubeconfig(file: string, from: string): KubeConfig {
  const config = new KubeConfig();
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? errorText(err);
    throw new ApiConfigError(`kubeconfig ${file} (from ${from}): cannot read: ${code}`);
  }
  try {
    // loadFromString, then the relative paths made absolute as loadFromFile does (it would read the file again)
    config.loadFromString(text);
    config.makePathsAbsolute(path.dirname(file));
  } catch (err) {
    // client-node's messages name the entry: "clusters[0].cluster.server is missing"
    throw new ApiConfigError(`kubeconfig ${file}: ${errorText(err).split('\n')[0]}`);
  }
  return config;
}

function fromFiles(files: string[], context: string | undefined, from: string): ApiConfig {
  const config = readKubeconfig(files[0]!, from);
  // KUBECONFIG=a:b: as kubectl and client-node merge them, the first file's current-context counts
  for (const file of files.slice(1)) {
    const more = readKubeconfig(file, from);
    try {
      config.mergeConfig(more, true);
    } catch (err) {
      throw new ApiConfigError(`kubeconfig ${file}: ${errorText(err)} (already defined by an earlier KUBECONFIG file)`);
    }
  }
  const where = `kubeconfig ${files.join(path.delimiter)}`;
  const name = context ?? config.getCurrentContext();
  if (!name) throw new ApiConfigError(`${where}: no current-context set (and no context chosen)`);
  const field = context ? 'context' : 'current-context';
  const contextObject = config.getContextObject(name);
  if (!contextObject) throw new ApiConfigError(`${where}: ${field} '${name}' not found in contexts`);
  config.setCurrentContext(name);
  const cluster = config.getCluster(contextObject.cluster);
  if (!cluster) {
    throw new ApiConfigError(`${where}: context '${name}': cluster '${contextObject.cluster}' not found in clusters`);
  }
  if (!config.getUser(contextObject.user)) {
    // kubectl allows a context without a user (no credentials, e.g. kubectl proxy); so do we
    if (contextObject.user)
      throw new ApiConfigError(`${where}: context '${name}': user '${contextObject.user}' not found in users`);
  }
  return build(config, cluster, `${where} (context ${name})`, contextObject.namespace);
}

function inCluster(env: NodeJS.ProcessEnv, prefix: string, tokenFile: string): ApiConfig {
  const config = new KubeConfig();
  // loadFromCluster reads the host and port from process.env
  const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
  process.env.KUBERNETES_SERVICE_HOST = env.KUBERNETES_SERVICE_HOST;
  process.env.KUBERNETES_SERVICE_PORT = env.KUBERNETES_SERVICE_PORT ?? '443';
  try {
    config.loadFromCluster(prefix);
  } finally {
    restore('KUBERNETES_SERVICE_HOST', saved.host);
    restore('KUBERNETES_SERVICE_PORT', saved.port);
  }
  const cluster = config.getCurrentCluster()!;
  const caFile = cluster.caFile;
  if (caFile && !fs.existsSync(caFile)) throw new ApiConfigError(`in-cluster configuration: ${caFile} does not exist`);
  const namespace = config.getContextObject(config.getCurrentContext())?.namespace?.trim() || undefined;
  // client-node's token-file authenticator reads the token again every 60 s, as client-go does: the kubelet
  // rotates the projected token well before the old one expires
  return build(config, cluster, `in-cluster (token ${tokenFile})`, namespace);
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

function build(config: KubeConfig, cluster: Cluster, origin: string, namespace: string | undefined): ApiConfig {
  let url: URL;
  try {
    url = new URL(cluster.server);
  } catch {
    throw new ApiConfigError(
      `${origin}: cluster '${cluster.name}': server ${JSON.stringify(cluster.server)} is not a URL`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ApiConfigError(
      `${origin}: cluster '${cluster.name}': server ${JSON.stringify(cluster.server)} is neither https nor http`,
    );
  }
  const plain = url.protocol === 'http:';
  if (plain && !cluster.skipTLSVerify) {
    // client-node refuses an http server unless TLS verification is off; over plain http there is no TLS to
    // verify (kubectl proxy's kubeconfig has only the server), so the cluster entry says so
    const httpCluster: Cluster = { ...cluster, skipTLSVerify: true };
    const contextName = config.getCurrentContext();
    config.loadFromOptions({
      clusters: config.getClusters().map((entry) => (entry.name === cluster.name ? httpCluster : entry)),
      users: config.getUsers(),
      contexts: config.getContexts(),
      currentContext: contextName,
    });
  }
  return new KubeApiConfig(config, cluster.server.replace(/\/+$/, ''), origin, namespace, plain);
}

// One kept-alive agent for as long as the TLS material stays the same: client-node makes a new agent per call,
// which would mean a new connection and TLS handshake for every list page and watch
class KubeApiConfig implements ApiConfig {
  private agent: http.Agent | undefined;
  private agentKey = '';

  constructor(
    readonly kubeConfig: KubeConfig,
    readonly server: string,
    readonly origin: string,
    readonly namespace: string | undefined,
    private readonly plain: boolean,
  ) {}

  async requestOptions(pathAndQuery: string, request: ApiRequest = {}): Promise<https.RequestOptions> {
    const options: https.RequestOptions = { headers: { ...request.headers } };
    try {
      await this.kubeConfig.applyToHTTPSOptions(options);
    } catch (err) {
      // an exec plugin that fails, a certificate file that went away
      throw new ApiConfigError(`${this.origin}: credentials: ${errorText(err).trim().split('\n')[0]}`);
    }
    const url = new URL(this.server + pathAndQuery);
    const tls = {
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      rejectUnauthorized: options.rejectUnauthorized,
      servername: options.servername,
    };
    const cluster = this.kubeConfig.getCurrentCluster();
    let agent = options.agent as http.Agent | undefined;
    if (!cluster?.proxyUrl) agent = this.sharedAgent(tls);
    return {
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port || (this.plain ? 80 : 443),
      path: url.pathname + url.search,
      method: request.method ?? 'GET',
      headers: options.headers,
      // a kubeconfig's username and password (basic authentication)
      auth: options.auth,
      agent,
      timeout: request.timeoutMs,
      signal: request.signal,
    };
  }

  private sharedAgent(tls: https.AgentOptions): http.Agent {
    const key = [tls.ca, tls.cert, tls.key, tls.rejectUnauthorized, tls.servername]
      .map((part) => (part === undefined ? '' : String(part)))
      .join('\0');
    if (!this.agent || key !== this.agentKey) {
      this.agent?.destroy();
      this.agent = this.plain ? new http.Agent({ keepAlive: true }) : new https.Agent({ ...tls, keepAlive: true });
      this.agentKey = key;
    }
    return this.agent;
  }

  async request(pathAndQuery: string, request: ApiRequest & { body?: string } = {}): Promise<http.IncomingMessage> {
    const options = await this.requestOptions(pathAndQuery, request);
    const send = this.plain ? http.request : https.request;
    return new Promise((resolve, reject) => {
      const outgoing = send(options, resolve);
      if (request.deadlineMs !== undefined) {
        const ms = request.deadlineMs;
        const deadline = setTimeout(() => outgoing.destroy(new Error(`no answer in ${ms} ms`)), ms);
        outgoing.on('close', () => clearTimeout(deadline));
      }
      outgoing.on('timeout', () =>
        outgoing.destroy(new Error(`no answer from ${this.server} in ${request.timeoutMs} ms`)),
      );
      outgoing.on('error', (err) =>
        reject(new Error(`${request.method ?? 'GET'} ${this.server}${pathAndQuery}: ${errorText(err)}`)),
      );
      outgoing.end(request.body);
    });
  }

  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }
}
