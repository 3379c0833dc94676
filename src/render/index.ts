// renderConfig: model + options -> nginx.conf text. Pure apart from reading the templates once.
import { TemplateError } from '../errors.js';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import type { Model } from '../model/index.js';
import { HELPERS } from './escape.js';
import { buildView } from './view.js';
import { lookupIn, partialTraits } from './partial-traits.js';
import type { RenderOptions } from './view.js';

export type { RenderOptions, NginxFeatures, BalancerMode } from './view.js';
export { HASH_PLACEHOLDER, certificateFile, filesDir } from './view.js';

export const DEFAULT_TEMPLATE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../templates');
export const LUA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../nginx/lua');

// errors live in src/errors.ts; importers of the renderer find this one here too
export { TemplateError };

// Block helpers and keywords a template may use besides the escaping helpers.
const BLOCK = new Set(['if', 'unless', 'each', 'with', 'else']);
const SIMPLE = new Set([...Object.keys(HELPERS), 'configHash']);

/**
 * Every mustache in a template must be a block keyword, a partial, a comment, or a call to one of our
 * nginx helpers. A bare {{value}} or {{{value}}} would let a value through unchecked, so it is refused.
 */
export function checkTemplate(name: string, text: string): string[] {
  const errors: string[] = [];
  const re = /\{\{(\{?)(~?)\s*([^}]*?)\s*(~?)\}\}(\}?)/g;
  for (const match of text.matchAll(re)) {
    const line = text.slice(0, match.index).split('\n').length;
    const body = match[3]!;
    if (match[1] || match[5]) {
      errors.push(`${name}:${line}: triple-stash {{{${body}}}} is not allowed`);
      continue;
    }
    if (/^(!|>|\/)/.test(body)) continue;
    if (/^[#^]/.test(body)) {
      const word = body.slice(1).trim().split(/\s+/)[0]!;
      if (!BLOCK.has(word)) errors.push(`${name}:${line}: unknown block helper ${word}`);
      continue;
    }
    const word = body.split(/\s+/)[0]!;
    if (word === 'else') {
      // "{{else if x}}" chains another block helper, which must be known like any other
      const chained = body.split(/\s+/)[1];
      if (chained !== undefined && !BLOCK.has(chained)) errors.push(`${name}:${line}: unknown block helper ${chained}`);
      continue;
    }
    if (body.split(/\s+/).length === 1 && word === 'configHash') continue;
    if (!SIMPLE.has(word) || body.split(/\s+/).length < 2) {
      errors.push(`${name}:${line}: {{${body}}} must use an nginx helper (${[...SIMPLE].join(', ')})`);
    }
  }
  // A mustache the pattern cannot read ("{{~{value}~}}", a '}' inside a string argument) would skip the
  // checks above, so any "{{" left outside a recognised mustache is refused too.
  const unread = text.replace(re, (m) => m.replace(/[^\n]/g, ' '));
  for (const opening of unread.matchAll(/\{\{/g)) {
    errors.push(
      `${name}:${unread.slice(0, opening.index).split('\n').length}: cannot check this mustache: ${JSON.stringify(text.slice(opening.index, opening.index + 40))}`,
    );
  }
  return errors;
}

export interface Renderer {
  render(model: Model, options: RenderOptions): { text: string; hash: string };
}

export function loadTemplates(dir: string = DEFAULT_TEMPLATE_DIR): Renderer {
  const hb = Handlebars.create();
  const read = (rel: string) => {
    const file = path.join(dir, rel);
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new TemplateError(`cannot read template ${file}`, { cause: error });
    }
  };
  const main = read('nginx.conf.hbs');
  const partials: Record<string, string> = {};
  const partialDir = path.join(dir, 'partials');
  for (const file of fs.existsSync(partialDir) ? fs.readdirSync(partialDir).sort() : []) {
    if (file.endsWith('.hbs')) partials[file.slice(0, -4)] = read(path.join('partials', file));
  }
  const errors = [
    checkTemplate('nginx.conf.hbs', main),
    ...Object.entries(partials).map(([n, t]) => checkTemplate(`partials/${n}.hbs`, t)),
  ].flat();
  if (errors.length) throw new TemplateError(`templates in ${dir} use unsafe expressions:\n  ${errors.join('\n  ')}`);
  for (const [name, fn] of Object.entries(HELPERS)) hb.registerHelper(name, fn as Handlebars.HelperDelegate);
  hb.registerHelper('configHash', () => HASH_PLACEHOLDER_VALUE);
  for (const [name, text] of Object.entries(partials)) hb.registerPartial(name, text);
  // what each partial does (add_header, a server-level return, an include...), read once from its text
  const traitsOf = lookupIn(partialTraits(partials));
  const template = hb.compile(main, { noEscape: true, strict: true, knownHelpersOnly: false });
  return {
    render(model, options) {
      let text: string;
      try {
        text = template(buildView(model, options, traitsOf));
      } catch (error) {
        throw new TemplateError(`rendering failed: ${(error as Error).message}`, { cause: error });
      }
      const hash = crypto.createHash('sha256').update(text).digest('hex');
      return { text: text.split(HASH_PLACEHOLDER_VALUE).join(hash), hash };
    },
  };
}

import { HASH_PLACEHOLDER as HASH_PLACEHOLDER_VALUE } from './view.js';
