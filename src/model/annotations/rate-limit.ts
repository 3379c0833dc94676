// Rate limits per client address, as ingress-nginx: limit-rps, limit-rpm (requests, with a burst of the
// limit times limit-burst-multiplier, default 5, served without delay) and limit-connections (concurrent
// connections). Each Ingress gets its own shared-memory zones, named after it, declared in the http block
// (templates/partials/http-rate-limit.hbs) and used by its locations (ann-rate-limit.hbs). Exceeding a
// limit answers the ConfigMap's limit-req-status-code / limit-conn-status-code (default 503).
import type { Ingress, Problem } from '../../resources.js';
import type { AnnotationContext, Family } from './family.js';
import { annotationProblem, parseIntIn, PREFIX } from './values.js';

export const LIMIT_RPS = `${PREFIX}limit-rps`;
export const LIMIT_RPM = `${PREFIX}limit-rpm`;
export const LIMIT_CONNECTIONS = `${PREFIX}limit-connections`;
export const LIMIT_BURST_MULTIPLIER = `${PREFIX}limit-burst-multiplier`;
export const RATE_LIMIT_KEYS = [LIMIT_RPS, LIMIT_RPM, LIMIT_CONNECTIONS, LIMIT_BURST_MULTIPLIER] as const;

export const DEFAULT_BURST_MULTIPLIER = 5;
// the shared memory of each zone, as ingress-nginx sizes them (one state is 64-128 bytes: ~40k clients)
export const ZONE_SIZE = '5m';

export interface RateLimitConfig {
  conn: { zone: string; limit: number } | null;
  rpm: { zone: string; burst: number } | null;
  rps: { zone: string; burst: number } | null;
  reqStatus: number;
  connStatus: number;
}

/** A zone for the http block: limit_req_zone when rate is set, else limit_conn_zone. */
export interface ZoneItem {
  zone: string;
  rate: string | null; // "10r/s", "600r/m"
  size: string;
}

interface Limits {
  rps: number;
  rpm: number;
  conn: number;
  multiplier: number;
}

// Namespaces and names never contain '/', so "namespace/name/kind" cannot collide between Ingresses.
export function zoneName(ing: Ingress, kind: 'rps' | 'rpm' | 'conn'): string {
  return `${ing.meta.namespace}/${ing.meta.name}/${kind}`;
}

function parseLimits(ing: Ingress, problems: Problem[]): Limits | undefined {
  const annotations = ing.meta.annotations;
  const read = (key: string, min: number, max: number, fallback: number): number => {
    const raw = annotations[key];
    if (raw === undefined) return fallback;
    const value = parseIntIn(raw, min, max);
    if (value === undefined) {
      problems.push(annotationProblem(ing, key, raw, `an integer ${min}-${max}${min === 0 ? ' (0: no limit)' : ''}`));
      return fallback;
    }
    return value;
  };
  const limits: Limits = {
    rps: read(LIMIT_RPS, 0, 100_000, 0),
    rpm: read(LIMIT_RPM, 0, 6_000_000, 0),
    conn: read(LIMIT_CONNECTIONS, 0, 100_000, 0),
    multiplier: read(LIMIT_BURST_MULTIPLIER, 1, 1000, DEFAULT_BURST_MULTIPLIER),
  };
  return limits.rps || limits.rpm || limits.conn ? limits : undefined;
}

export function parseRateLimit(ing: Ingress, ctx: AnnotationContext, problems: Problem[]): RateLimitConfig | undefined {
  const limits = parseLimits(ing, problems);
  if (!limits) return undefined;
  return {
    conn: limits.conn ? { zone: zoneName(ing, 'conn'), limit: limits.conn } : null,
    rpm: limits.rpm ? { zone: zoneName(ing, 'rpm'), burst: limits.rpm * limits.multiplier } : null,
    rps: limits.rps ? { zone: zoneName(ing, 'rps'), burst: limits.rps * limits.multiplier } : null,
    reqStatus: ctx.settings.limitReqStatusCode,
    connStatus: ctx.settings.limitConnStatusCode,
  };
}

export function rateLimitZones(ing: Ingress): ZoneItem[] {
  // location() has reported the problems already
  const limits = parseLimits(ing, []);
  if (!limits) return [];
  const out: ZoneItem[] = [];
  if (limits.conn) out.push({ zone: zoneName(ing, 'conn'), rate: null, size: ZONE_SIZE });
  if (limits.rpm) out.push({ zone: zoneName(ing, 'rpm'), rate: `${limits.rpm}r/m`, size: ZONE_SIZE });
  if (limits.rps) out.push({ zone: zoneName(ing, 'rps'), rate: `${limits.rps}r/s`, size: ZONE_SIZE });
  return out;
}

export const rateLimitFamily: Family<'rate-limit', RateLimitConfig, never, ZoneItem> = {
  name: 'rate-limit',
  keys: RATE_LIMIT_KEYS,
  location: parseRateLimit,
  http: (ing) => rateLimitZones(ing),
};
