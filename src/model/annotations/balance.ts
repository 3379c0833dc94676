// Load balancing per backend: load-balance, upstream-hash-by and cookie affinity, with the names and
// value formats of the best-known nginx ingress controller.
import type { Ingress, Problem } from '../../resources.js';
import { annotationProblem, PREFIX } from './values.js';

export const LOAD_BALANCE = `${PREFIX}load-balance`;
export const HASH_BY = `${PREFIX}upstream-hash-by`;
export const AFFINITY = `${PREFIX}affinity`;
export const COOKIE_NAME = `${PREFIX}session-cookie-name`;
export const COOKIE_MAX_AGE = `${PREFIX}session-cookie-max-age`;
export const COOKIE_EXPIRES = `${PREFIX}session-cookie-expires`;
export const COOKIE_PATH = `${PREFIX}session-cookie-path`;
export const BALANCE_KEYS = [LOAD_BALANCE, HASH_BY, AFFINITY, COOKIE_NAME, COOKIE_MAX_AGE, COOKIE_EXPIRES, COOKIE_PATH];

export type Algorithm = 'round_robin' | 'random' | 'ewma' | 'chash';
export const ALGORITHMS: readonly string[] = ['round_robin', 'random', 'ewma'];

export interface Affinity {
  name: string;
  maxAge?: number; // seconds
  path: string;
}

export interface Balance {
  loadBalance: Algorithm;
  hashBy?: string; // only with chash
  affinity?: Affinity;
}

// One or more nginx variables, e.g. $request_uri or $host$request_uri; nothing else reaches Lua.
export const HASH_BY_SHAPE = /^(\$[a-z_][a-z0-9_]*){1,8}$/;
// RFC 6265 cookie-name token characters
export const COOKIE_NAME_SHAPE = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
export const COOKIE_PATH_SHAPE = /^\/[A-Za-z0-9._~!&()*+,=:@%/-]{0,255}$/;
const MAX_AGE_LIMIT = 31_536_000;

export function parseAlgorithm(value: string): Algorithm | undefined {
  const trimmed = value.trim();
  return ALGORITHMS.includes(trimmed) ? (trimmed as Algorithm) : undefined;
}

export function parseBalance(ing: Ingress, fallback: Algorithm, problems: Problem[]): Balance {
  const annotations = ing.meta.annotations;
  const bad = (key: string, expected: string) =>
    problems.push(annotationProblem(ing, key, annotations[key]!, expected));
  let loadBalance = fallback;
  if (annotations[LOAD_BALANCE] !== undefined) {
    const value = parseAlgorithm(annotations[LOAD_BALANCE]);
    if (value) loadBalance = value;
    else bad(LOAD_BALANCE, ALGORITHMS.join(', '));
  }
  const out: Balance = { loadBalance };
  if (annotations[HASH_BY] !== undefined) {
    const raw = annotations[HASH_BY].trim();
    if (HASH_BY_SHAPE.test(raw)) {
      out.loadBalance = 'chash';
      out.hashBy = raw;
    } else bad(HASH_BY, 'one or more nginx variables such as $request_uri or $binary_remote_addr');
  }
  if (annotations[AFFINITY] !== undefined) {
    if (annotations[AFFINITY].trim() !== 'cookie') bad(AFFINITY, '"cookie"');
    else out.affinity = parseCookie(ing, problems);
  }
  return out;
}

function parseCookie(ing: Ingress, problems: Problem[]): Affinity {
  const annotations = ing.meta.annotations;
  const bad = (key: string, expected: string) =>
    problems.push(annotationProblem(ing, key, annotations[key]!, expected));
  const cookie: Affinity = { name: 'INGRESSCOOKIE', path: '/' };
  if (annotations[COOKIE_NAME] !== undefined) {
    if (COOKIE_NAME_SHAPE.test(annotations[COOKIE_NAME])) cookie.name = annotations[COOKIE_NAME];
    else bad(COOKIE_NAME, 'a cookie name (RFC 6265 token, at most 64 characters)');
  }
  if (annotations[COOKIE_PATH] !== undefined) {
    if (COOKIE_PATH_SHAPE.test(annotations[COOKIE_PATH])) cookie.path = annotations[COOKIE_PATH];
    else bad(COOKIE_PATH, 'an absolute path');
  }
  // max-age wins over the older expires, which ingress-nginx also expresses in seconds
  for (const key of [COOKIE_EXPIRES, COOKIE_MAX_AGE]) {
    if (annotations[key] === undefined) continue;
    const value = annotations[key].trim();
    const count = Number(value);
    if (/^[0-9]{1,9}$/.test(value) && count >= 1 && count <= MAX_AGE_LIMIT) cookie.maxAge = count;
    else bad(key, `seconds, 1-${MAX_AGE_LIMIT}`);
  }
  return cookie;
}

export function sameBalance(left: Balance, right: Balance): boolean {
  return JSON.stringify(left) === JSON.stringify(right);
}
