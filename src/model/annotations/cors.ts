// CORS, as ingress-nginx's enable-cors and cors-* annotations: a preflight (OPTIONS from an allowed
// origin) is answered 204 by nginx with the CORS headers; other responses to an allowed origin carry
// Access-Control-Allow-Origin (and the others). With the default origin "*" every response carries them,
// as in ingress-nginx. Rendered by templates/partials/ann-cors.hbs with add_header and variables.
import type { Ingress, Problem } from '../../resources.js';
import type { Family } from './family.js';
import { annotationProblem, parseBool, parseIntIn, PREFIX } from './values.js';

export const ENABLE_CORS = `${PREFIX}enable-cors`;
export const CORS_ALLOW_ORIGIN = `${PREFIX}cors-allow-origin`;
export const CORS_ALLOW_METHODS = `${PREFIX}cors-allow-methods`;
export const CORS_ALLOW_HEADERS = `${PREFIX}cors-allow-headers`;
export const CORS_EXPOSE_HEADERS = `${PREFIX}cors-expose-headers`;
export const CORS_ALLOW_CREDENTIALS = `${PREFIX}cors-allow-credentials`;
export const CORS_MAX_AGE = `${PREFIX}cors-max-age`;
export const CORS_KEYS = [
  ENABLE_CORS,
  CORS_ALLOW_ORIGIN,
  CORS_ALLOW_METHODS,
  CORS_ALLOW_HEADERS,
  CORS_EXPOSE_HEADERS,
  CORS_ALLOW_CREDENTIALS,
  CORS_MAX_AGE,
] as const;

export const DEFAULT_CORS_METHODS = 'GET, PUT, POST, DELETE, PATCH, OPTIONS';
export const DEFAULT_CORS_HEADERS =
  'DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization';
export const DEFAULT_CORS_MAX_AGE = 1_728_000;

/** An allowed origin: scheme://[*.]host[:port], its host as labels (rendered one by one into a regex). */
export interface OriginPattern {
  scheme: 'http' | 'https';
  wildcard: boolean; // "*." first label: any single label
  labels: string[]; // lower case, [a-z0-9-]
  port: number | null;
}

export interface CorsConfig {
  anyOrigin: boolean; // "*"
  origins: OriginPattern[];
  methods: string;
  headers: string;
  expose: string; // "" for none
  credentials: boolean;
  maxAge: number;
}

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const METHOD = /^[A-Za-z]{1,32}$/;
const HEADER = /^[A-Za-z0-9_-]{1,128}$/;

export function parseOrigin(value: string): OriginPattern | undefined {
  const match = /^(https?):\/\/(\*\.)?([A-Za-z0-9.-]{1,253})(?::([0-9]{1,5}))?$/.exec(value);
  if (!match) return undefined;
  const labels = match[3]!.toLowerCase().split('.');
  if (!labels.every((l) => LABEL.test(l))) return undefined;
  const port = match[4] === undefined ? null : Number(match[4]);
  if (port !== null && (port < 1 || port > 65535 || match[4]!.startsWith('0'))) return undefined;
  return { scheme: match[1] as 'http' | 'https', wildcard: match[2] !== undefined, labels, port };
}

/** Comma-separated words matching `word`, normalised to "A, B"; undefined when any is invalid. */
function wordList(value: string, word: RegExp): string | undefined {
  const words = value.split(',').map((w) => w.trim());
  if (words.length > 64 || !words.every((w) => word.test(w))) return undefined;
  return words.join(', ');
}

export function parseCors(ing: Ingress, _ctx: unknown, problems: Problem[]): CorsConfig | undefined {
  const annotations = ing.meta.annotations;
  if (annotations[ENABLE_CORS] === undefined) return undefined;
  const enabled = parseBool(annotations[ENABLE_CORS]);
  if (enabled === undefined) {
    problems.push(annotationProblem(ing, ENABLE_CORS, annotations[ENABLE_CORS], '"true" or "false"'));
    return undefined;
  }
  if (!enabled) return undefined;
  const out: CorsConfig = {
    anyOrigin: true,
    origins: [],
    methods: DEFAULT_CORS_METHODS,
    headers: DEFAULT_CORS_HEADERS,
    expose: '',
    credentials: true,
    maxAge: DEFAULT_CORS_MAX_AGE,
  };
  const bad = (key: string, expected: string) =>
    problems.push(annotationProblem(ing, key, annotations[key]!, expected));

  if (annotations[CORS_ALLOW_ORIGIN] !== undefined) {
    const parts = annotations[CORS_ALLOW_ORIGIN].split(',').map((s) => s.trim());
    if (parts.length === 1 && parts[0] === '*') out.anyOrigin = true;
    else {
      const origins = parts.map(parseOrigin);
      if (parts.length <= 64 && origins.every((o) => o !== undefined)) {
        out.anyOrigin = false;
        out.origins = origins as OriginPattern[];
      } else {
        bad(
          CORS_ALLOW_ORIGIN,
          '"*" or comma-separated origins such as https://app.example.com, http://*.example.com:8080',
        );
      }
    }
  }
  if (annotations[CORS_ALLOW_METHODS] !== undefined) {
    const value = wordList(annotations[CORS_ALLOW_METHODS], METHOD);
    if (value) out.methods = value;
    else bad(CORS_ALLOW_METHODS, 'comma-separated HTTP methods (letters only) such as GET, POST, OPTIONS');
  }
  if (annotations[CORS_ALLOW_HEADERS] !== undefined) {
    const trimmed = annotations[CORS_ALLOW_HEADERS].trim();
    const raw = trimmed === '*' ? '*' : wordList(trimmed, HEADER);
    if (raw) out.headers = raw;
    else bad(CORS_ALLOW_HEADERS, '"*" or comma-separated header names (letters, digits, "-" and "_")');
  }
  if (annotations[CORS_EXPOSE_HEADERS] !== undefined) {
    const text = annotations[CORS_EXPOSE_HEADERS].trim();
    const given = text === '' ? '' : wordList(text, /^(\*|[A-Za-z0-9_-]{1,128})$/);
    if (given !== undefined) out.expose = given;
    else bad(CORS_EXPOSE_HEADERS, 'comma-separated header names (letters, digits, "-" and "_") or "*"');
  }
  if (annotations[CORS_ALLOW_CREDENTIALS] !== undefined) {
    const parsed = parseBool(annotations[CORS_ALLOW_CREDENTIALS]);
    if (parsed !== undefined) out.credentials = parsed;
    else bad(CORS_ALLOW_CREDENTIALS, '"true" or "false"');
  }
  if (annotations[CORS_MAX_AGE] !== undefined) {
    const seconds = parseIntIn(annotations[CORS_MAX_AGE], 0, 315_360_000);
    if (seconds !== undefined) out.maxAge = seconds;
    else bad(CORS_MAX_AGE, 'seconds as an integer, 0-315360000');
  }
  return out;
}

export const corsFamily: Family<'cors', CorsConfig> = {
  name: 'cors',
  keys: CORS_KEYS,
  location: parseCors,
};
