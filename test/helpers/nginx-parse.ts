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
  let at = from;
  while (at < text.length) {
    const char = text[at]!;
    if (char === '"' || char === "'") {
      at++;
      while (at < text.length && text[at] !== char) at += text[at] === '\\' ? 2 : 1;
      at++;
      continue;
    }
    if (char === '-' && text[at + 1] === '-') {
      while (at < text.length && text[at] !== '\n') at++;
      continue;
    }
    if (char === '{') depth++;
    if (char === '}' && --depth === 0) return at + 1;
    at++;
  }
  throw new NginxParseError('unexpected end of file in a Lua block', 0);
}

// nginx's unescaping of a word: \" \' \\ lose the backslash, \t \r \n become the control character,
// any other backslash stays.
function unescapeWord(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const char = raw[i]!;
    if (char === '\\' && i + 1 < raw.length) {
      const escaped = raw[i + 1]!;
      if (escaped === '"' || escaped === "'" || escaped === '\\') {
        out += escaped;
        i++;
        continue;
      }
      if (escaped === 't') {
        out += '\t';
        i++;
        continue;
      }
      if (escaped === 'r') {
        out += '\r';
        i++;
        continue;
      }
      if (escaped === 'n') {
        out += '\n';
        i++;
        continue;
      }
    }
    out += char;
  }
  return out;
}

const SPACE = new Set([' ', '\t', '\r', '\n']);

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let at = 0;
  const length = text.length;
  let first: string | undefined; // the directive name being read
  while (at < length) {
    const char = text[at]!;
    if (SPACE.has(char)) {
      if (char === '\n') line++;
      at++;
      continue;
    }
    if (char === '#') {
      while (at < length && text[at] !== '\n') at++;
      continue;
    }
    if (char === '{' && first?.endsWith('_by_lua_block')) {
      const end = luaBlockEnd(text, at + 1);
      const body = text.slice(at + 1, end - 1);
      tokens.push({ type: 'lua', value: body, line });
      line += body.split('\n').length - 1;
      first = undefined;
      at = end;
      continue;
    }
    if (char === ';' || char === '{' || char === '}') {
      tokens.push({ type: char, line });
      first = undefined;
      at++;
      continue;
    }
    const start = line;
    if (char === '"' || char === "'") {
      // quoted: up to the matching unescaped quote, then a space, ';', '{' or ')' must follow
      let quoteEnd = at + 1;
      let raw = '';
      for (;;) {
        if (quoteEnd >= length) throw new NginxParseError('unexpected end of file, expecting closing quote', start);
        const cursorChar = text[quoteEnd]!;
        if (cursorChar === '\\' && quoteEnd + 1 < length) {
          raw += cursorChar + text[quoteEnd + 1]!;
          if (text[quoteEnd + 1] === '\n') line++;
          quoteEnd += 2;
          continue;
        }
        if (cursorChar === char) break;
        if (cursorChar === '\n') line++;
        raw += cursorChar;
        quoteEnd++;
      }
      tokens.push({ type: 'word', value: unescapeWord(raw), line: start });
      first ??= unescapeWord(raw);
      at = quoteEnd + 1;
      const next = text[at];
      if (next !== undefined && !SPACE.has(next) && next !== ';' && next !== '{' && next !== ')') {
        throw new NginxParseError(`unexpected "${next}" after a quoted string`, line);
      }
      continue;
    }
    // a bare word: ends at whitespace, ';' or '{' ('{' right after '$' is part of "${name}"); '}' and
    // '#' inside a word are ordinary characters; a backslash escapes the next character
    let wordEnd = at;
    let raw = '';
    let variable = false;
    while (wordEnd < length) {
      const cursorChar = text[wordEnd]!;
      if (cursorChar === '\\' && wordEnd + 1 < length) {
        raw += cursorChar + text[wordEnd + 1]!;
        if (text[wordEnd + 1] === '\n') line++;
        wordEnd += 2;
        variable = false;
        continue;
      }
      if (cursorChar === '{' && variable) {
        raw += cursorChar;
        wordEnd++;
        variable = false;
        continue;
      }
      variable = cursorChar === '$';
      if (SPACE.has(cursorChar) || cursorChar === ';' || cursorChar === '{') break;
      raw += cursorChar;
      wordEnd++;
    }
    tokens.push({ type: 'word', value: unescapeWord(raw), line: start });
    first ??= unescapeWord(raw);
    at = wordEnd;
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
      const token = tokens[pos++]!;
      if (token.type === 'word') {
        words.push(token);
        continue;
      }
      if (token.type === 'lua') {
        // a Lua block ends its directive; its code is one argument
        if (!words.length) throw new NginxParseError('a Lua block without a directive', token.line);
        out.push({
          name: words[0]!.value,
          args: [...words.slice(1).map((w) => w.value), token.value],
          line: words[0]!.line,
        });
        words = [];
        continue;
      }
      if (token.type === '}') {
        if (words.length) throw new NginxParseError('unexpected "}"', token.line);
        if (depth === 0) throw new NginxParseError('unexpected "}"', token.line);
        return out;
      }
      if (!words.length) throw new NginxParseError(`unexpected "${token.type}"`, token.line);
      const directive: Directive = {
        name: words[0]!.value,
        args: words.slice(1).map((w) => w.value),
        line: words[0]!.line,
      };
      words = [];
      if (token.type === '{') directive.block = readBlock(depth + 1);
      out.push(directive);
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
