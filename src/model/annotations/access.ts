// Client address access control, as ingress-nginx: allowlist-source-range (also spelled
// whitelist-source-range) allows only the given ranges; denylist-source-range refuses the given ranges.
// Values are comma-separated IPv4/IPv6 CIDRs or addresses. Rendered with nginx's access module
// (templates/partials/ann-access.hbs): deny lines first, then allow lines and "deny all"; a refused
// client gets 403.
import net from 'node:net';
import type { Ingress, Problem } from '../../resources.js';
import type { AnnotationContext, Family } from './family.js';
import { annotationProblem, PREFIX } from './values.js';

export const ALLOWLIST_SOURCE_RANGE = `${PREFIX}allowlist-source-range`;
export const WHITELIST_SOURCE_RANGE = `${PREFIX}whitelist-source-range`;
export const DENYLIST_SOURCE_RANGE = `${PREFIX}denylist-source-range`;
export const ACCESS_KEYS = [ALLOWLIST_SOURCE_RANGE, WHITELIST_SOURCE_RANGE, DENYLIST_SOURCE_RANGE] as const;

export interface AccessConfig {
  allow: string[]; // CIDRs; when not empty everything else is denied
  deny: string[];
}

const MAX_RANGES = 1000;

/**
 * One CIDR or address in canonical form ("10.0.0.0/8", "fd00::/8", "192.0.2.1" -> "192.0.2.1/32"), or
 * undefined. Host bits are cleared ("10.1.2.3/8" -> "10.0.0.0/8"), as Go's ParseCIDR in ingress-nginx
 * and nginx itself would.
 */
export function parseCidr(value: string): string | undefined {
  const match = /^([0-9A-Fa-f:.]{2,45})(?:\/([0-9]{1,3}))?$/.exec(value.trim());
  if (!match) return undefined;
  const family = net.isIP(match[1]!);
  if (family === 0) return undefined;
  const max = family === 4 ? 32 : 128;
  if (match[2] !== undefined && (Number(match[2]) > max || (match[2].length > 1 && match[2].startsWith('0'))))
    return undefined;
  const bits = match[2] === undefined ? max : Number(match[2]);
  return `${network(match[1]!, bits, family)}/${bits}`;
}

function v6Bytes(addr: string): number[] {
  // expand "::" and a trailing IPv4 part
  let address = addr.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (v4) {
    const octets = v4[1]!.split('.').map(Number);
    address = `${address.slice(0, -v4[1]!.length)}${((octets[0]! << 8) | octets[1]!).toString(16)}:${((octets[2]! << 8) | octets[3]!).toString(16)}`;
  }
  const [head, tail] = address.includes('::') ? (address.split('::') as [string, string]) : [address, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail !== undefined && tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? headGroups
      : [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  return groups.flatMap((group) => {
    const count = parseInt(group, 16);
    return [count >> 8, count & 255];
  });
}

function bytesToV6(bytes: number[]): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16));
  // RFC 5952: the longest run (2+) of zero groups becomes "::"
  let best = -1,
    bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let inner = i;
    while (inner < 8 && groups[inner] === '0') inner++;
    if (inner - i > bestLen && inner - i >= 2) {
      best = i;
      bestLen = inner - i;
    }
    i = inner;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function network(addr: string, bits: number, family: number): string {
  const bytes = family === 4 ? addr.split('.').map(Number) : v6Bytes(addr);
  const masked = bytes.map((byte, index) => {
    const keep = Math.max(0, Math.min(8, bits - 8 * index));
    return byte & (keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff);
  });
  return family === 4 ? masked.join('.') : bytesToV6(masked);
}

/** A comma-separated list of CIDRs; undefined when any entry is invalid or the list is empty. */
export function parseCidrList(value: string): string[] | undefined {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.length > MAX_RANGES) return undefined;
  const out: string[] = [];
  for (const path of parts) {
    const cidr = parseCidr(path);
    if (!cidr) return undefined;
    if (!out.includes(cidr)) out.push(cidr);
  }
  return out.length ? out : undefined;
}

export const CIDR_LIST_EXPECTED =
  'comma-separated IPv4/IPv6 addresses or CIDRs such as 10.0.0.0/8,192.0.2.1,fd00::/8 (no host bits set)';

export function parseAccess(
  ing: Ingress,
  ctx: AnnotationContext | undefined,
  problems: Problem[],
): AccessConfig | undefined {
  const annotations = ing.meta.annotations;
  const out: AccessConfig = { allow: [], deny: [] };
  // allowlist-source-range is ingress-nginx's current name, whitelist-source-range its alias
  const allowKey =
    annotations[ALLOWLIST_SOURCE_RANGE] !== undefined
      ? ALLOWLIST_SOURCE_RANGE
      : annotations[WHITELIST_SOURCE_RANGE] !== undefined
        ? WHITELIST_SOURCE_RANGE
        : null;
  if (
    allowKey &&
    annotations[WHITELIST_SOURCE_RANGE] !== undefined &&
    allowKey === ALLOWLIST_SOURCE_RANGE &&
    annotations[WHITELIST_SOURCE_RANGE] !== annotations[ALLOWLIST_SOURCE_RANGE]
  ) {
    problems.push({
      ...annotationProblem(
        ing,
        WHITELIST_SOURCE_RANGE,
        annotations[WHITELIST_SOURCE_RANGE]!,
        'nothing: allowlist-source-range is set too',
      ),
      severity: 'warning',
      message: `ignored: ${ALLOWLIST_SOURCE_RANGE} is set too and wins`,
    });
  }
  for (const [key, list] of [
    [allowKey, out.allow],
    [annotations[DENYLIST_SOURCE_RANGE] !== undefined ? DENYLIST_SOURCE_RANGE : null, out.deny],
  ] as const) {
    if (!key) continue;
    const parsed = parseCidrList(annotations[key]!);
    if (parsed) list.push(...parsed);
    else problems.push(annotationProblem(ing, key, annotations[key]!, CIDR_LIST_EXPECTED));
  }
  // the ConfigMap's lists (whitelist-source-range, denylist-source-range) for those the Ingress does not
  // set, as ingress-nginx: its own annotation replaces a list, never adds to it. One that could not be
  // read (false) refuses every client.
  const { whitelistSourceRange: globalAllow, denylistSourceRange: globalDeny } = ctx?.settings ?? {};
  if (!allowKey && globalAllow !== undefined) {
    if (globalAllow === false) out.deny.push('all');
    else out.allow.push(...globalAllow);
  }
  if (annotations[DENYLIST_SOURCE_RANGE] === undefined && globalDeny !== undefined) {
    if (globalDeny === false) out.deny.push('all');
    else out.deny.push(...globalDeny);
  }
  return out.allow.length || out.deny.length ? out : undefined;
}

export const accessFamily: Family<'access', AccessConfig> = {
  name: 'access',
  keys: ACCESS_KEYS,
  // an allow or deny list that cannot be read must not open the paths to everyone
  failClosed: true,
  location: parseAccess,
};
