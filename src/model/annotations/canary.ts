// Canary releases with the annotation names, value formats and defaults of ingress-nginx. An Ingress
// with `canary: "true"` gets no locations of its own: for every host+path that a main Ingress routes,
// its backend becomes the canary (alternative backend) of the main Ingress's backend there, and the
// Lua balancer decides per request (header -> cookie -> weight). The rules travel in the endpoint push,
// never in nginx.conf, so changing them is a push, not a reload. This module parses and validates the
// annotations; src/model/canary-pass.ts applies them to the model.
import type { Ingress, Problem } from '../../resources.js';
import { objectRef } from '../../resources.js';
import { BALANCE_KEYS } from './balance.js';
import { applyCanaries } from '../canary-pass.js';
import type { Family } from './family.js';
import { annotationProblem, parseBool, PREFIX } from './values.js';

export const CANARY = `${PREFIX}canary`;
export const CANARY_WEIGHT = `${PREFIX}canary-weight`;
export const CANARY_WEIGHT_TOTAL = `${PREFIX}canary-weight-total`;
export const CANARY_BY_HEADER = `${PREFIX}canary-by-header`;
export const CANARY_BY_HEADER_VALUE = `${PREFIX}canary-by-header-value`;
export const CANARY_BY_HEADER_PATTERN = `${PREFIX}canary-by-header-pattern`;
export const CANARY_BY_COOKIE = `${PREFIX}canary-by-cookie`;
export const CANARY_KEYS = [
  CANARY,
  CANARY_WEIGHT,
  CANARY_WEIGHT_TOTAL,
  CANARY_BY_HEADER,
  CANARY_BY_HEADER_VALUE,
  CANARY_BY_HEADER_PATTERN,
  CANARY_BY_COOKIE,
] as const;
// the annotations of a canary Ingress that still count (for its own backend), as in ingress-nginx
const CANARY_ALSO_READS: ReadonlySet<string> = new Set([...CANARY_KEYS, ...BALANCE_KEYS]);

/** The traffic rules of one canary, as the Lua balancer applies them (nginx/lua/README.md). */
export interface CanaryRules {
  weight: number; // 0..weightTotal: share of requests no header or cookie rule decided
  weightTotal: number;
  header?: string; // request header: "always" -> canary, "never" -> main (unless headerValue/headerPattern)
  headerValue?: string; // exact value that routes to the canary
  headerPattern?: string; // PCRE that routes matching values to the canary (ignored with headerValue)
  cookie?: string; // cookie: "always" -> canary, "never" -> main
}

export const WEIGHT_TOTAL_DEFAULT = 100;
export const WEIGHT_TOTAL_MAX = 1_000_000;
// Header names as nginx sees them in $http_*: letters, digits, '-' (nginx drops names with '_' by default)
export const HEADER_NAME_SHAPE = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;
// RFC 6265 cookie-name token characters (as session-cookie-name)
export const CANARY_COOKIE_SHAPE = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
// A header value compared exactly: visible ASCII with inner spaces (nginx trims the ends of values)
export const HEADER_VALUE_SHAPE = /^[\x21-\x7e]([\x20-\x7e]{0,254}[\x21-\x7e])?$/;
export const PATTERN_MAX = 256;

/** Is this Ingress a canary (or meant to be one: an invalid `canary` value)? Such Ingresses get no locations. */
export function isCanaryIngress(ing: Ingress): boolean {
  const v = ing.meta.annotations[CANARY];
  return v !== undefined && parseBool(v) !== false;
}

/** A problem with a canary annotation: the canary is not applied at all. */
export function canaryProblem(ing: Ingress, key: string, value: string, expected: string): Problem {
  return {
    ...annotationProblem(ing, key, value, expected),
    message: `invalid value ${JSON.stringify(value).slice(0, 80)}: expected ${expected}; the canary is not applied, the main Ingress keeps serving all traffic`,
  };
}

function warning(ing: Ingress, key: string, message: string): Problem {
  return {
    severity: 'warning',
    file: ing.source.file,
    line: ing.source.line,
    object: objectRef(ing),
    field: `metadata.annotations["${key}"]`,
    message,
  };
}

function integer(v: string, lo: number, hi: number): number | undefined {
  const t = v.trim();
  if (!/^[0-9]{1,7}$/.test(t)) return undefined;
  const n = Number(t);
  return n >= lo && n <= hi ? n : undefined;
}

/**
 * Why a canary-by-header-pattern is refused, or null when it is fine. The pattern runs in PCRE
 * (ngx.re.find, "jo") and is checked here with JavaScript's engine, so only the syntax both engines
 * read the same way is accepted: literals, '.', classes without POSIX names, the escapes \d \w \s
 * \D \W \S \b \B and escaped punctuation, groups (?: (?= (?!, alternation, anchors, and the
 * quantifiers * + ? {n} {n,} {n,m} (lazy with '?').
 */
export function patternProblem(p: string): string | null {
  if (p.length === 0 || p.length > PATTERN_MAX) return `1-${PATTERN_MAX} characters`;
  if (!/^[\x20-\x7e]*$/.test(p)) return 'printable ASCII only (no control characters or newlines)';
  try {
    new RegExp(p);
  } catch (e) {
    return `a regular expression that compiles (${(e as Error).message})`;
  }
  const punct = /^[^A-Za-z0-9]$/;
  let i = 0;
  let quantifiable = false; // is there an atom before, so that a quantifier is allowed here
  const groups: boolean[] = []; // open groups: is it a lookahead (which must not be repeated)
  const n = p.length;
  while (i < n) {
    const c = p[i]!;
    if (c === '\\') {
      const e = p[i + 1] ?? '';
      if (!/^[dDwWsSbB]$/.test(e) && !punct.test(e))
        return `no escape \\${e} (only \\d \\w \\s \\D \\W \\S \\b \\B and escaped punctuation)`;
      quantifiable = e !== 'b' && e !== 'B';
      i += 2;
    } else if (c === '[') {
      let j = i + 1;
      if (p[j] === '^') j++;
      if (p[j] === ']') return 'no class starting with "]" (escape it)';
      while (j < n && p[j] !== ']') {
        if (p[j] === '[') return 'no "[" inside a class (escape it; POSIX classes are not supported)';
        let single: boolean; // a single character, so a possible range start
        if (p[j] === '\\') {
          const e = p[j + 1] ?? '';
          if (/^[dDwWsS]$/.test(e)) single = false;
          else if (punct.test(e)) single = true;
          else return `no escape \\${e} inside a class`;
          j += 2;
        } else {
          single = true;
          j += 1;
        }
        if (p[j] === '-' && j + 1 < n && p[j + 1] !== ']') {
          // a range: both ends single characters
          const endEsc = p[j + 1] === '\\';
          const endChar = endEsc ? (p[j + 2] ?? '') : p[j + 1]!;
          if (!single || (endEsc && !punct.test(endChar)) || endChar === '[')
            return 'class ranges only between single characters';
          j += endEsc ? 3 : 2;
        }
      }
      if (j >= n) return 'a closed character class';
      quantifiable = true;
      i = j + 1;
    } else if (c === '(') {
      if (p[i + 1] === '?') {
        if (!/^[:=!]$/.test(p[i + 2] ?? '')) return 'only the groups ( ), (?: ), (?= ) and (?! )';
        groups.push(p[i + 2] !== ':');
        i += 3;
      } else {
        groups.push(false);
        i += 1;
      }
      quantifiable = false;
    } else if (c === ')') {
      quantifiable = groups.pop() === false; // a repeated lookahead means different things to each engine
      i += 1;
    } else if (c === '{') {
      const m = /^\{(\d{1,4})(,(\d{1,4})?)?\}/.exec(p.slice(i));
      if (!m || !quantifiable)
        return 'braces only as a quantifier {n}, {n,} or {n,m} after an atom (escape a literal brace)';
      i += m[0].length;
      if (p[i] === '?') i += 1;
      quantifiable = false;
    } else if (c === '}') {
      return 'no unmatched "}" (escape it)';
    } else if (c === '*' || c === '+' || c === '?') {
      if (!quantifiable) return `no "${c}" without something to repeat`;
      i += 1;
      if (p[i] === '?') i += 1; // lazy
      if (p[i] === '+') return 'no possessive quantifiers';
      quantifiable = false;
    } else if (c === '|' || c === '^' || c === '$') {
      quantifiable = false;
      i += 1;
    } else if (c === ']') {
      return 'no unmatched "]" (escape it)';
    } else {
      quantifiable = true;
      i += 1;
    }
  }
  return null;
}

export type CanaryParse = { ok: true; rules: CanaryRules } | { ok: false }; // reported: the canary is not applied

/**
 * The rules of a canary Ingress (isCanaryIngress). Any invalid canary annotation is an error and the
 * whole canary is left out: a half-applied canary (say, without its header rule) would send traffic
 * where the user did not mean it to go.
 */
export function parseCanary(ing: Ingress, problems: Problem[]): CanaryParse {
  const a = ing.meta.annotations;
  let ok = true;
  const bad = (key: string, expected: string) => {
    problems.push(canaryProblem(ing, key, a[key]!, expected));
    ok = false;
  };
  if (parseBool(a[CANARY] ?? '') !== true) bad(CANARY, '"true" or "false"');

  let weightTotal = WEIGHT_TOTAL_DEFAULT;
  if (a[CANARY_WEIGHT_TOTAL] !== undefined) {
    const v = integer(a[CANARY_WEIGHT_TOTAL], 1, WEIGHT_TOTAL_MAX);
    if (v === undefined) bad(CANARY_WEIGHT_TOTAL, `an integer from 1 to ${WEIGHT_TOTAL_MAX}`);
    else weightTotal = v;
  }
  let weight = 0;
  if (a[CANARY_WEIGHT] !== undefined) {
    const v = integer(a[CANARY_WEIGHT], 0, weightTotal);
    if (v === undefined) bad(CANARY_WEIGHT, `an integer from 0 to ${weightTotal} (canary-weight-total)`);
    else weight = v;
  }
  const rules: CanaryRules = { weight, weightTotal };

  if (a[CANARY_BY_HEADER] !== undefined) {
    const v = a[CANARY_BY_HEADER].trim();
    if (HEADER_NAME_SHAPE.test(v)) rules.header = v;
    else bad(CANARY_BY_HEADER, 'a header name: letters, digits and "-", at most 64 characters');
  }
  if (a[CANARY_BY_HEADER_VALUE] !== undefined) {
    if (!HEADER_VALUE_SHAPE.test(a[CANARY_BY_HEADER_VALUE])) {
      bad(CANARY_BY_HEADER_VALUE, 'a header value: 1-256 printable ASCII characters, no leading or trailing space');
    } else if (a[CANARY_BY_HEADER] === undefined) {
      problems.push(warning(ing, CANARY_BY_HEADER_VALUE, `has no effect without ${CANARY_BY_HEADER}, ignored`));
    } else rules.headerValue = a[CANARY_BY_HEADER_VALUE];
  }
  if (a[CANARY_BY_HEADER_PATTERN] !== undefined) {
    const why = patternProblem(a[CANARY_BY_HEADER_PATTERN]);
    if (why) bad(CANARY_BY_HEADER_PATTERN, `a regular expression: ${why}`);
    else if (a[CANARY_BY_HEADER] === undefined) {
      problems.push(warning(ing, CANARY_BY_HEADER_PATTERN, `has no effect without ${CANARY_BY_HEADER}, ignored`));
    } else if (a[CANARY_BY_HEADER_VALUE] !== undefined) {
      problems.push(
        warning(ing, CANARY_BY_HEADER_PATTERN, `ignored: ${CANARY_BY_HEADER_VALUE} is set and takes precedence`),
      );
    } else rules.headerPattern = a[CANARY_BY_HEADER_PATTERN];
  }
  if (a[CANARY_BY_COOKIE] !== undefined) {
    const v = a[CANARY_BY_COOKIE].trim();
    if (CANARY_COOKIE_SHAPE.test(v)) rules.cookie = v;
    else bad(CANARY_BY_COOKIE, 'a cookie name (RFC 6265 token, at most 64 characters)');
  }

  // everything but the canary and balancing annotations comes from the main Ingress
  for (const key of Object.keys(a).sort()) {
    if (key.startsWith(PREFIX) && !CANARY_ALSO_READS.has(key)) {
      problems.push(
        warning(
          ing,
          key,
          "ignored on a canary Ingress: only the canary and load-balancing annotations count there, the main Ingress's apply to its paths",
        ),
      );
    }
  }
  return ok ? { ok: true, rules } : { ok: false };
}

/** canary-* annotations on an Ingress that is not a canary do nothing (as in ingress-nginx): say so. */
export const canaryFamily: Family<'canary'> = {
  name: 'canary',
  keys: CANARY_KEYS,
  // a canary Ingress gets no locations: the canary pass (model/canary-pass.ts) attaches it to the main backends
  takesIngress: isCanaryIngress,
  finishModel: (model, taken, env, problems) => applyCanaries(model, { ingresses: taken, ...env }, problems),
  location(ing, _ctx, problems) {
    const a = ing.meta.annotations;
    for (const key of CANARY_KEYS) {
      if (key !== CANARY && a[key] !== undefined) {
        problems.push(warning(ing, key, `ignored: this Ingress is not a canary (${CANARY} is not "true")`));
      }
    }
    return undefined;
  },
};
