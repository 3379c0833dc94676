// Pod addresses the API server accepts, for fake pods that listen on loopback. kube-apiserver refuses
// loopback addresses in EndpointSlices and Endpoints ("may not be in the loopback range"), and the tests'
// servers listen on 127.0.0.0/8 only. So a test gives each pod an address in 198.18.0.0/15 (RFC 2544's
// benchmarking range, routed nowhere) and a DNAT rule in the nat table's OUTPUT chain sends this machine's
// connections to that address to the pod's loopback address, as kube-proxy's rules send a Service's address to
// a pod. Needs root and iptables (scripts/setup.sh installs it); every rule carries this process's tag and is
// removed by close().
import { execFileSync } from 'node:child_process';

const TAG = `itp-test-${process.pid}`;

/** The pod address standing for a loopback address: 127.A.B.C -> 198.18.B.C (A is not kept: use 127.0.x.y). */
export function podAddress(loopback: string): string {
  const parts = loopback.split('.');
  if (parts.length !== 4 || parts[0] !== '127') throw new Error(`not a loopback address: ${loopback}`);
  return `198.18.${parts[2]}.${parts[3]}`;
}

function iptables(args: string[]): void {
  execFileSync('iptables', ['-w', '5', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

export class PodNetwork {
  private readonly rules: string[][] = [];

  /** Routes podAddress(loopback) to loopback for each address given; returns the pod addresses. */
  route(loopbacks: string[]): string[] {
    return loopbacks.map((loopback) => {
      const pod = podAddress(loopback);
      const rule = ['-t', 'nat', 'OUTPUT', '-d', `${pod}/32`, '-p', 'tcp', '-m', 'comment', '--comment', TAG];
      iptables([rule[0]!, rule[1]!, '-A', ...rule.slice(2), '-j', 'DNAT', '--to-destination', loopback]);
      this.rules.push([...rule.slice(0, 2), ...rule.slice(2), '-j', 'DNAT', '--to-destination', loopback]);
      return pod;
    });
  }

  /** Removes every rule this network added. */
  close(): void {
    for (const rule of this.rules.splice(0)) {
      try {
        iptables([rule[0]!, rule[1]!, '-D', ...rule.slice(2)]);
      } catch {
        // already gone
      }
    }
  }
}
