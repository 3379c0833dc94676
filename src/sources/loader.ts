// Manifest text -> typed resources and problems. parseManifests is pure (and bounded: ParseLimits); loadFile
// adds the read and hands the parse to a worker of parse-pool.ts.
import { constants as fsConstants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { ErrorObject } from 'ajv';
import { Composer, CST, isAlias, isMap, isScalar, isSeq, Lexer, LineCounter, Parser, type Document } from 'yaml';
import { DNS_SUBDOMAIN } from '../syntax.js';
import { KINDS, resourceKey, type Kind, type Problem } from '../resources.js';
import { normalise } from './normalise.js';
import { defaultParsePool, type ParsePool } from './parse-pool.js';
import { emptyResult, failed, PARSE_LIMITS, type LoadResult, type ParseLimits } from './result.js';

export { failed, PARSE_LIMITS, type LoadResult, type ParseLimits } from './result.js';
import { API_VERSIONS, FORMATS, validatorFor } from './schemas.js';

// Aliases may be used, but not to multiply a small file into a huge object ("billion laughs").
const MAX_ALIAS_COUNT = 50;
// One broken generated manifest must not flood the log.
export const MAX_PROBLEMS_PER_OBJECT = 50;
const MAX_SHOWN = 80;
// Reported through their inner errors already.
const WRAPPER_KEYWORDS = new Set(['if', 'propertyNames', 'anyOf', 'oneOf', 'allOf']);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Path = (string | number)[];
type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj =>
  typeof v === 'object' &&
  v !== null &&
  (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

// Characters a terminal or log viewer would act on: C0/C1 controls, bidi overrides, line separators.
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;
const escapeControls = (s: string) => s.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
// JSON quoting, plus escapes for what JSON leaves raw.
const escapeText = (s: string) => escapeControls(JSON.stringify(s));

/** A value for a message: JSON-quoted, control characters escaped, cut to ~80 characters. */
export function quote(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string')
    return value.length > MAX_SHOWN ? `${escapeText(value.slice(0, MAX_SHOWN))}...` : escapeText(value);
  const json = JSON.stringify(value) ?? String(value);
  return escapeControls(json.length > MAX_SHOWN ? `${json.slice(0, MAX_SHOWN)}...` : json);
}

/** A name as it appears in a problem's object: bare when it is a DNS subdomain, else quoted. */
export const display = (s: string) => (DNS_SUBDOMAIN.test(s) ? s : quote(s));
// what a value is, without its content
const describe = (v: unknown) =>
  typeof v === 'string' ? `a string of ${v.length} characters` : Array.isArray(v) ? 'a list' : typeof v;
// A library message for one line of our output: first line only, controls escaped.
const oneLine = (s: string) => escapeControls(s.split('\n')[0]!.replace(/:$/, '')).slice(0, 300);

function appendKey(field: string, key: string | number, inArray: boolean): string {
  if (inArray) return `${field}[${key}]`;
  if (IDENTIFIER.test(String(key))) return field ? `${field}.${key}` : String(key);
  return `${field}[${escapeText(String(key))}]`;
}

// ajv's JSON pointer -> raw path segments, a readable field and the value found there.
function resolvePointer(data: unknown, pointer: string): { segments: string[]; field: string; value: unknown } {
  const segments =
    pointer === ''
      ? []
      : pointer
          .slice(1)
          .split('/')
          .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let field = '';
  let cur: unknown = data;
  for (const segment of segments) {
    field = appendKey(field, segment, Array.isArray(cur));
    cur = isObject(cur) || Array.isArray(cur) ? (cur as Obj)[segment] : undefined;
  }
  return { segments, field, value: cur };
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  object: 'a mapping',
  array: 'a list',
  boolean: 'true or false',
};

function explain(
  error: ErrorObject,
  data: unknown,
  secret = false,
): { segments: string[]; field: string; message: string } {
  const { segments, field, value } = resolvePointer(data, error.instancePath);
  // a Secret's values are never echoed: a PEM key pasted into data would otherwise reach logs and /status
  const hidden = secret && (segments[0] === 'data' || segments[0] === 'stringData');
  const show = (v: unknown) => (hidden ? `a value not shown (${describe(v)})` : quote(v));
  const params = error.params as Record<string, unknown>;
  const missing = (k: unknown) => ({ segments, field: appendKey(field, String(k), false) });
  if (error.propertyName !== undefined) {
    const format = FORMATS[String(params.format)];
    const what = format ? `must be ${format.description}` : (error.message ?? 'is not allowed');
    return {
      segments,
      field: appendKey(field, error.propertyName, false),
      message: `key ${quote(error.propertyName)} ${what}`,
    };
  }
  switch (error.keyword) {
    case 'required':
      return { ...missing(params.missingProperty), message: `missing required field ${quote(params.missingProperty)}` };
    case 'dependencies':
      return {
        ...missing(params.missingProperty),
        message: `${quote(params.missingProperty)} is required when ${quote(params.property)} is set`,
      };
    case 'type': {
      const types = ([] as unknown[]).concat(params.type).map((t) => TYPE_NAMES[String(t)] ?? String(t));
      return { segments, field, message: `must be ${types.join(' or ')}, got ${show(value)}` };
    }
    case 'format': {
      const format = FORMATS[String(params.format)];
      return {
        segments,
        field,
        message: `must be ${format?.description ?? String(params.format)}, got ${show(value)}`,
      };
    }
    case 'enum':
      return {
        segments,
        field,
        message: `must be one of ${(params.allowedValues as unknown[]).join(', ')}; got ${show(value)}`,
      };
    case 'minimum':
    case 'maximum':
      // Every numeric range in our schemas is a port number.
      return { segments, field, message: `must be a port number from 1 to 65535, got ${show(value)}` };
    case 'minItems':
      return { segments, field, message: `must have at least ${String(params.limit)} item(s)` };
    default:
      return { segments, field, message: `${error.message ?? 'is invalid'} (value ${show(value)})` };
  }
}

/**
 * ajv's errors for obj as fields and messages, in order: a wrapper (anyOf, if...) only when no inner error
 * says more, each field and message once. Also used for objects from the Kubernetes API.
 */
export function schemaErrors(
  errors: ErrorObject[],
  obj: Obj,
): { segments: string[]; field: string; message: string }[] {
  const inner = errors.filter((e) => !WRAPPER_KEYWORDS.has(e.keyword) || e.propertyName !== undefined);
  const seen = new Set<string>();
  const out: { segments: string[]; field: string; message: string }[] = [];
  for (const error of inner.length ? inner : errors) {
    const explained = explain(error, obj, obj.kind === 'Secret');
    const key = `${explained.field}\0${explained.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(explained);
  }
  return out;
}

// Kubernetes treats null as "not set"; dropping nulls keeps the schemas simple.
export function stripNulls(value: unknown): void {
  if (Array.isArray(value)) value.forEach(stripNulls);
  else if (isObject(value)) {
    for (const key of Object.keys(value)) {
      if (value[key] === null) delete value[key];
      else stripNulls(value[key]);
    }
  }
}

class DocumentReader {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly file: string,
    private readonly out: LoadResult,
  ) {}

  // Line of the deepest existing YAML node on the path.
  lineAt(path: Path): number {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = this.doc.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return this.lines.linePos(node.range[0]).line;
    }
    return 1;
  }

  read(value: unknown, path: Path, inherited?: { kind: string; apiVersion: string }): void {
    const line = this.lineAt(path);
    const problem = (message: string, extra: Partial<Problem> = {}) =>
      this.out.problems.push({ severity: 'error', file: this.file, line, ...extra, message });
    // a string document may be a key file saved as .yaml: say what it is, not what it says
    if (!isObject(value))
      return void problem(
        `expected a Kubernetes object (a mapping), got ${typeof value === 'string' ? describe(value) : quote(value)}`,
      );
    const kind = value.kind ?? inherited?.kind;
    const apiVersion = value.apiVersion ?? inherited?.apiVersion;
    if (typeof kind !== 'string' || kind === '')
      return void problem(`missing or invalid "kind": ${quote(kind)}`, { field: 'kind' });

    const known = (KINDS as readonly string[]).includes(kind);
    const meta = isObject(value.metadata) ? value.metadata : {};
    const ns = meta.namespace === undefined ? 'default' : meta.namespace;
    const name = meta.name;
    const identified = typeof ns === 'string' && typeof name === 'string';
    const object = `${kind} ${typeof ns === 'string' ? display(ns) : '?'}/${typeof name === 'string' ? display(name) : '(unnamed)'}`;
    const reject = (message: string, extra: Partial<Problem> = {}) => {
      problem(message, { object, ...extra });
      if (identified) this.out.rejected.push(resourceKey(kind, ns, name));
    };

    if (typeof apiVersion !== 'string' || apiVersion === '') {
      const message = `missing or invalid "apiVersion": ${quote(apiVersion)}`;
      return void (known ? reject(message, { field: 'apiVersion' }) : problem(message, { field: 'apiVersion' }));
    }
    if (kind.endsWith('List') && 'items' in value) {
      this.readList(value, path, kind, apiVersion, problem);
      return;
    }
    if (!known) return; // not ours: Deployments and the like share the directory

    const validate = validatorFor(kind as Kind, apiVersion);
    if (!validate) {
      const supported = API_VERSIONS[kind as Kind].join(', ');
      reject(`unsupported apiVersion ${quote(apiVersion)} for ${kind}; supported: ${supported}`, {
        field: 'apiVersion',
      });
      return;
    }
    const obj = { ...value, kind, apiVersion };
    if (validate(obj)) {
      this.out.resources.push(normalise(kind as Kind, obj, { file: this.file, line }));
      return;
    }
    this.reportSchemaErrors(validate.errors ?? [], obj, path, object);
    if (identified) this.out.rejected.push(resourceKey(kind, ns, name));
  }

  private readList(
    list: Obj,
    path: Path,
    kind: string,
    apiVersion: string,
    problem: (message: string, extra?: Partial<Problem>) => void,
  ): void {
    const items = list.items ?? [];
    if (!Array.isArray(items))
      return void problem(`"items" of a ${kind} must be a list, got ${quote(items)}`, { field: 'items' });
    // Typed lists (IngressList...) from the raw API omit kind and apiVersion on their items.
    const itemKind = kind.slice(0, -'List'.length);
    const inherited = (KINDS as readonly string[]).includes(itemKind) ? { kind: itemKind, apiVersion } : undefined;
    items.forEach((item, i) => this.read(item, [...path, 'items', i], inherited));
  }

  private reportSchemaErrors(errors: ErrorObject[], obj: Obj, path: Path, object: string): void {
    const problems: Problem[] = schemaErrors(errors, obj).map(({ segments, field, message }) => ({
      severity: 'error',
      file: this.file,
      line: this.lineAt([...path, ...segments]),
      object,
      field,
      message,
    }));
    this.out.problems.push(...problems.slice(0, MAX_PROBLEMS_PER_OBJECT));
    if (problems.length > MAX_PROBLEMS_PER_OBJECT) {
      const more = problems.length - MAX_PROBLEMS_PER_OBJECT;
      this.out.problems.push({
        severity: 'error',
        file: this.file,
        line: this.lineAt(path),
        object,
        message: `${more} more problem(s) not shown`,
      });
    }
  }
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

const LIMIT_NAMES: Record<keyof ParseLimits, string> = {
  depth: 'levels of nesting',
  anchors: 'anchors',
  aliases: 'aliases',
  tags: 'tags',
  documents: 'documents',
  tokens: 'YAML tokens',
  documentTokens: 'YAML tokens in one document',
  nodes: 'nodes (an alias counted as what it stands for)',
};

/** A limit hit, or the first YAML error: either ends the parse of the file at once. */
class ParseStop extends Error {
  constructor(
    readonly offset: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

const limitHit = (limits: ParseLimits, which: keyof ParseLimits, offset: number) =>
  new ParseStop(
    offset,
    `refused: more than ${limits[which]} ${LIMIT_NAMES[which]} (a limit of the manifests loader); not loaded`,
  );

// Lexemes counted: all but spaces, line breaks and the lexer's control markers (a plain or block scalar counts
// once, by its SCALAR marker; comments count: a document's comments are all kept until it is composed).
const [SPACE, TAB, LF, CR, AMPERSAND, ASTERISK, BANG] = [' ', '\t', '\n', '\r', '&', '*', '!'].map((ch) =>
  ch.charCodeAt(0),
);

/**
 * Walks a composed document: counts its nodes, an alias as the nodes its anchor holds (so aliases cannot
 * multiply a small file into a huge object), and finds a key repeated in one mapping. The library's own
 * duplicate check compares each key with every earlier key of its mapping: quadratic, minutes for one
 * mapping of 400,000 keys; it is turned off and done here with a set.
 */
class NodeWalk {
  private readonly sizes = new WeakMap<object, number>();
  private readonly anchors = new Map<string, object>();

  size(node: unknown): number {
    if (!node || typeof node !== 'object') return 0;
    if (isAlias(node)) {
      const target = this.anchors.get(node.source);
      return target ? (this.sizes.get(target) ?? 1) : 1; // an alias inside its own anchor: a cycle, one node here
    }
    const anchor = (node as { anchor?: string }).anchor;
    let count = 1;
    if (isMap(node)) {
      const keys = new Set<unknown>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          if (keys.has(pair.key.value)) throw new ParseStop(pair.key.range?.[0], 'Map keys must be unique');
          keys.add(pair.key.value);
        }
        count += this.size(pair.key) + this.size(pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) count += this.size(item);
    }
    if (anchor) {
      this.sizes.set(node, count);
      this.anchors.set(anchor, node); // the latest anchor of a name is the one an alias means
    }
    return count;
  }
}

/**
 * Lexes, parses and composes the text one document at a time, checking the limits as it goes; stops at
 * the first YAML error (only that one is reported, and a message per error of a hostile line is how a
 * 165 KB file took 18 s: each computed its context from the whole line). Yields each document's value.
 */
function* composeDocuments(
  text: string,
  lines: LineCounter,
  limits: ParseLimits,
): Generator<{ doc: Document; value: unknown }> {
  const lexer = new Lexer();
  const parser = new Parser(lines.addNewLine);
  lines.addNewLine(0);
  const composer = new Composer({ uniqueKeys: false });
  // the first error ends the parse: the composer would otherwise go on building nodes and messages
  const internal = composer as unknown as {
    onError: (source: unknown, code: string, message: string, warning?: boolean) => void;
  };
  const report = internal.onError;
  let stop: ParseStop | undefined;
  internal.onError = (source, code, message, warning) => {
    if (warning) return report(source, code, message, warning);
    // the composer catches what a collection throws and reports it again for the collection: keep the first
    stop ??= new ParseStop(errorOffset(source), message);
    throw stop;
  };
  const counts = {
    documentTokens: 0,
    anchors: 0,
    aliases: 0,
    tags: 0,
    tokens: 0,
    docStarts: 0,
    docEnds: 0,
    documents: 0,
    nodes: 0,
  };
  let offset = 0;
  let scalarSource = false; // the lexeme after the SCALAR marker is a scalar's text, whatever it starts with
  function* tokens() {
    for (const lexeme of lexer.lex(text)) {
      const at = offset;
      const firstChar = lexeme.charCodeAt(0);
      // by the first character, as CST.tokenType does: this runs for every lexeme of every file
      if (scalarSource) scalarSource = false;
      else if (
        firstChar !== SPACE &&
        firstChar !== TAB &&
        firstChar !== LF &&
        firstChar !== CR &&
        lexeme !== '' &&
        lexeme !== CST.DOCUMENT &&
        lexeme !== CST.FLOW_END &&
        lexeme !== CST.BOM
      ) {
        if (lexeme === CST.SCALAR) scalarSource = true;
        else if (lexeme === '---' || lexeme === '...') {
          counts.documentTokens = 0;
          if (lexeme === '---' ? ++counts.docStarts > limits.documents : ++counts.docEnds > limits.documents)
            throw limitHit(limits, 'documents', at);
        } else if (firstChar === AMPERSAND && ++counts.anchors > limits.anchors) throw limitHit(limits, 'anchors', at);
        else if (firstChar === ASTERISK && ++counts.aliases > limits.aliases) throw limitHit(limits, 'aliases', at);
        else if (firstChar === BANG && ++counts.tags > limits.tags) throw limitHit(limits, 'tags', at);
        if (++counts.tokens > limits.tokens) throw limitHit(limits, 'tokens', at);
        if (++counts.documentTokens > limits.documentTokens) throw limitHit(limits, 'documentTokens', at);
      }
      // the lexer's control markers take no room in the text
      if (lexeme !== CST.SCALAR && lexeme !== CST.DOCUMENT && lexeme !== CST.FLOW_END) offset += lexeme.length;
      yield* parser.next(lexeme);
      // the stack holds the document and each collection still open around this token
      if (parser.stack.length > limits.depth + 1) throw limitHit(limits, 'depth', at);
    }
    yield* parser.end();
  }
  const walk = new NodeWalk();
  const take = (doc: Document) => {
    const first = doc.errors[0];
    if (first) throw new ParseStop(first.pos[0], first.message);
    if (++counts.documents > limits.documents) throw limitHit(limits, 'documents', doc.range?.[0] ?? 0);
    counts.nodes += walk.size(doc.contents);
    if (counts.nodes > limits.nodes) throw limitHit(limits, 'nodes', doc.range?.[0] ?? 0);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      throw new ParseStop((doc.contents as { range?: number[] } | null)?.range?.[0] ?? 0, errorText(err));
    }
    return { doc, value };
  };
  for (const token of tokens()) for (const doc of composer.next(token)) yield take(doc);
  for (const doc of composer.end(false, text.length)) yield take(doc);
}

function errorOffset(source: unknown): number | undefined {
  if (typeof source === 'number') return source;
  if (Array.isArray(source)) return source[0] as number;
  const offset = (source as { offset?: number } | null)?.offset;
  return typeof offset === 'number' ? offset : undefined;
}

export function parseManifests(text: string, file: string, limits: ParseLimits = PARSE_LIMITS): LoadResult {
  const lines = new LineCounter();
  const out = emptyResult();
  const warnings: Problem[] = [];
  try {
    // each document is read as soon as it is composed, so only one document's nodes are held at a time
    for (const { doc, value } of composeDocuments(text, lines, limits)) {
      for (const warning of doc.warnings)
        warnings.push({
          severity: 'warning',
          file,
          line: lines.linePos(warning.pos[0]).line,
          message: oneLine(warning.message),
        });
      if (value === null || value === undefined) continue;
      const reader = new DocumentReader(doc, lines, file, out);
      try {
        stripNulls(value);
        reader.read(value, []);
      } catch (err) {
        // Defensive: input must never crash the controller.
        out.problems.push({
          severity: 'error',
          file,
          line: reader.lineAt([]),
          message: `cannot process document: ${oneLine(errorText(err))}`,
        });
      }
    }
  } catch (err) {
    if (!(err instanceof ParseStop)) return failed(file, undefined, `cannot parse: ${oneLine(errorText(err))}`);
    const at = err.offset === undefined ? undefined : lines.linePos(Math.min(err.offset, text.length));
    const where = at ? ` at line ${at.line}, column ${at.col}` : '';
    const message = err.message.startsWith('refused:')
      ? `${file} ${err.message.replace('; not loaded', `${where}; not loaded`)}`
      : `invalid YAML: ${oneLine(err.message)}${where}`;
    return failed(file, at?.line, message);
  }
  out.problems.unshift(...warnings);
  return out;
}

/** The bytes of a file as the worker parses them: NUL check, BOM, UTF-8. */
export function parseBytes(bytes: Uint8Array, file: string, limits: ParseLimits = PARSE_LIMITS): LoadResult {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.includes(0)) return failed(file, undefined, `${file} contains NUL bytes (binary or UTF-16?); not loaded`);
  let text = buf.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return parseManifests(text, file, limits);
}

// Open first, then look at what was opened: a stat by path and an open by path may meet two different
// files (a manifest swapped for a FIFO in between), and a blocking open of a FIFO waits for a writer for
// ever, in one of libuv's four threads; once those are taken no file is read again, and process.exit()
// itself waits for them. O_NONBLOCK makes that open return at once (a no-op for regular files), and
// O_NOFOLLOW refuses a symlink put in place of the real path the scan resolved.
const OPEN_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW;
const READ_CHUNK = 64 * 1024;

function fileKind(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSymbolicLink()) return 'a symlink';
  return 'not a regular file';
}

/** The bytes of a regular file, at most maxBytes; or why not. Never blocks on a special file. */
export async function readManifest(
  absPath: string,
  relPath: string,
  maxBytes: number,
): Promise<Uint8Array | LoadResult> {
  const tooLarge = (size: number | string) =>
    failed(relPath, undefined, `${relPath} is too large (${size} bytes, limit ${maxBytes}); not loaded`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(absPath, OPEN_FLAGS);
    const st = await handle.stat();
    if (st.isDirectory()) return failed(relPath, undefined, `cannot read ${relPath}: EISDIR (it is a directory)`);
    if (!st.isFile())
      return failed(
        relPath,
        undefined,
        `cannot read ${relPath}: it is ${fileKind(st)}, not a regular file; not loaded`,
      );
    if (st.size > maxBytes) return tooLarge(st.size);
    // the file may grow after the fstat: read on until the end, but never past the limit
    const chunks: Buffer[] = [];
    let total = 0;
    let want = st.size + 1;
    for (;;) {
      // not from Node's shared pool: the bytes are handed to a worker, which takes over their memory
      const chunk = Buffer.allocUnsafeSlow(Math.min(want, maxBytes + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, total);
      if (bytesRead === 0) break;
      chunks.push(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) return tooLarge(`more than ${maxBytes}`);
      want = READ_CHUNK;
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? errorText(err);
    const why = code === 'ELOOP' ? 'ELOOP (a symlink now stands where the file was)' : code;
    return failed(relPath, undefined, `cannot read ${relPath}: ${why}`);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

export async function loadFile(
  absPath: string,
  relPath: string,
  maxBytes = 4 * 1024 * 1024,
  pool: Pick<ParsePool, 'parse'> = defaultParsePool(),
): Promise<LoadResult> {
  const bytes = await readManifest(absPath, relPath, maxBytes);
  if (!(bytes instanceof Uint8Array)) return bytes;
  return pool.parse(bytes, relPath);
}
