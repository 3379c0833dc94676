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
  const value = ing.meta.annotations[CANARY];
  return value !== undefined && parseBool(value) !== false;
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

function integer(value: string, lo: number, hi: number): number | undefined {
  const trimmed = value.trim();
  if (!/^[0-9]{1,7}$/.test(trimmed)) return undefined;
  const count = Number(trimmed);
  return count >= lo && count <= hi ? count : undefined;
}

/**
 * Why a canary-by-header-pattern is refused, or null when it is fine. The pattern runs in PCRE
 * (ngx.re.find, "jo") and is checked here with JavaScript's engine, so only the syntax both engines
 * read the same way is accepted: literals, '.', classes without POSIX names, the escapes \d \w \s
 * \D \W \S \b \B and escaped punctuation, groups (?: (?= (?!, alternation, anchors, and the
 * quantifiers * + ? {n} {n,} {n,m} (lazy with '?').
 */
export function patternProblem(path: string): string | null {
  if (path.length === 0 || path.length > PATTERN_MAX) return `1-${PATTERN_MAX} characters`;
  if (!/^[\x20-\x7e]*$/.test(path)) return 'printable ASCII only (no control characters or newlines)';
  try {
    new RegExp(path);
  } catch (error) {
    return `a regular expression that compiles (${(error as Error).message})`;
  }
  const punct = /^[^A-Za-z0-9]$/;
  let index = 0;
  let quantifiable = false; // is there an atom before, so that a quantifier is allowed here
  const groups: boolean[] = []; // open groups: is it a lookahead (which must not be repeated)
  const count = path.length;
  while (index < count) {
    const char = path[index]!;
    if (char === '\\') {
      const escaped = path[index + 1] ?? '';
      if (!/^[dDwWsSbB]$/.test(escaped) && !punct.test(escaped))
        return `no escape \\${escaped} (only \\d \\w \\s \\D \\W \\S \\b \\B and escaped punctuation)`;
      quantifiable = escaped !== 'b' && escaped !== 'B';
      index += 2;
    } else if (char === '[') {
      let inner = index + 1;
      if (path[inner] === '^') inner++;
      if (path[inner] === ']') return 'no class starting with "]" (escape it)';
      while (inner < count && path[inner] !== ']') {
        if (path[inner] === '[') return 'no "[" inside a class (escape it; POSIX classes are not supported)';
        let single: boolean; // a single character, so a possible range start
        if (path[inner] === '\\') {
          const entry = path[inner + 1] ?? '';
          if (/^[dDwWsS]$/.test(entry)) single = false;
          else if (punct.test(entry)) single = true;
          else return `no escape \\${entry} inside a class`;
          inner += 2;
        } else {
          single = true;
          inner += 1;
        }
        if (path[inner] === '-' && inner + 1 < count && path[inner + 1] !== ']') {
          // a range: both ends single characters
          const endEsc = path[inner + 1] === '\\';
          const endChar = endEsc ? (path[inner + 2] ?? '') : path[inner + 1]!;
          if (!single || (endEsc && !punct.test(endChar)) || endChar === '[')
            return 'class ranges only between single characters';
          inner += endEsc ? 3 : 2;
        }
      }
      if (inner >= count) return 'a closed character class';
      quantifiable = true;
      index = inner + 1;
    } else if (char === '(') {
      if (path[index + 1] === '?') {
        if (!/^[:=!]$/.test(path[index + 2] ?? '')) return 'only the groups ( ), (?: ), (?= ) and (?! )';
        groups.push(path[index + 2] !== ':');
        index += 3;
      } else {
        groups.push(false);
        index += 1;
      }
      quantifiable = false;
    } else if (char === ')') {
      quantifiable = groups.pop() === false; // a repeated lookahead means different things to each engine
      index += 1;
    } else if (char === '{') {
      const match = /^\{(\d{1,4})(,(\d{1,4})?)?\}/.exec(path.slice(index));
      if (!match || !quantifiable)
        return 'braces only as a quantifier {n}, {n,} or {n,m} after an atom (escape a literal brace)';
      index += match[0].length;
      if (path[index] === '?') index += 1;
      quantifiable = false;
    } else if (char === '}') {
      return 'no unmatched "}" (escape it)';
    } else if (char === '*' || char === '+' || char === '?') {
      if (!quantifiable) return `no "${char}" without something to repeat`;
      index += 1;
      if (path[index] === '?') index += 1; // lazy
      if (path[index] === '+') return 'no possessive quantifiers';
      quantifiable = false;
    } else if (char === '|' || char === '^' || char === '$') {
      quantifiable = false;
      index += 1;
    } else if (char === ']') {
      return 'no unmatched "]" (escape it)';
    } else {
      quantifiable = true;
      index += 1;
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
  const annotations = ing.meta.annotations;
  let ok = true;
  const bad = (key: string, expected: string) => {
    problems.push(canaryProblem(ing, key, annotations[key]!, expected));
    ok = false;
  };
  if (parseBool(annotations[CANARY] ?? '') !== true) bad(CANARY, '"true" or "false"');

  let weightTotal = WEIGHT_TOTAL_DEFAULT;
  if (annotations[CANARY_WEIGHT_TOTAL] !== undefined) {
    const parsed = integer(annotations[CANARY_WEIGHT_TOTAL], 1, WEIGHT_TOTAL_MAX);
    if (parsed === undefined) bad(CANARY_WEIGHT_TOTAL, `an integer from 1 to ${WEIGHT_TOTAL_MAX}`);
    else weightTotal = parsed;
  }
  let weight = 0;
  if (annotations[CANARY_WEIGHT] !== undefined) {
    const parsed = integer(annotations[CANARY_WEIGHT], 0, weightTotal);
    if (parsed === undefined) bad(CANARY_WEIGHT, `an integer from 0 to ${weightTotal} (canary-weight-total)`);
    else weight = parsed;
  }
  const rules: CanaryRules = { weight, weightTotal };

  if (annotations[CANARY_BY_HEADER] !== undefined) {
    const raw = annotations[CANARY_BY_HEADER].trim();
    if (HEADER_NAME_SHAPE.test(raw)) rules.header = raw;
    else bad(CANARY_BY_HEADER, 'a header name: letters, digits and "-", at most 64 characters');
  }
  if (annotations[CANARY_BY_HEADER_VALUE] !== undefined) {
    if (!HEADER_VALUE_SHAPE.test(annotations[CANARY_BY_HEADER_VALUE])) {
      bad(CANARY_BY_HEADER_VALUE, 'a header value: 1-256 printable ASCII characters, no leading or trailing space');
    } else if (annotations[CANARY_BY_HEADER] === undefined) {
      problems.push(warning(ing, CANARY_BY_HEADER_VALUE, `has no effect without ${CANARY_BY_HEADER}, ignored`));
    } else rules.headerValue = annotations[CANARY_BY_HEADER_VALUE];
  }
  if (annotations[CANARY_BY_HEADER_PATTERN] !== undefined) {
    const why = patternProblem(annotations[CANARY_BY_HEADER_PATTERN]);
    if (why) bad(CANARY_BY_HEADER_PATTERN, `a regular expression: ${why}`);
    else if (annotations[CANARY_BY_HEADER] === undefined) {
      problems.push(warning(ing, CANARY_BY_HEADER_PATTERN, `has no effect without ${CANARY_BY_HEADER}, ignored`));
    } else if (annotations[CANARY_BY_HEADER_VALUE] !== undefined) {
      problems.push(
        warning(ing, CANARY_BY_HEADER_PATTERN, `ignored: ${CANARY_BY_HEADER_VALUE} is set and takes precedence`),
      );
    } else rules.headerPattern = annotations[CANARY_BY_HEADER_PATTERN];
  }
  if (annotations[CANARY_BY_COOKIE] !== undefined) {
    const given = annotations[CANARY_BY_COOKIE].trim();
    if (CANARY_COOKIE_SHAPE.test(given)) rules.cookie = given;
    else bad(CANARY_BY_COOKIE, 'a cookie name (RFC 6265 token, at most 64 characters)');
  }

  // everything but the canary and balancing annotations comes from the main Ingress
  for (const key of Object.keys(annotations).sort()) {
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
  // deliberately stricter than ingress-nginx: a canary read wrongly would take the main traffic
  failClosed: true,
  // a canary Ingress gets no locations: the canary pass (model/canary-pass.ts) attaches it to the main backends
  takesIngress: isCanaryIngress,
  finishModel: (model, taken, env, problems) => applyCanaries(model, { ingresses: taken, ...env }, problems),
  location(ing, _ctx, problems) {
    const annotations = ing.meta.annotations;
    for (const key of CANARY_KEYS) {
      if (key !== CANARY && annotations[key] !== undefined) {
        problems.push(warning(ing, key, `ignored: this Ingress is not a canary (${CANARY} is not "true")`));
      }
    }
    return undefined;
  },
};
