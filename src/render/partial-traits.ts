// What an annotation family's partial does, read from the partial's text when the templates load, so that
// no hand-kept list can disagree with the templates (a forgotten add_header partial would silently drop
// HSTS from its locations). render/view.ts decides with these:
//   addsHeaders            an ann- partial with add_header: the location must repeat the server's HSTS
//                          add_header, as nginx inherits add_header only into a level that has none
//   answersBeforeRedirect  a srv- partial with return or rewrite outside a location: plain HTTP must reach
//                          it, so the server cannot leave plain HTTP to the shared redirecting server
//   opaque                 the partial includes a file of user text (a snippet), which may hold anything:
//                          add_header, return, locations of its own
//   tlsContext             a srv- partial with ssl_ directives: the server needs a TLS context of its own
// An include counts as add_header, return and rewrite: what the included text does is not known here.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PartialTraits {
  addsHeaders: boolean;
  answersBeforeRedirect: boolean;
  opaque: boolean;
  tlsContext: boolean;
}

export const NO_TRAITS: PartialTraits = {
  addsHeaders: false,
  answersBeforeRedirect: false,
  opaque: false,
  tlsContext: false,
};

/** What the partials do, by partial name (NO_TRAITS for a name without a partial). */
export type TraitsOf = (partial: string) => PartialTraits;

const BUNDLED_PARTIALS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../templates/partials');
let bundled: TraitsOf | undefined;

/** The traits of the bundled templates' partials (read once), for callers that build a view without loading templates. */
export function bundledTraits(): TraitsOf {
  if (!bundled) {
    const partials: Record<string, string> = {};
    for (const file of fs.readdirSync(BUNDLED_PARTIALS).sort()) {
      if (file.endsWith('.hbs'))
        partials[file.slice(0, -4)] = fs.readFileSync(path.join(BUNDLED_PARTIALS, file), 'utf8');
    }
    bundled = lookupIn(partialTraits(partials));
  }
  return bundled;
}

/** A lookup of partial traits by name. */
export function lookupIn(traits: ReadonlyMap<string, PartialTraits>): TraitsOf {
  return (partial) => traits.get(partial) ?? NO_TRAITS;
}

// nested partials ({{> proxy-headers headers}}) are read as part of the partial that includes them
const MAX_NESTING = 8;

/** The traits of every partial, each read with the partials it includes. */
export function partialTraits(partials: Readonly<Record<string, string>>): Map<string, PartialTraits> {
  return new Map(Object.keys(partials).map((name) => [name, traitsOf(expand(name, partials, 0))]));
}

/** The partial's text with the partials it includes put in their place. */
function expand(name: string, partials: Readonly<Record<string, string>>, depth: number): string {
  const text = partials[name] ?? '';
  if (depth >= MAX_NESTING) return text;
  return text.replace(/\{\{~?>\s*([A-Za-z0-9_-]+)[^}]*\}\}/g, (_mustache, inner: string) =>
    expand(inner, partials, depth + 1),
  );
}

/** The directives of the text: nginx syntax only (comments and mustaches out), with the location blocks apart. */
export function traitsOf(text: string): PartialTraits {
  const nginx = text
    .replace(/\{\{!--[\s\S]*?--\}\}/g, '')
    .replace(/\{\{![\s\S]*?\}\}/g, '')
    .replace(/\{\{[\s\S]*?\}\}/g, 'X')
    .replace(/#[^\n]*/g, '');
  const outside = withoutLocations(nginx);
  const opaque = directives(nginx).includes('include');
  const everywhere = directives(nginx);
  const serverLevel = directives(outside);
  return {
    addsHeaders: opaque || everywhere.includes('add_header'),
    answersBeforeRedirect: opaque || serverLevel.some((name) => name === 'return' || name === 'rewrite'),
    opaque,
    tlsContext: serverLevel.some((name) => name.startsWith('ssl_')),
  };
}

/** The first word of every statement: after the start of a line, a ';', a '{' or a '}'. */
function directives(text: string): string[] {
  return [...text.matchAll(/(?:^|[;{}])\s*([a-z_][a-z0-9_]*)/gm)].map((match) => match[1]!);
}

/** The text without its location blocks (a location of a server partial has its own directives). */
function withoutLocations(text: string): string {
  let out = '';
  let at = 0;
  for (const match of text.matchAll(/(?:^|[;{}])\s*location\b[^{;]*\{/gm)) {
    if (match.index! < at) continue;
    out += text.slice(at, match.index!);
    let depth = 1;
    let end = match.index! + match[0].length;
    while (end < text.length && depth > 0) {
      if (text[end] === '{') depth++;
      else if (text[end] === '}') depth--;
      end++;
    }
    at = end;
  }
  return out + text.slice(at);
}
