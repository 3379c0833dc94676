// Manifest text -> typed resources and problems. parseManifests is pure; loadFile adds the read.
import { readFile, stat } from 'node:fs/promises';
import type { ErrorObject } from 'ajv';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { DNS_SUBDOMAIN } from '../syntax.js';
import { KINDS, resourceKey, type Kind, type Problem, type Resource } from '../types.js';
import { normalise } from './normalise.js';
import { API_VERSIONS, FORMATS, validatorFor } from './schemas.js';

export interface LoadResult {
  resources: Resource[];
  problems: Problem[];
  rejected: string[];
  parseFailed: boolean;
}

// Aliases may be used, but not to multiply a small file into a huge object ("billion laughs").
const MAX_ALIAS_COUNT = 50;
// One broken generated manifest must not flood the log.
const MAX_PROBLEMS_PER_OBJECT = 50;
const MAX_SHOWN = 80;
// Reported through their inner errors already.
const WRAPPER_KEYWORDS = new Set(['if', 'propertyNames', 'anyOf', 'oneOf', 'allOf']);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Path = (string | number)[];
type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj =>
  typeof v === 'object' && v !== null && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

// Characters a terminal or log viewer would act on: C0/C1 controls, bidi overrides, line separators.
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;
const escapeControls = (s: string) => s.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
// JSON quoting, plus escapes for what JSON leaves raw.
const escapeText = (s: string) => escapeControls(JSON.stringify(s));

/** A value for a message: JSON-quoted, control characters escaped, cut to ~80 characters. */
export function quote(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return v.length > MAX_SHOWN ? `${escapeText(v.slice(0, MAX_SHOWN))}...` : escapeText(v);
  const json = JSON.stringify(v) ?? String(v);
  return escapeControls(json.length > MAX_SHOWN ? `${json.slice(0, MAX_SHOWN)}...` : json);
}

const display = (s: string) => (DNS_SUBDOMAIN.test(s) ? s : quote(s));
// what a value is, without its content
const describe = (v: unknown) => (typeof v === 'string' ? `a string of ${v.length} characters` : Array.isArray(v) ? 'a list' : typeof v);
// A library message for one line of our output: first line only, controls escaped.
const oneLine = (s: string) => escapeControls(s.split('\n')[0]!.replace(/:$/, '')).slice(0, 300);

function appendKey(field: string, key: string | number, inArray: boolean): string {
  if (inArray) return `${field}[${key}]`;
  if (IDENTIFIER.test(String(key))) return field ? `${field}.${key}` : String(key);
  return `${field}[${escapeText(String(key))}]`;
}

// ajv's JSON pointer -> raw path segments, a readable field and the value found there.
function resolvePointer(data: unknown, pointer: string): { segments: string[]; field: string; value: unknown } {
  const segments = pointer === '' ? [] : pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let field = '';
  let cur: unknown = data;
  for (const s of segments) {
    field = appendKey(field, s, Array.isArray(cur));
    cur = isObject(cur) || Array.isArray(cur) ? (cur as Obj)[s] : undefined;
  }
  return { segments, field, value: cur };
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string', integer: 'an integer', number: 'a number', object: 'a mapping', array: 'a list', boolean: 'true or false',
};

function explain(e: ErrorObject, data: unknown, secret = false): { segments: string[]; field: string; message: string } {
  const { segments, field, value } = resolvePointer(data, e.instancePath);
  // a Secret's values are never echoed: a PEM key pasted into data would otherwise reach logs and /status
  const hidden = secret && (segments[0] === 'data' || segments[0] === 'stringData');
  const show = (v: unknown) => (hidden ? `a value not shown (${describe(v)})` : quote(v));
  const p = e.params as Record<string, unknown>;
  const missing = (k: unknown) => ({ segments, field: appendKey(field, String(k), false) });
  if (e.propertyName !== undefined) {
    const f = FORMATS[String(p['format'])];
    const what = f ? `must be ${f.description}` : (e.message ?? 'is not allowed');
    return { segments, field: appendKey(field, e.propertyName, false), message: `key ${quote(e.propertyName)} ${what}` };
  }
  switch (e.keyword) {
    case 'required':
      return { ...missing(p['missingProperty']), message: `missing required field ${quote(p['missingProperty'])}` };
    case 'dependencies':
      return { ...missing(p['missingProperty']), message: `${quote(p['missingProperty'])} is required when ${quote(p['property'])} is set` };
    case 'type': {
      const types = ([] as unknown[]).concat(p['type']).map((t) => TYPE_NAMES[String(t)] ?? String(t));
      return { segments, field, message: `must be ${types.join(' or ')}, got ${show(value)}` };
    }
    case 'format': {
      const f = FORMATS[String(p['format'])];
      return { segments, field, message: `must be ${f?.description ?? String(p['format'])}, got ${show(value)}` };
    }
    case 'enum':
      return { segments, field, message: `must be one of ${(p['allowedValues'] as unknown[]).join(', ')}; got ${show(value)}` };
    case 'minimum':
    case 'maximum':
      // Every numeric range in our schemas is a port number.
      return { segments, field, message: `must be a port number from 1 to 65535, got ${show(value)}` };
    case 'minItems':
      return { segments, field, message: `must have at least ${String(p['limit'])} item(s)` };
    default:
      return { segments, field, message: `${e.message ?? 'is invalid'} (value ${show(value)})` };
  }
}

// Kubernetes treats null as "not set"; dropping nulls keeps the schemas simple.
function stripNulls(v: unknown): void {
  if (Array.isArray(v)) v.forEach(stripNulls);
  else if (isObject(v)) {
    for (const k of Object.keys(v)) {
      if (v[k] === null) delete v[k];
      else stripNulls(v[k]);
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
    for (let n = path.length; n >= 0; n--) {
      const node = this.doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return this.lines.linePos(node.range[0]).line;
    }
    return 1;
  }

  read(value: unknown, path: Path, inherited?: { kind: string; apiVersion: string }): void {
    const line = this.lineAt(path);
    const problem = (message: string, extra: Partial<Problem> = {}) =>
      this.out.problems.push({ severity: 'error', file: this.file, line, ...extra, message });
    // a string document may be a key file saved as .yaml: say what it is, not what it says
    if (!isObject(value)) return void problem(`expected a Kubernetes object (a mapping), got ${typeof value === 'string' ? describe(value) : quote(value)}`);
    const kind = value['kind'] ?? inherited?.kind;
    const apiVersion = value['apiVersion'] ?? inherited?.apiVersion;
    if (typeof kind !== 'string' || kind === '') return void problem(`missing or invalid "kind": ${quote(kind)}`, { field: 'kind' });

    const known = (KINDS as readonly string[]).includes(kind);
    const meta = isObject(value['metadata']) ? value['metadata'] : {};
    const ns = meta['namespace'] === undefined ? 'default' : meta['namespace'];
    const name = meta['name'];
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
    if (kind.endsWith('List') && 'items' in value) return this.readList(value, path, kind, apiVersion, problem);
    if (!known) return; // not ours: Deployments and the like share the directory

    const validate = validatorFor(kind as Kind, apiVersion);
    if (!validate) {
      const supported = API_VERSIONS[kind as Kind].join(', ');
      return reject(`unsupported apiVersion ${quote(apiVersion)} for ${kind}; supported: ${supported}`, { field: 'apiVersion' });
    }
    const obj = { ...value, kind, apiVersion };
    if (validate(obj)) {
      this.out.resources.push(normalise(kind as Kind, obj, { file: this.file, line }));
      return;
    }
    this.reportSchemaErrors(validate.errors ?? [], obj, path, object);
    if (identified) this.out.rejected.push(resourceKey(kind, ns, name));
  }

  private readList(list: Obj, path: Path, kind: string, apiVersion: string, problem: (m: string, e?: Partial<Problem>) => void): void {
    const items = list['items'] ?? [];
    if (!Array.isArray(items)) return void problem(`"items" of a ${kind} must be a list, got ${quote(items)}`, { field: 'items' });
    // Typed lists (IngressList...) from the raw API omit kind and apiVersion on their items.
    const itemKind = kind.slice(0, -'List'.length);
    const inherited = (KINDS as readonly string[]).includes(itemKind) ? { kind: itemKind, apiVersion } : undefined;
    items.forEach((item, i) => this.read(item, [...path, 'items', i], inherited));
  }

  private reportSchemaErrors(errors: ErrorObject[], obj: Obj, path: Path, object: string): void {
    const inner = errors.filter((e) => !WRAPPER_KEYWORDS.has(e.keyword) || e.propertyName !== undefined);
    const seen = new Set<string>();
    const problems: Problem[] = [];
    for (const e of inner.length ? inner : errors) {
      const { segments, field, message } = explain(e, obj, obj['kind'] === 'Secret');
      const key = `${field}\0${message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push({ severity: 'error', file: this.file, line: this.lineAt([...path, ...segments]), object, field, message });
    }
    this.out.problems.push(...problems.slice(0, MAX_PROBLEMS_PER_OBJECT));
    if (problems.length > MAX_PROBLEMS_PER_OBJECT) {
      const more = problems.length - MAX_PROBLEMS_PER_OBJECT;
      this.out.problems.push({ severity: 'error', file: this.file, line: this.lineAt(path), object, message: `${more} more problem(s) not shown` });
    }
  }
}

const emptyResult = (): LoadResult => ({ resources: [], problems: [], rejected: [], parseFailed: false });

function failed(file: string, line: number | undefined, message: string): LoadResult {
  const problem: Problem = { severity: 'error', file, ...(line ? { line } : {}), message };
  return { ...emptyResult(), problems: [problem], parseFailed: true };
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function parseManifests(text: string, file: string): LoadResult {
  const lines = new LineCounter();
  const out = emptyResult();
  try {
    const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: true });
    for (const doc of docs) {
      const err = doc.errors[0];
      if (err) return failed(file, err.linePos?.[0].line, `invalid YAML: ${oneLine(err.message)}`);
    }
    const values: { doc: Document; value: unknown }[] = [];
    for (const doc of docs) {
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
      } catch (err) {
        const start = (doc.contents as { range?: number[] } | null)?.range?.[0] ?? 0;
        return failed(file, lines.linePos(start).line, `invalid YAML: ${oneLine(errorText(err))}`);
      }
      if (value !== null && value !== undefined) values.push({ doc, value });
      for (const w of doc.warnings) {
        out.problems.push({ severity: 'warning', file, line: w.linePos?.[0].line ?? 1, message: oneLine(w.message) });
      }
    }
    for (const { doc, value } of values) {
      const reader = new DocumentReader(doc, lines, file, out);
      try {
        stripNulls(value);
        reader.read(value, []);
      } catch (err) {
        // Defensive: input must never crash the controller (e.g. absurd nesting depth).
        out.problems.push({ severity: 'error', file, line: reader.lineAt([]), message: `cannot process document: ${oneLine(errorText(err))}` });
      }
    }
  } catch (err) {
    return failed(file, undefined, `cannot parse: ${oneLine(errorText(err))}`);
  }
  return out;
}

export async function loadFile(absPath: string, relPath: string, maxBytes = 4 * 1024 * 1024): Promise<LoadResult> {
  let buf: Buffer;
  try {
    const st = await stat(absPath);
    if (st.isDirectory()) return failed(relPath, undefined, `cannot read ${relPath}: EISDIR (it is a directory)`);
    // Stat first: opening a FIFO or device could block or never end.
    if (!st.isFile()) return failed(relPath, undefined, `cannot read ${relPath}: not a regular file`);
    if (st.size > maxBytes) return failed(relPath, undefined, `${relPath} is too large (${st.size} bytes, limit ${maxBytes}); not loaded`);
    buf = await readFile(absPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? errorText(err);
    return failed(relPath, undefined, `cannot read ${relPath}: ${code}`);
  }
  if (buf.length > maxBytes) return failed(relPath, undefined, `${relPath} is too large (${buf.length} bytes, limit ${maxBytes}); not loaded`);
  if (buf.includes(0)) return failed(relPath, undefined, `${relPath} contains NUL bytes (binary or UTF-16?); not loaded`);
  let text = buf.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return parseManifests(text, relPath);
}
