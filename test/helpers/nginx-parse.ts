// A small nginx config tokenizer and parser, following nginx's own reader (ngx_conf_read_token): words
// separated by whitespace, "..." and '...' strings with backslash escapes, '#' comments where a word may
// start, ';' ending a directive, '{' opening and '}' closing a block. Enough to compare the directive
// structure of two rendered configs; it does not know what any directive means.

export interface Directive {
  name: string;
  args: string[];
  block?: Directive[];
  line: number;
}

export class NginxParseError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'NginxParseError';
  }
}

type Token = { type: 'word' | 'lua'; value: string; line: number } | { type: ';' | '{' | '}'; line: number };

/**
 * The body of a *_by_lua_block directive is Lua, read by ngx_lua's own lexer: up to the '}' matching the
 * opening one, braces inside Lua strings and comments not counted. Returns the index after that '}'.
 */
function luaBlockEnd(text: string, from: number): number {
  let depth = 1;
  let i = from;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' || c === "'") {
      i++;
      while (i < text.length && text[i] !== c) i += text[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    if (c === '-' && text[i + 1] === '-') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '{') depth++;
    if (c === '}' && --depth === 0) return i + 1;
    i++;
  }
  throw new NginxParseError('unexpected end of file in a Lua block', 0);
}

// nginx's unescaping of a word: \" \' \\ lose the backslash, \t \r \n become the control character,
// any other backslash stays.
function unescapeWord(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\' && i + 1 < raw.length) {
      const n = raw[i + 1]!;
      if (n === '"' || n === "'" || n === '\\') {
        out += n;
        i++;
        continue;
      }
      if (n === 't') {
        out += '\t';
        i++;
        continue;
      }
      if (n === 'r') {
        out += '\r';
        i++;
        continue;
      }
      if (n === 'n') {
        out += '\n';
        i++;
        continue;
      }
    }
    out += c;
  }
  return out;
}

const SPACE = new Set([' ', '\t', '\r', '\n']);

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  let first: string | undefined; // the directive name being read
  while (i < n) {
    const c = text[i]!;
    if (SPACE.has(c)) {
      if (c === '\n') line++;
      i++;
      continue;
    }
    if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (c === '{' && first?.endsWith('_by_lua_block')) {
      const end = luaBlockEnd(text, i + 1);
      const body = text.slice(i + 1, end - 1);
      tokens.push({ type: 'lua', value: body, line });
      line += body.split('\n').length - 1;
      first = undefined;
      i = end;
      continue;
    }
    if (c === ';' || c === '{' || c === '}') {
      tokens.push({ type: c, line });
      first = undefined;
      i++;
      continue;
    }
    const start = line;
    if (c === '"' || c === "'") {
      // quoted: up to the matching unescaped quote, then a space, ';', '{' or ')' must follow
      let j = i + 1;
      let raw = '';
      for (;;) {
        if (j >= n) throw new NginxParseError('unexpected end of file, expecting closing quote', start);
        const d = text[j]!;
        if (d === '\\' && j + 1 < n) {
          raw += d + text[j + 1]!;
          if (text[j + 1] === '\n') line++;
          j += 2;
          continue;
        }
        if (d === c) break;
        if (d === '\n') line++;
        raw += d;
        j++;
      }
      tokens.push({ type: 'word', value: unescapeWord(raw), line: start });
      first ??= unescapeWord(raw);
      i = j + 1;
      const next = text[i];
      if (next !== undefined && !SPACE.has(next) && next !== ';' && next !== '{' && next !== ')') {
        throw new NginxParseError(`unexpected "${next}" after a quoted string`, line);
      }
      continue;
    }
    // a bare word: ends at whitespace, ';' or '{' ('{' right after '$' is part of "${name}"); '}' and
    // '#' inside a word are ordinary characters; a backslash escapes the next character
    let j = i;
    let raw = '';
    let variable = false;
    while (j < n) {
      const d = text[j]!;
      if (d === '\\' && j + 1 < n) {
        raw += d + text[j + 1]!;
        if (text[j + 1] === '\n') line++;
        j += 2;
        variable = false;
        continue;
      }
      if (d === '{' && variable) {
        raw += d;
        j++;
        variable = false;
        continue;
      }
      variable = d === '$';
      if (SPACE.has(d) || d === ';' || d === '{') break;
      raw += d;
      j++;
    }
    tokens.push({ type: 'word', value: unescapeWord(raw), line: start });
    first ??= unescapeWord(raw);
    i = j;
  }
  return tokens;
}

/** The directives of a config, blocks nested; throws NginxParseError where nginx's reader would fail. */
export function parseNginx(text: string): Directive[] {
  const tokens = tokenize(text);
  let pos = 0;
  const readBlock = (depth: number): Directive[] => {
    const out: Directive[] = [];
    let words: { value: string; line: number }[] = [];
    while (pos < tokens.length) {
      const t = tokens[pos++]!;
      if (t.type === 'word') {
        words.push(t);
        continue;
      }
      if (t.type === 'lua') {
        // a Lua block ends its directive; its code is one argument
        if (!words.length) throw new NginxParseError('a Lua block without a directive', t.line);
        out.push({
          name: words[0]!.value,
          args: [...words.slice(1).map((w) => w.value), t.value],
          line: words[0]!.line,
        });
        words = [];
        continue;
      }
      if (t.type === '}') {
        if (words.length) throw new NginxParseError('unexpected "}"', t.line);
        if (depth === 0) throw new NginxParseError('unexpected "}"', t.line);
        return out;
      }
      if (!words.length) throw new NginxParseError(`unexpected "${t.type}"`, t.line);
      const d: Directive = { name: words[0]!.value, args: words.slice(1).map((w) => w.value), line: words[0]!.line };
      words = [];
      if (t.type === '{') d.block = readBlock(depth + 1);
      out.push(d);
    }
    if (words.length) throw new NginxParseError('unexpected end of file, expecting ";" or "}"', words[0]!.line);
    if (depth > 0)
      throw new NginxParseError('unexpected end of file, expecting "}"', tokens[tokens.length - 1]?.line ?? 1);
    return out;
  };
  return readBlock(0);
}

/**
 * The shape of a config: directive names and blocks, without arguments, as one string per directive
 * ("name" or "name{...}"). Sibling blocks named in `unordered` (servers, locations) are sorted by their
 * own shape, since their order follows host and path values.
 */
export function structure(
  directives: Directive[],
  unordered: ReadonlySet<string> = new Set(['server', 'location']),
): string {
  const parts = directives.map((d) => (d.block ? `${d.name}{${structure(d.block, unordered)}}` : d.name));
  const fixed: string[] = [];
  const loose: string[] = [];
  directives.forEach((d, i) => (d.block && unordered.has(d.name) ? loose : fixed).push(parts[i]!));
  return [...fixed, ...loose.sort()].join(';');
}
