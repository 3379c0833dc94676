// run's flags for the Ingress status, with ingress-nginx's names and defaults, checked into the settings of
// ingress-status.ts: --publish-service, --publish-status-address, --update-status, --update-status-on-shutdown,
// --election-id, --election-ttl, and POD_NAME / POD_NAMESPACE from the downward API.
import fs from 'node:fs';
import os from 'node:os';
import { UsageError } from '../errors.js';
import { SERVICE_ACCOUNT_DIR } from '../sources/kubernetes/config.js';
import { DNS_LABEL, DNS_SUBDOMAIN, isIP } from '../syntax.js';
import type { StatusOptions } from './ingress-status.js';
import { fixedAddresses } from './status-address.js';

export const STATUS_FLAGS = {
  'publish-service': {
    type: 'string',
    help: 'run with the API: NAMESPACE/NAME of the Service in front of the controller; its load balancer address is written on the status of every Ingress served',
  },
  'publish-status-address': {
    type: 'string',
    help: 'run with the API: the address(es) to write on the status of every Ingress served, comma-separated IPs or host names (before --publish-service)',
  },
  'update-status': {
    type: 'string',
    default: 'true',
    help: 'run with the API: write the load balancer address on Ingress status (true/false); one replica does, the holder of the --election-id Lease',
  },
  'update-status-on-shutdown': {
    type: 'string',
    default: 'true',
    help: 'run with the API: on shutdown the leader removes the address when no other replica serves behind --publish-service (true/false)',
  },
  'election-id': {
    type: 'string',
    default: 'ingress-controller-leader',
    help: 'run with the API: name of the Lease in POD_NAMESPACE that elects the replica writing Ingress status',
  },
  'election-ttl': {
    type: 'string',
    default: '30s',
    help: "run with the API: how long the leader's Lease is valid (renewed every quarter of it), e.g. 30s, 1m",
  },
} as const;

/** What run needs of these flags: the settings, or why no status is written. */
export type StatusSettings =
  | { on: Omit<StatusOptions, 'api' | 'log' | 'clock' | 'watchNamespace' | 'podIPs'> }
  | { off: string };

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration as ingress-nginx's --election-ttl took it (30s, 1m30s, 1.5m, 500ms); milliseconds. */
export function parseDuration(text: string): number | null {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (!parts.length || parts.map((part) => part[0]).join('') !== text) return null;
  return parts.reduce((sum, part) => sum + Number(part[1]) * UNITS[part[2]!]!, 0);
}

function boolean(value: string | undefined, flag: string): boolean {
  if (value !== 'true' && value !== 'false') throw new UsageError(`--${flag} must be true or false`);
  return value === 'true';
}

/** The pod's namespace: POD_NAMESPACE, else in a pod its service account's namespace file. */
function podNamespace(env: NodeJS.ProcessEnv): string | undefined {
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  try {
    return fs.readFileSync(`${SERVICE_ACCOUNT_DIR}/namespace`, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The status settings from the flags (values) and the environment; `api`: whether run watches the API.
 * Flags given without the API are refused: with --manifests there is no cluster to write to.
 */
export function statusSettings(
  values: Record<string, unknown>,
  given: (flag: string) => boolean,
  api: boolean,
  env: NodeJS.ProcessEnv = process.env,
): StatusSettings {
  const text = (flag: string) => (values[flag] === undefined ? undefined : String(values[flag]));
  const update = boolean(text('update-status'), 'update-status');
  const clearOnShutdown = boolean(text('update-status-on-shutdown'), 'update-status-on-shutdown');
  const service = text('publish-service');
  const match = service === undefined ? null : /^([^/]+)\/([^/]+)$/.exec(service);
  if (service !== undefined && (!match || !DNS_LABEL.test(match[1]!) || !DNS_SUBDOMAIN.test(match[2]!)))
    throw new UsageError(`--publish-service must be NAMESPACE/NAME, got ${JSON.stringify(service)}`);
  const fixed = text('publish-status-address');
  const addresses = fixed === undefined ? null : fixedAddresses(fixed);
  if (addresses !== null) {
    const bad = fixed!.split(/,\s*/).find((item) => !isIP(item) && !DNS_SUBDOMAIN.test(item.toLowerCase()));
    if (bad !== undefined || !addresses.length)
      throw new UsageError(
        `--publish-status-address must list IP addresses or host names, comma-separated, got ${JSON.stringify(bad ?? fixed)}`,
      );
  }
  const electionId = String(text('election-id'));
  if (!DNS_SUBDOMAIN.test(electionId))
    throw new UsageError(`--election-id must be a Lease name (a DNS subdomain), got ${JSON.stringify(electionId)}`);
  const ttl = parseDuration(String(text('election-ttl')));
  if (ttl === null || ttl < 2000 || ttl > 3_600_000)
    throw new UsageError(
      `--election-ttl must be a duration from 2s to 1h (e.g. 30s), got ${JSON.stringify(text('election-ttl'))}`,
    );
  const flags = Object.keys(STATUS_FLAGS).filter(given);
  if (!api) {
    if (flags.length)
      throw new UsageError(
        `--${flags[0]} needs the Kubernetes API source (--kubeconfig, KUBECONFIG or a pod's service account): the Ingress status is written to the cluster`,
      );
    return { off: 'not watching the Kubernetes API' };
  }
  if (!update) return { off: '--update-status=false' };
  if (!addresses && !match)
    return {
      off: 'neither --publish-service nor --publish-status-address is set (ingress-nginx would publish the addresses of the nodes running its pods; this controller does not read pods or nodes)',
    };
  // in a pod its host name is its name; elsewhere two replicas on one machine would share one
  const identity = env.POD_NAME || (env.KUBERNETES_SERVICE_HOST ? os.hostname() : '');
  if (!identity)
    throw new UsageError(
      'POD_NAME is not set: each replica needs its own name to hold the Lease that elects the status writer',
    );
  const namespace = podNamespace(env);
  if (!namespace)
    throw new UsageError(
      "POD_NAMESPACE is not set: the Lease that elects the status writer lives in the pod's namespace",
    );
  if (!DNS_LABEL.test(namespace))
    throw new UsageError(`POD_NAMESPACE must be a namespace name, got ${JSON.stringify(namespace)}`);
  return {
    on: {
      // --publish-status-address first, as ingress-nginx's runningAddresses
      publish: addresses ? { addresses } : { service: { namespace: match![1]!, name: match![2]! } },
      lease: { namespace, name: electionId },
      identity,
      electionTtlMs: ttl,
      clearOnShutdown,
    },
  };
}
