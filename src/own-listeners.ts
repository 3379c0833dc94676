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
function bindAddress(address: string): string {
  return address === '*' || address === '0.0.0.0' || address === '::' || !isIP(address) ? '*' : address;
}

export function selfPolicy(options: SelfOptions): EndpointPolicy {
  const local = new Set<string>();
  for (const [name, list] of Object.entries(os.networkInterfaces())) {
    // kube-proxy's IPVS mode puts every ClusterIP on this dummy interface (seen with hostNetwork); IPVS
    // takes connections to them before local delivery, so they are Services, not this controller
    if (name === 'kube-ipvs0') continue;
    for (const info of list ?? []) local.add(info.address.replace(/%.*$/, '')); // fe80::1%eth0: the zone is not part of it
  }
  // the addresses the flags name are this machine's too ("*" and names are not addresses)
  for (const address of [options.listenAddress, options.statusAddress, ...options.podAddresses])
    if (isIP(address)) local.add(address);
  // which addresses reach each port: a port two listeners share takes both (and "*" wins)
  const boundTo: Record<number, string[]> = {};
  const bind = (port: number, addresses: string[]) => {
    boundTo[port] = [...new Set([...(boundTo[port] ?? []), ...addresses])];
  };
  bind(options.httpPort, [bindAddress(options.listenAddress)]);
  bind(options.httpsPort, [bindAddress(options.listenAddress)]);
  bind(options.statusPort, [bindAddress(options.statusAddress)]);
  bind(options.internalPort, ['127.0.0.1', '127.0.0.2']);
  return {
    protectedPorts: [...new Set([options.httpPort, options.httpsPort, options.statusPort, options.internalPort])].sort(
      (a, b) => a - b,
    ),
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
