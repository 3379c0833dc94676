// Paths as regular expressions, and rewrites: use-regex, rewrite-target and app-root, with the names,
// value formats and defaults of ingress-nginx.
//
// As in ingress-nginx, an Ingress with use-regex "true" or a rewrite-target has regex paths, and then
// EVERY path of the hosts it has rules for is rendered as a case-insensitive regex location
// (`location ~* "^PATH"`), ordered longest first (see src/render/view.ts). The rewrite itself is
// `rewrite "(?i)PATH" TARGET break;` in each location of the Ingress, with $1..$9 taken from PATH.
import type { Ingress, Problem } from '../../resources.js';
import type { AnnotationContext, Family } from './family.js';
import { annotationProblem, parseBool, PREFIX } from './values.js';

export const REWRITE_TARGET = `${PREFIX}rewrite-target`;
export const USE_REGEX = `${PREFIX}use-regex`;
export const APP_ROOT = `${PREFIX}app-root`;
export const REWRITE_KEYS = [REWRITE_TARGET, USE_REGEX, APP_ROOT] as const;

/** Location config (annotations of the Ingress); the model adds the regex of each location. */
export interface RewriteConfig {
  target: string;
}

/** What ann-rewrite renders in one location. */
export interface RewriteLocation {
  target: string;
  regex: string; // "(?i)" + the Ingress path
}

/** Server config: where "/" is redirected (srv-rewrite). */
export interface AppRootConfig {
  appRoot: string;
}

// ingress-nginx accepts [-._~a-zA-Z0-9/:$] after an optional "/"; '$' is meaningful only as a capture,
// so here it must be one of $1..$9, and the target starts with "/" or a capture (never a scheme, which
// would make nginx answer a redirect instead of rewriting).
export const TARGET_SHAPE = /^(?:\/|\$[1-9])(?:[-._~A-Za-z0-9/:]|\$[1-9]){0,2047}$/;
const TARGET_EXPECTED =
  'a path such as /$2 or /api/$1: "/" or a capture first, then letters, digits, "-._~/:" and captures $1-$9';
// ingress-nginx: a relative URI path; no captures at the server level
export const APP_ROOT_SHAPE = /^\/[-._~A-Za-z0-9/:]{1,2047}$/;
const APP_ROOT_EXPECTED = 'an absolute path other than "/", such as /app (letters, digits, "-._~/:")';

/** Whether the Ingress's paths are regular expressions (an invalid value still counts: its paths answer 503). */
export function isRegexIngress(ing: Ingress): boolean {
  const annotations = ing.meta.annotations;
  return (
    annotations[REWRITE_TARGET] !== undefined ||
    (annotations[USE_REGEX] !== undefined && annotations[USE_REGEX].trim() !== 'false')
  );
}

/**
 * Why a regex path cannot be used, or null. The shape was checked by the loader (syntax.ts); a JS
 * RegExp, which reads this subset of PCRE the same way, checks that it compiles.
 */
export function regexPathProblem(path: string): string | null {
  try {
    new RegExp(path);
    return null;
  } catch (error) {
    return `not a valid regular expression (${(error as Error).message.replace(/^Invalid regular expression: /, '')})`;
  }
}

function parseTarget(ing: Ingress, problems: Problem[]): string | undefined {
  const raw = ing.meta.annotations[REWRITE_TARGET];
  if (raw === undefined) return undefined;
  const value = raw.trim();
  if (TARGET_SHAPE.test(value)) return value;
  problems.push(annotationProblem(ing, REWRITE_TARGET, raw, TARGET_EXPECTED));
  return undefined;
}

function parseAppRoot(ing: Ingress, problems: Problem[]): string | undefined {
  const raw = ing.meta.annotations[APP_ROOT];
  if (raw === undefined) return undefined;
  const value = raw.trim();
  if (APP_ROOT_SHAPE.test(value)) return value;
  problems.push(annotationProblem(ing, APP_ROOT, raw, APP_ROOT_EXPECTED));
  return undefined;
}

function checkUseRegex(ing: Ingress, problems: Problem[]): void {
  const raw = ing.meta.annotations[USE_REGEX];
  if (raw !== undefined && parseBool(raw) === undefined)
    problems.push(annotationProblem(ing, USE_REGEX, raw, '"true" or "false"'));
}

/**
 * The rewrite of one location of a regex Ingress: the location's path is its regex; none when the path
 * is the target itself (as ingress-nginx does).
 */
export function rewriteFor(config: RewriteConfig, path: string): RewriteLocation | undefined {
  return config.target === path ? undefined : { target: config.target, regex: `(?i)${path}` };
}

export const rewriteFamily: Family<'rewrite', RewriteConfig | RewriteLocation, AppRootConfig> = {
  name: 'rewrite',
  // rewrite-target's regex is a path's; ingress-nginx's root location rewrote every unmatched URI with it
  fallback: 'never',
  keys: REWRITE_KEYS,
  regexPaths: { key: USE_REGEX, of: isRegexIngress, problem: regexPathProblem },
  forPath: rewriteFor,
  // every value is checked here, app-root included, so an invalid one denies the Ingress's paths
  location(ing: Ingress, _ctx: AnnotationContext, problems: Problem[]): RewriteConfig | undefined {
    checkUseRegex(ing, problems);
    parseAppRoot(ing, problems);
    const target = parseTarget(ing, problems);
    return target === undefined ? undefined : { target };
  },
  server(ing: Ingress): AppRootConfig | undefined {
    const appRoot = parseAppRoot(ing, []);
    return appRoot === undefined ? undefined : { appRoot };
  },
};
