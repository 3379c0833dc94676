// block-cidrs, block-user-agents, block-referers: clients ingress-nginx refused globally with 403.
//
// An invalid entry fails closed: every request to the Ingress servers is refused (403) until it is fixed,
// with an error. Leaving the entry out would let through exactly the client the operator meant to keep
// out (a typo such as "10.0.0.0/33" or an unbalanced regex), and falling back to the key's default (no
// block at all) would let through all of them; ingress-nginx itself never served such a list (nginx -t
// refused the config and the previous one stayed). A global setting cannot be scoped to one Ingress, so
// the safe reading of "block a client we cannot tell" is to block every client, loudly.
import net from 'node:net';
import type { Problem } from '../resources.js';
import { commaList } from './settings-values.js';

export interface BlockList {
  entries: readonly string[]; // as nginx reads them: CIDRs, or exact strings and "~"/"~*" regexes
  invalid: readonly string[]; // refused entries: while any is here, every request is refused
  refuses: boolean; // does the list refuse anyone (an entry, or an invalid one)
}

export interface BlockSettings {
  blockCidrs: BlockList;
  blockUserAgents: BlockList;
  blockReferers: BlockList;
}

const EMPTY: BlockList = Object.freeze({ entries: Object.freeze([]), invalid: Object.freeze([]), refuses: false });

export const BLOCK_DEFAULTS: Readonly<BlockSettings> = Object.freeze({
  blockCidrs: EMPTY,
  blockUserAgents: EMPTY,
  blockReferers: EMPTY,
});

/** An IPv4 or IPv6 address, or a network in CIDR notation; normalised the way nginx reads it. */
export function parseCidr(value: string): string | undefined {
  const [address, prefix, extra] = value.split('/');
  if (extra !== undefined || address === undefined) return undefined;
  const family = net.isIP(address);
  if (family === 0) return undefined;
  if (prefix === undefined) return address;
  if (!/^[0-9]{1,3}$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128)) return undefined;
  return `${address}/${Number(prefix)}`;
}

/**
 * A User-Agent or Referer pattern of a map: an exact string, or a regex after "~" (case-sensitive) or
 * "~*" (case-insensitive), as nginx's map reads them. Printable ASCII; a regex must compile (JavaScript's
 * syntax stands in for PCRE's, which agrees on what these lists hold).
 */
export function parseMapPattern(value: string): string | undefined {
  if (!/^[\x20-\x7e]{1,1024}$/.test(value)) return undefined;
  if (!value.startsWith('~')) return value;
  const regex = value.startsWith('~*') ? value.slice(2) : value.slice(1);
  if (regex === '') return undefined;
  try {
    new RegExp(regex);
  } catch {
    return undefined;
  }
  return value;
}

function blockList(parse: (entry: string) => string | undefined): (value: string) => BlockList {
  return (value) => {
    const entries: string[] = [];
    const invalid: string[] = [];
    for (const item of commaList(value)) {
      const parsed = parse(item);
      if (parsed === undefined) invalid.push(item);
      else if (!entries.includes(parsed)) entries.push(parsed);
    }
    return Object.freeze({
      entries: Object.freeze(entries),
      invalid: Object.freeze(invalid),
      refuses: entries.length > 0 || invalid.length > 0,
    });
  };
}

export const BLOCK_KEYS: Record<string, [keyof BlockSettings, (value: string) => BlockList, string]> = {
  'block-cidrs': ['blockCidrs', blockList(parseCidr), 'IP addresses or CIDRs such as 10.0.0.0/8'],
  'block-user-agents': [
    'blockUserAgents',
    blockList(parseMapPattern),
    'User-Agent strings, or regular expressions after ~ or ~*',
  ],
  'block-referers': [
    'blockReferers',
    blockList(parseMapPattern),
    'Referer strings, or regular expressions after ~ or ~*',
  ],
};

/** Is any block list unreadable, so that every request is refused? */
export function blocksEveryone(settings: BlockSettings): boolean {
  return [settings.blockCidrs, settings.blockUserAgents, settings.blockReferers].some(
    (list) => list.invalid.length > 0,
  );
}

/** The errors of unreadable block-* entries (see the top of this file for why they refuse every request). */
export function blockProblems(
  settings: BlockSettings,
  where: Omit<Problem, 'severity' | 'field' | 'message'>,
): Problem[] {
  return Object.entries(BLOCK_KEYS).flatMap(([key, [name, , expected]]) =>
    settings[name].invalid.map(
      (entry): Problem => ({
        severity: 'error',
        ...where,
        field: `data.${key}`,
        message: `invalid entry ${JSON.stringify(entry).slice(0, 80)}: expected ${expected}; every request is refused (403) until it is fixed, rather than let through the clients the list names`,
      }),
    ),
  );
}
