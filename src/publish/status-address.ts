// The load balancer address the controller publishes on the Ingresses it serves, and the pure decisions
// around it: where the address comes from (--publish-status-address, or the --publish-service Service as
// ingress-nginx read it), the order addresses are compared in, which Ingresses a model serves, and which
// Ingresses need a status write.
import { isIP } from 'node:net';
import type { Model } from '../model/index.js';

/** networking.k8s.io/v1 IngressLoadBalancerIngress without ports (ingress-nginx never wrote them). */
export interface LoadBalancerAddress {
  ip?: string;
  hostname?: string;
}

/** ingress-nginx's order (lessLoadBalancerIngress): by hostname, then by IP, as strings. */
export function sortAddresses(addresses: LoadBalancerAddress[]): LoadBalancerAddress[] {
  return [...addresses].sort((left, right) => {
    const byName = compare(left.hostname ?? '', right.hostname ?? '');
    return byName || compare(left.ip ?? '', right.ip ?? '');
  });
}

const compare = (left: string, right: string) => (left < right ? -1 : left > right ? 1 : 0);

/** Both sorted: the same IPs and hostnames in the same order (ingressSliceEqual). */
export function sameAddresses(left: LoadBalancerAddress[], right: LoadBalancerAddress[]): boolean {
  return (
    left.length === right.length &&
    left.every(
      (address, index) =>
        (address.ip ?? '') === (right[index]!.ip ?? '') && (address.hostname ?? '') === (right[index]!.hostname ?? ''),
    )
  );
}

export const formatAddresses = (addresses: LoadBalancerAddress[]): string =>
  addresses.map((address) => address.ip || address.hostname).join(',') || '(none)';

/** An IP literal is an ip, anything else a hostname (nameOrIPToLoadBalancerIngress). */
export function addressOf(nameOrIP: string): LoadBalancerAddress {
  return isIP(nameOrIP) ? { ip: nameOrIP } : { hostname: nameOrIP };
}

/** --publish-status-address: addresses separated by commas (and optional spaces), sorted. */
export function fixedAddresses(list: string): LoadBalancerAddress[] {
  return sortAddresses(
    list
      .split(/,\s*/)
      .map((item) => item.trim())
      .filter(Boolean)
      .map(addressOf),
  );
}

/** The load balancer addresses an object's status holds (an Ingress's or a Service's), sorted. */
export function statusAddresses(object: unknown): LoadBalancerAddress[] {
  const list = (object as { status?: { loadBalancer?: { ingress?: unknown } } } | null)?.status?.loadBalancer?.ingress;
  if (!Array.isArray(list)) return [];
  const addresses: LoadBalancerAddress[] = [];
  for (const entry of list as { ip?: unknown; hostname?: unknown }[]) {
    const address: LoadBalancerAddress = {};
    if (typeof entry?.ip === 'string' && entry.ip) address.ip = entry.ip;
    if (typeof entry?.hostname === 'string' && entry.hostname) address.hostname = entry.hostname;
    if (address.ip || address.hostname) addresses.push(address);
  }
  return sortAddresses(addresses);
}

interface ServiceObject {
  spec?: { type?: string; clusterIP?: string; externalName?: string; externalIPs?: string[] };
}

/**
 * The addresses of the --publish-service Service, as ingress-nginx's statusAddressFromService took them:
 * LoadBalancer: its status.loadBalancer.ingress, then its externalIPs not already listed (an empty list while
 * the cloud has not assigned one: the Ingresses' addresses are removed meanwhile, as ingress-nginx did);
 * NodePort: its externalIPs, else its ClusterIP; ClusterIP: the ClusterIP; ExternalName: the name.
 */
export function serviceAddresses(service: unknown): { addresses: LoadBalancerAddress[] } | { problem: string } {
  const spec = (service as ServiceObject | null)?.spec ?? {};
  const type = spec.type ?? 'ClusterIP';
  const externalIPs = Array.isArray(spec.externalIPs) ? spec.externalIPs.filter((ip) => typeof ip === 'string') : [];
  switch (type) {
    case 'ExternalName':
      return spec.externalName
        ? { addresses: [{ hostname: spec.externalName }] }
        : { problem: 'an ExternalName Service without spec.externalName' };
    case 'ClusterIP':
      return clusterIP(spec.clusterIP);
    case 'NodePort':
      return externalIPs.length
        ? { addresses: sortAddresses(externalIPs.map((ip) => ({ ip }))) }
        : clusterIP(spec.clusterIP);
    case 'LoadBalancer': {
      const addresses = statusAddresses(service);
      for (const ip of externalIPs) {
        if (!addresses.some((address) => address.ip === ip || address.hostname === ip)) addresses.push({ ip });
      }
      return { addresses: sortAddresses(addresses) };
    }
    default:
      return { problem: `a Service of type ${JSON.stringify(type)}, whose address this controller cannot tell` };
  }
}

// ingress-nginx wrote the ClusterIP as it was, "None" included; a headless Service has no address to publish
function clusterIP(ip: string | undefined): { addresses: LoadBalancerAddress[] } | { problem: string } {
  return ip && ip !== 'None' ? { addresses: [{ ip }] } : { problem: 'a headless Service (clusterIP None)' };
}

/**
 * The Ingresses ("namespace/name") a model serves: those with a rule on a server, a default backend in use,
 * a location, or a canary applied. An Ingress refused entirely (never valid, another class) is in none of
 * them; one with only spec.defaultBackend is the catch-all server's fallback.
 */
export function servedIngresses(model: Model): Set<string> {
  const served = new Set<string>();
  for (const server of model.servers) {
    for (const id of server.ingresses) served.add(id);
    if (server.fallback.ingress) served.add(server.fallback.ingress);
    for (const location of server.locations) served.add(location.ingress);
  }
  for (const backend of model.backends) if (backend.canary) served.add(backend.canary.ingress);
  return served;
}

export interface StatusWrite {
  key: string; // "namespace/name"
  addresses: LoadBalancerAddress[]; // empty: remove the address
}

export interface DiffInput {
  /** the addresses to publish, sorted */
  desired: LoadBalancerAddress[];
  /** the Ingresses the running config serves */
  served: ReadonlySet<string>;
  /** every Ingress watched, with the addresses its status holds now (sorted) */
  observed: ReadonlyMap<string, LoadBalancerAddress[]>;
  /** Ingresses this process gave an address (so a change of the address also clears the old one) */
  written: ReadonlySet<string>;
}

/**
 * The writes that make the cluster agree: every served Ingress holds the desired addresses; one no longer
 * served loses them when it holds them or this process wrote them (an Ingress of another controller's class,
 * holding that controller's address, is left alone). Served Ingresses not watched yet wait for their event.
 */
export function statusDiff({ desired, served, observed, written }: DiffInput): StatusWrite[] {
  const writes: StatusWrite[] = [];
  for (const [key, current] of observed) {
    if (served.has(key)) {
      if (!sameAddresses(current, desired)) writes.push({ key, addresses: desired });
    } else if (current.length && (written.has(key) || sameAddresses(current, desired))) {
      writes.push({ key, addresses: [] });
    }
  }
  return writes.sort((left, right) => compare(left.key, right.key));
}
