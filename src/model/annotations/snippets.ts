// configuration-snippet and server-snippet: raw nginx configuration from an Ingress, inserted into its
// locations / its host's server block. Off by default: snippets let whoever may write an Ingress configure
// nginx itself (read files, leak other tenants' secrets: the CVE-2021-25742 and CVE-2025-1974 class), so
// they are refused (the Ingress's paths answer 503) unless the ConfigMap sets
// allow-snippet-annotations: "true", the operator's explicit choice.
//
// When allowed, a snippet is written verbatim as a managed file and included where it belongs (nginx
// parses an included file on its own, so a snippet cannot close the block it sits in). Before that it is
// checked here for shape (balanced blocks, every directive terminated) and for forbidden directives (both
// read with nginx's own tokenizing rules) and, by the controller, with a dedicated `nginx -t` of a minimal
// server holding only that snippet (src/nginx/snippets.ts); a snippet nginx refuses is left out and its
// Ingress's paths answer 503 (denySnippets), the rest is applied.
import type { Ingress, Problem } from '../../resources.js';
import type { Model } from '../routing.js';
import { locationsOf } from '../routing.js';
import type { AnnotationContext, Family } from './family.js';
import { PREFIX, refused, refusedBecause } from './values.js';
import { fileBaseName } from '../names.js';

export const CONFIGURATION_SNIPPET = `${PREFIX}configuration-snippet`;
export const SERVER_SNIPPET = `${PREFIX}server-snippet`;
export const SNIPPET_KEYS = [CONFIGURATION_SNIPPET, SERVER_SNIPPET] as const;
export const MAX_SNIPPET = 65_536;

export type SnippetContext = 'location' | 'server';

export interface SnippetConfig {
  ingress: string; // namespace/name
  source: { file: string; line: number };
  key: string; // the annotation
  context: SnippetContext;
  file: string; // managed file holding the snippet, included by ann-snippet.hbs / srv-snippet.hbs
}

// What even an allowed snippet may not do: read other files, load code, or run Lua. These may only come
// from the controller's own files (nginx -t on a snippet must not be a way in, as CVE-2025-1974 was).
const FORBIDDEN =
  /^(include|load_module|ssl_engine|env|user|pid|daemon|master_process|working_directory|lua_\w+|\w+_by_lua(_block|_file)?|perl\w*|js_\w+)$/i;

// nginx's unescaping inside a token: \" \' \\ \t \r \n; any other backslash stays as written
const UNESCAPE: Record<string, string> = { '"': '"', "'": "'", '\\': '\\', t: '\t', r: '\r', n: '\n' };

/**
 * Reads a snippet as nginx's own tokenizer does (quotes, escapes, "${var}", "#" comments, and a '#' or a
 * quote inside a word being part of it) and returns why it cannot be inserted as a self-contained piece
 * of a block (a "}" closing a block it did not open, a block left open, a directive without its ";", an
 * unterminated string, control characters), or null; and the name of every directive, as nginx reads it.
 */
function scanSnippet(text: string): { problem: string | null; names: string[] } {
  const names: string[] = [];
  const fail = (problem: string) => ({ problem, names });
  if (text.length > MAX_SNIPPET) return fail(`longer than ${MAX_SNIPPET} characters`);
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(text)) return fail('control characters other than tab and line breaks');
  let depth = 0;
  let line = 1;
  let pending = false; // words since the last ';', '{' or '}'
  let word = false;
  let variable = false;
  let quote: string | null = null;
  let comment = false;
  let escaped = false;
  let name: string | null = null; // the directive name being read (the first token of a directive)
  const ended = () => {
    if (name !== null) names.push(name);
    name = null;
  };
  for (const ch of text) {
    if (ch === '\n') line++;
    if (comment) {
      if (ch === '\n') comment = false;
      continue;
    }
    if (escaped) {
      escaped = false;
      if (name !== null) name += UNESCAPE[ch] ?? `\\${ch}`;
      continue;
    }
    if (quote) {
      if (ch === '\\') escaped = true;
      else if (ch === quote) {
        quote = null;
        ended();
      } else if (name !== null) name += ch;
      continue;
    }
    if (word) {
      if (ch === '{' && variable) {
        if (name !== null) name += ch;
        continue; // "${name}" stays inside the word
      }
      variable = false;
      if (ch === '\\') {
        escaped = true;
        continue;
      }
      if (ch === '$') variable = true;
      if (ch === '$' || !/[\s;{]/.test(ch)) {
        if (name !== null) name += ch; // '}', quotes and '#' inside a word are part of it
        continue;
      }
      word = false;
      ended();
    }
    if (/\s/.test(ch)) continue;
    if (ch === ';') {
      if (!pending) return fail(`line ${line}: ";" without a directive`);
      pending = false;
    } else if (ch === '{') {
      if (!pending) return fail(`line ${line}: "{" without a directive`);
      depth++;
      pending = false;
    } else if (ch === '}') {
      if (pending) return fail(`line ${line}: directive before "}" lacks its ";"`);
      if (depth === 0) return fail(`line ${line}: "}" closes a block the snippet did not open`);
      depth--;
    } else if (ch === '#') {
      comment = true;
    } else {
      if (!pending) name = ''; // a directive starts with this token
      pending = true;
      if (ch === '"' || ch === "'") {
        quote = ch;
      } else {
        word = true;
        if (ch === '$') variable = true;
        if (ch === '\\') escaped = true;
        else if (name !== null) name += ch;
      }
    }
  }
  ended();
  if (quote) return fail('a quoted string is not closed');
  if (depth > 0) return fail(`${depth} block(s) not closed with "}"`);
  if (pending) return fail('the last directive lacks its ";"');
  return { problem: null, names };
}

/** Why a snippet cannot be inserted as a self-contained piece of a block, or null (see scanSnippet). */
export function snippetShapeProblem(text: string): string | null {
  return scanSnippet(text).problem;
}

// Request headers for the backend: one of these in a location (or a server) replaces the whole http-level
// list there (nginx inherits it only into a level with none), so the backend would get clients' X-Real-IP,
// ssl-client-* and Authorization. Headers come from model/proxy-headers.ts and its annotations only.
const HEADER_DIRECTIVES =
  /^(proxy_set_header|grpc_set_header|proxy_pass_request_headers|grpc_pass_request_headers|more_set_input_headers|more_clear_input_headers)$/i;

function forbidden(names: string[]): string | null {
  const name = names.find((n) => FORBIDDEN.test(n));
  if (name !== undefined)
    return `directive ${JSON.stringify(name)} is not allowed in a snippet: include, load_module and Lua may only come from the controller's own files`;
  const header = names.find((n) => HEADER_DIRECTIVES.test(n));
  return header === undefined
    ? null
    : `directive ${JSON.stringify(header)} is not allowed in a snippet: it would replace the request headers the controller protects (X-Real-IP, X-Forwarded-*, ssl-client-*, Authorization cleared by auth); use the ConfigMap's proxy-set-headers, upstream-vhost or x-forwarded-prefix`;
}

/** The first forbidden directive of a snippet, as a reason, or null. */
export function forbiddenDirective(text: string): string | null {
  return forbidden(scanSnippet(text).names);
}

/** Why a snippet may not be used (its shape, or a forbidden directive), or null. */
export function snippetProblem(text: string): string | null {
  const { problem, names } = scanSnippet(text);
  return problem ?? forbidden(names);
}

function snippetFileName(context: SnippetContext, ing: Ingress): string {
  return fileBaseName(`snippet-${context}`, ing.meta.namespace, ing.meta.name);
}

/** Both snippets are validated here, so an invalid server-snippet also denies the Ingress's paths. */
export function parseSnippets(ing: Ingress, ctx: AnnotationContext, problems: Problem[]): SnippetConfig | undefined {
  const annotations = ing.meta.annotations;
  const present = SNIPPET_KEYS.filter((k) => annotations[k] !== undefined);
  if (present.length === 0) return undefined;
  if (!ctx.settings.allowSnippetAnnotations) {
    for (const key of present) {
      problems.push(
        refusedBecause(
          ing,
          key,
          'snippet annotations are disabled: the settings ConfigMap must set allow-snippet-annotations: "true" (off by default, because a snippet configures nginx itself)',
        ),
      );
    }
    return undefined;
  }
  let bad = false;
  for (const key of present) {
    const why = snippetProblem(annotations[key]!);
    if (why) {
      bad = true;
      problems.push(refused(ing, key, annotations[key]!, `nginx directives that form complete blocks (${why})`));
    }
  }
  if (bad || annotations[CONFIGURATION_SNIPPET] === undefined) return undefined;
  return snippetConfig(ing, ctx, 'location', CONFIGURATION_SNIPPET);
}

function snippetConfig(ing: Ingress, ctx: AnnotationContext, context: SnippetContext, key: string): SnippetConfig {
  const text = ing.meta.annotations[key]!;
  return {
    ingress: `${ing.meta.namespace}/${ing.meta.name}`,
    source: { ...ing.source },
    key,
    context,
    file: ctx.file(snippetFileName(context, ing), text.endsWith('\n') ? text : `${text}\n`, 0o600),
  };
}

/** The server-snippet, when allowed and acceptable (parseSnippets reported it otherwise). */
export function serverSnippet(ing: Ingress, ctx: AnnotationContext, _problems: Problem[]): SnippetConfig | undefined {
  const annotations = ing.meta.annotations;
  if (annotations[SERVER_SNIPPET] === undefined || !ctx.settings.allowSnippetAnnotations) return undefined;
  // the same check as parseSnippets: a refused snippet of either kind keeps the server snippet out too
  if (SNIPPET_KEYS.some((k) => annotations[k] !== undefined && snippetProblem(annotations[k]!) !== null))
    return undefined;
  return snippetConfig(ing, ctx, 'server', SERVER_SNIPPET);
}

export const snippetFamily: Family<'snippet', SnippetConfig, SnippetConfig> = {
  name: 'snippet',
  keys: SNIPPET_KEYS,
  // a snippet nginx -t refuses is left out, and the paths it was meant for are denied
  failClosed: true,
  location: parseSnippets,
  server: serverSnippet,
};

/** A snippet the controller checks with nginx before it may reach the config. */
export interface SnippetCheck {
  file: string; // managed file name (carries the content hash)
  context: SnippetContext;
  text: string;
}

/** Every distinct snippet of the model, with its text. */
export function snippetChecks(model: Model): SnippetCheck[] {
  const content = new Map(model.files.map((f) => [f.name, f.content]));
  const out = new Map<string, SnippetCheck>();
  const add = (cfg: SnippetConfig | undefined) => {
    if (!cfg || out.has(cfg.file)) return;
    const text = content.get(cfg.file);
    if (text !== undefined) out.set(cfg.file, { file: cfg.file, context: cfg.context, text });
  };
  for (const server of model.servers) {
    add(server.ann.snippet as SnippetConfig | undefined);
    for (const location of locationsOf(server)) add(location.ann.snippet as SnippetConfig | undefined);
  }
  return [...out.values()];
}

/**
 * Leave out the snippets nginx refused (file name -> nginx's message): their Ingresses' paths answer 503,
 * everything else is applied. Returns one error per Ingress and annotation.
 */
export function denySnippets(model: Model, refusedFiles: ReadonlyMap<string, string>): Problem[] {
  if (refusedFiles.size === 0) return [];
  const problems = new Map<string, Problem>();
  const deniedIngresses = new Set<string>();
  const note = (cfg: SnippetConfig) => {
    deniedIngresses.add(cfg.ingress);
    const key = `${cfg.ingress}\n${cfg.key}`;
    if (!problems.has(key)) {
      problems.set(key, {
        severity: 'error',
        file: cfg.source.file,
        line: cfg.source.line,
        object: `Ingress ${cfg.ingress}`,
        field: `metadata.annotations["${cfg.key}"]`,
        message: `nginx -t refused the snippet: ${refusedFiles.get(cfg.file)}; the Ingress's paths answer 503 until it is fixed`,
      });
    }
  };
  for (const server of model.servers) {
    const srv = server.ann.snippet as SnippetConfig | undefined;
    if (srv && refusedFiles.has(srv.file)) {
      note(srv);
      delete server.ann.snippet;
    }
    for (const location of locationsOf(server)) {
      const loc = location.ann.snippet as SnippetConfig | undefined;
      if (loc && refusedFiles.has(loc.file)) {
        note(loc);
        const { snippet: _drop, ...rest } = location.ann;
        location.ann = rest;
      }
    }
  }
  for (const server of model.servers) {
    for (const location of locationsOf(server))
      if (deniedIngresses.has(location.ingress) && !location.denied)
        location.denied = 'a snippet annotation was refused by nginx -t';
  }
  model.files = model.files.filter((f) => !refusedFiles.has(f.name));
  return [...problems.values()];
}
