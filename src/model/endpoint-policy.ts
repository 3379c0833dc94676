// Which endpoint addresses nginx may be sent to, and how many per backend. Pure: the controller (and the
// CLI) say which ports and addresses are its own (src/own-listeners.ts); nothing here looks at the machine.
//
// The rule, and why:
// - Refused always: unspecified addresses (0.0.0.0/8, ::; a connect to 0.0.0.0 reaches this machine),
//   link-local (169.254.0.0/16, fe80::/10: cloud metadata services live there) and multicast
//   (224.0.0.0/4, ff00::/8). Kubernetes's API validation refuses these in Endpoints too; no pod has one.
// - Refused on a protected port: an address of this machine (any loopback address 127.0.0.0/8 or ::1,
//   the pod's own addresses, the listen and status addresses) with a port the controller or its nginx
//   listens on (http, https, status/metrics, the internal API, the 127.0.0.2 "unavailable" server).
//   Such an endpoint would make nginx proxy a client's request to the controller's /status and /backends
//   (every tenant's problems and endpoints) or to nginx's internal API.
// - Allowed: loopback and local addresses on any other port. Refusing all of 127.0.0.0/8 would break
//   running the controller on a workstation with local backends, and the test harness, whose pods listen
//   on loopback; those ports are not the controller's.
// IPv4-mapped and IPv4-compatible IPv6 addresses (::ffff:127.0.0.1, ::127.0.0.1) are judged as the IPv4
// address they carry. Endpoints are IP literals only (src/model/backends.ts drops anything else).
import net from 'node:net';
import type { Endpoint } from './routing.js';

/** The Lua side's limit (nginx/lua/ingress_templater/validate.lua MAX_ENDPOINTS): one backend's endpoints. */
export const MAX_ENDPOINTS = 10000;

export interface EndpointPolicy {
  protectedPorts: readonly number[]; // ports the controller or its nginx listens on
  localAddresses: readonly string[]; // this machine's addresses besides loopback (pod IPs, interfaces)
  // the addresses a protected port is bound to, when it is bound to some and not to all ("*"): only a
  // connection to one of those reaches that listener (127.0.7.1:P does not reach a listener on
  // 127.0.0.1:P). A port missing here accepts on every address of this machine.
  boundTo?: Readonly<Record<number, readonly string[]>>;
  maxEndpoints?: number; // default MAX_ENDPOINTS
}

/** Without a policy (unit tests of other parts, `render` without flags): only the always-refused classes. */
export const NO_PROTECTED: EndpointPolicy = { protectedPorts: [], localAddresses: [] };

/** 16 bytes of an IPv6 literal (IPv4 literals as ::ffff:a.b.c.d), or null. */
function bytes(address: string): number[] | null {
  const kind = net.isIP(address);
  if (kind === 4) return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...address.split('.').map(Number)];
  if (kind !== 6) return null;
  let text = address.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [first, second, third, fourth] = v4[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -v4[1]!.length)}${((first << 8) | second).toString(16)}:${((third << 8) | fourth).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? headGroups
      : [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  return groups.flatMap((group) => {
    const count = parseInt(group, 16);
    return [count >> 8, count & 0xff];
  });
}

/** One spelling per address: IPv4 dotted quad (also for IPv4-mapped/-compatible IPv6), else 8 hex groups. */
export function canonicalAddress(address: string): string | null {
  const octets = bytes(address);
  if (!octets) return null;
  const prefixZero = octets.slice(0, 10).every((x) => x === 0);
  const mapped = prefixZero && octets[10] === 0xff && octets[11] === 0xff;
  // ::a.b.c.d (IPv4-compatible, deprecated) but not :: and ::1 themselves
  const compatible = prefixZero && octets[10] === 0 && octets[11] === 0 && (octets[12]! | octets[13]!) !== 0;
  if (mapped || compatible) return octets.slice(12).join('.');
  const hexGroups: string[] = [];
  for (let i = 0; i < 16; i += 2) hexGroups.push(((octets[i]! << 8) | octets[i + 1]!).toString(16));
  return hexGroups.join(':');
}

/** Why nginx must never be sent to this address at all, or null. */
function neverValid(canonical: string): string | null {
  const dot = canonical.indexOf('.');
  if (dot > 0) {
    const firstOctet = Number(canonical.slice(0, dot));
    const secondOctet = Number(canonical.slice(dot + 1, canonical.indexOf('.', dot + 1)));
    if (firstOctet === 0) return 'an unspecified ("this host") address';
    if (firstOctet === 169 && secondOctet === 254) return 'a link-local address (cloud metadata services answer there)';
    if (firstOctet >= 224 && firstOctet <= 239) return 'a multicast address';
    return null;
  }
  if (canonical === '0:0:0:0:0:0:0:0') return 'the unspecified address';
  const first = parseInt(canonical.split(':')[0]!, 16);
  if ((first & 0xffc0) === 0xfe80) return 'a link-local address';
  if ((first & 0xff00) === 0xff00) return 'a multicast address';
  return null;
}

/** A loopback address (127.0.0.0/8, ::1), given in canonicalAddress's form. */
export function isLoopback(canonical: string): boolean {
  return canonical.startsWith('127.') || canonical === '0:0:0:0:0:0:0:1';
}

/**
 * Why nginx must not be sent to address:port (a sentence fragment for a problem), or null when it may.
 * localAddresses are compared in canonical form, so any spelling of one matches.
 */
export const NOT_AN_IP = 'not an IP address'; // left out silently: the loader and sortEndpoints drop such values too

export function endpointRefusal(address: string, port: number, policy: EndpointPolicy): string | null {
  // the common case, a plain dotted quad, without the IPv6 work (a build may screen 100,000 endpoints)
  const canonical = DOTTED_QUAD.test(address) && net.isIPv4(address) ? address : canonicalAddress(address);
  if (!canonical) return NOT_AN_IP;
  const never = neverValid(canonical);
  if (never) return `${address} is ${never}`;
  if (!policy.protectedPorts.includes(port)) return null;
  const bound = boundSet(policy, port);
  if (bound)
    return bound.has(canonical)
      ? `${address}:${port} is the address and port of a listener of the controller or its nginx`
      : null;
  if (isLoopback(canonical)) return `${address}:${port} is a loopback address on a port of the controller or its nginx`;
  if (localSet(policy).has(canonical))
    return `${address}:${port} is this controller's own address and one of its ports`;
  return null;
}

const DOTTED_QUAD = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const locals = new WeakMap<EndpointPolicy, Set<string>>();

function localSet(policy: EndpointPolicy): Set<string> {
  let set = locals.get(policy);
  if (!set) {
    set = new Set(policy.localAddresses.map(canonicalAddress).filter((a): a is string => a !== null));
    locals.set(policy, set);
  }
  return set;
}

const bounds = new WeakMap<EndpointPolicy, Map<number, Set<string> | null>>();

/** The canonical addresses port is bound to, or null when it accepts on every address. */
function boundSet(policy: EndpointPolicy, port: number): Set<string> | null {
  let byPort = bounds.get(policy);
  if (!byPort) {
    byPort = new Map();
    for (const [path, list] of Object.entries(policy.boundTo ?? {})) {
      const all = list.some(
        (a) => a === '*' || canonicalAddress(a) === '0.0.0.0' || canonicalAddress(a) === '0:0:0:0:0:0:0:0',
      );
      byPort.set(Number(path), all ? null : new Set(list.map(canonicalAddress).filter((a): a is string => a !== null)));
    }
    bounds.set(policy, byPort);
  }
  return byPort.get(port) ?? null;
}

export function maxEndpoints(policy: EndpointPolicy): number {
  return policy.maxEndpoints ?? MAX_ENDPOINTS;
}

/** What resolveBackend found wrong with a backend's endpoints; the caller adds which Ingress uses it. */
export interface EndpointIssue {
  severity: 'error' | 'warning';
  file?: string;
  line?: number;
  object: string; // the Endpoints, EndpointSlice or Service it comes from
  field?: string;
  message: string;
}

/** Endpoints kept and the issues of the ones left out, in one pass. */
export function screen<T>(
  items: T[],
  endpoint: (item: T) => Endpoint,
  where: (item: T) => Omit<EndpointIssue, 'severity' | 'message'>,
  policy: EndpointPolicy,
): { endpoints: Endpoint[]; issues: EndpointIssue[] } {
  const endpoints: Endpoint[] = [];
  const issues: EndpointIssue[] = [];
  for (const candidate of items) {
    const address = endpoint(candidate);
    const why = endpointRefusal(address.address, address.port, policy);
    if (why && why !== NOT_AN_IP)
      issues.push({ severity: 'error', ...where(candidate), message: `${why}; this endpoint is left out` });
    else if (!why) endpoints.push(address);
  }
  return { endpoints, issues };
}
