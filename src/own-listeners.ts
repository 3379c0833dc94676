// The controller's own listeners, as the endpoint policy (src/model/endpoint-policy.ts) needs them: the
// ports it and its nginx listen on, and this machine's addresses (every interface, so the pod IP is
// among them, plus the addresses the flags name: --pod-ip / POD_IP, --listen-address, --status-address).
import os from 'node:os';
import { isIP } from './syntax.js';
import type { EndpointPolicy } from './model/endpoint-policy.js';

export interface SelfOptions {
  httpPort: number;
  httpsPort: number;
  statusPort: number;
  internalPort: number; // nginx's internal API on 127.0.0.1 and the "unavailable" server on 127.0.0.2
  listenAddress: string; // what nginx's http and https ports are bound to ("*": every address)
  statusAddress: string; // what the status server is bound to
  podAddresses: string[]; // --pod-ip / POD_IP(S)
}

/** The address a listener is bound to, as EndpointPolicy.boundTo holds it ("*" for every address). */
function bindAddress(a: string): string {
  return a === '*' || a === '0.0.0.0' || a === '::' || !isIP(a) ? '*' : a;
}

export function selfPolicy(o: SelfOptions): EndpointPolicy {
  const local = new Set<string>();
  for (const [name, list] of Object.entries(os.networkInterfaces())) {
    // kube-proxy's IPVS mode puts every ClusterIP on this dummy interface (seen with hostNetwork); IPVS
    // takes connections to them before local delivery, so they are Services, not this controller
    if (name === 'kube-ipvs0') continue;
    for (const a of list ?? []) local.add(a.address.replace(/%.*$/, '')); // fe80::1%eth0: the zone is not part of it
  }
  // the addresses the flags name are this machine's too ("*" and names are not addresses)
  for (const a of [o.listenAddress, o.statusAddress, ...o.podAddresses]) if (isIP(a)) local.add(a);
  // which addresses reach each port: a port two listeners share takes both (and "*" wins)
  const boundTo: Record<number, string[]> = {};
  const bind = (port: number, addresses: string[]) => {
    boundTo[port] = [...new Set([...(boundTo[port] ?? []), ...addresses])];
  };
  bind(o.httpPort, [bindAddress(o.listenAddress)]);
  bind(o.httpsPort, [bindAddress(o.listenAddress)]);
  bind(o.statusPort, [bindAddress(o.statusAddress)]);
  bind(o.internalPort, ['127.0.0.1', '127.0.0.2']);
  return {
    protectedPorts: [...new Set([o.httpPort, o.httpsPort, o.statusPort, o.internalPort])].sort((a, b) => a - b),
    localAddresses: [...local].sort(),
    boundTo,
  };
}

/** --pod-ip, else the POD_IP / POD_IPS the downward API usually sets: comma-separated addresses. */
export function podAddresses(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = flag ?? env.POD_IPS ?? env.POD_IP ?? '';
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
