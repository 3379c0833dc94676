#!/usr/bin/env node
// Counts the two ingress-nginx inventories in docs/ and checks them against the code, so that the figures
// quoted in the README come from the files and a row cannot go stale without this script saying so:
//   docs/ingress-nginx-e2e-coverage.md       one row per e2e case of ingress-nginx, with our status
//   docs/ingress-nginx-settings-coverage.md  its annotations and ConfigMap keys, honoured here or not
// Checks: every "covered" row names a test file that exists and holds that test title; every annotation
// marked "yes" is read by src/model/annotations (`${PREFIX}name`) and every other one is not; the same for
// ConfigMap keys against the parser table of src/model/settings.ts.
// Usage: node scripts/e2e-coverage.mjs [--quiet]   (exit 1 when a check fails)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const E2E_DOC = 'docs/ingress-nginx-e2e-coverage.md';
const SETTINGS_DOC = 'docs/ingress-nginx-settings-coverage.md';
const quiet = process.argv.includes('--quiet');
const failures = [];

const read = (path) => readFileSync(join(ROOT, path), 'utf8');

/** Table rows of a Markdown file, each with the `##` and `###` headings above it and its cells. */
function tableRows(text) {
  const rows = [];
  let section = '';
  let subsection = '';
  for (const [index, line] of text.split('\n').entries()) {
    if (line.startsWith('## ')) [section, subsection] = [line.slice(3).trim(), ''];
    else if (line.startsWith('### ')) subsection = line.slice(4).trim();
    if (!line.startsWith('|')) continue;
    // cells split on "|" not escaped as "\|"; the header row and the |---| row are not data
    const cells = line
      .slice(1, line.trimEnd().endsWith('|') ? line.trimEnd().length - 1 : undefined)
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim().replace(/\\\|/g, '|'));
    if (cells.every((cell) => /^:?-+:?$/.test(cell))) continue;
    rows.push({ section, subsection, cells, line: index + 1 });
  }
  return rows.filter((row) => !HEADERS.has(row.cells[0]));
}

// the header row of each table: its |---| row is dropped above, and its first cell is one of these words
const HEADERS = new Set(['line', 'annotation', 'key']);

/** The status words of the e2e inventory, as the lead flips them. */
function e2eStatus(text) {
  if (text === 'covered') return 'covered';
  if (text === 'pending (issue 13, in progress)') return 'pending';
  if (/^not covered \(planned: issue \d+\)$/.test(text)) return 'planned';
  if (text === 'deliberately not covered') return 'deliberate';
  if (text === 'not covered') return 'gap';
  return undefined;
}

const E2E_STATUSES = ['covered', 'pending', 'planned', 'deliberate', 'gap'];
const E2E_LABELS = {
  covered: 'covered',
  pending: 'pending (issue 13, in progress)',
  planned: 'not covered (planned: issue N)',
  deliberate: 'deliberately not covered',
  gap: 'not covered',
};

function checkCoveredRow(row, where) {
  const match = /^(test\/[^:]+\.ts): "(.*)"$/.exec(where);
  if (!match) {
    failures.push(`${E2E_DOC}:${row.line}: a covered row names no test as test/FILE.ts: "TITLE"`);
    return;
  }
  const [, file, title] = match;
  if (!existsSync(join(ROOT, file))) {
    failures.push(`${E2E_DOC}:${row.line}: ${file} does not exist`);
    return;
  }
  const source = read(file);
  // a title holding a quote is escaped in the source when the quote is its string's delimiter
  const spellings = [title, title.replace(/'/g, "\\'"), title.replace(/"/g, '\\"')];
  if (!spellings.some((spelling) => source.includes(spelling)))
    failures.push(`${E2E_DOC}:${row.line}: ${file} has no test titled "${title}"`);
}

/**
 * The ingress-nginx cases our tests name in a comment or title, as the README asks them to:
 * `ingress-nginx test/e2e/settings/gzip.go "should be enabled with default settings"`. Case -> where.
 */
function casesNamedByTests() {
  const named = new Map();
  for (const file of tsFiles('test')) {
    for (const [index, line] of read(file).split('\n').entries()) {
      for (const match of line.matchAll(/ingress-nginx test\/e2e\/([\w/.-]+\.go) "([^"]+)"/g)) {
        const key = `${match[1]}\n${match[2]}`;
        named.set(key, [...(named.get(key) ?? []), `${file}:${index + 1}`]);
      }
    }
  }
  return named;
}

function e2eCounts() {
  const byDirectory = new Map();
  const planned = new Map();
  const totals = Object.fromEntries(E2E_STATUSES.map((status) => [status, 0]));
  const named = casesNamedByTests();
  const toFlip = []; // rows a test names whose status is not "covered" yet: for the lead to look at
  for (const row of tableRows(read(E2E_DOC))) {
    if (!row.subsection) continue;
    const [, title, statusText, where = ''] = row.cells;
    const status = e2eStatus(statusText);
    const namedBy = named.get(`${row.subsection}\n${title}`);
    named.delete(`${row.subsection}\n${title}`);
    if (namedBy && status !== 'covered')
      toFlip.push(`${E2E_DOC}:${row.line} (${statusText}): ${row.subsection} "${title}" <- ${namedBy.join(', ')}`);
    if (!status) {
      failures.push(`${E2E_DOC}:${row.line}: unknown status "${statusText}"`);
      continue;
    }
    if (status === 'covered') checkCoveredRow(row, where);
    if (status === 'planned') {
      const issue = /issue (\d+)/.exec(statusText)[1];
      planned.set(issue, (planned.get(issue) ?? 0) + 1);
    }
    const directory = row.subsection.split('/')[0];
    if (!byDirectory.has(directory))
      byDirectory.set(directory, Object.fromEntries(E2E_STATUSES.map((name) => [name, 0])));
    byDirectory.get(directory)[status]++;
    totals[status]++;
  }
  // what is left names no row: a mistyped file or title in a test, or a case this inventory lacks
  const unknown = [...named].map(([key, where]) => `${key.replace('\n', ' "')}" <- ${where.join(', ')}`);
  return { byDirectory, planned, totals, toFlip, unknown };
}

/** "yes", "pending (issue 13, in progress)", "no (planned: issue N)", "deliberately not", "no". */
function honouredStatus(text) {
  if (text === 'yes') return 'yes';
  if (text === 'pending (issue 13, in progress)') return 'pending';
  if (/^no \(planned: issue \d+\)$/.test(text)) return 'planned';
  if (text === 'deliberately not') return 'deliberate';
  if (text === 'no') return 'no';
  return undefined;
}

const HONOURED = ['yes', 'pending', 'planned', 'deliberate', 'no'];

function tsFiles(directory) {
  return readdirSync(join(ROOT, directory), { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return tsFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Annotation names the families read: each is written `${PREFIX}name` in src/model/annotations. */
function annotationsRead() {
  const names = new Set();
  for (const file of tsFiles('src/model/annotations'))
    for (const match of read(file).matchAll(/\$\{PREFIX\}([a-z0-9-]+)`/g)) names.add(match[1]);
  return names;
}

/**
 * ConfigMap keys of the parser tables of src/model/settings.ts and its topic modules (settings-*.ts):
 * `'key': [...]` or `key: [...]`.
 */
function settingsRead() {
  const names = new Set();
  const files = readdirSync(join(ROOT, 'src/model')).filter((name) => /^settings(-[a-z]+)?\.ts$/.test(name));
  for (const file of files)
    for (const match of read(`src/model/${file}`).matchAll(/^\s*'?([a-z][a-z0-9-]*)'?:\s*\[/gm)) names.add(match[1]);
  return names;
}

function settingsCounts() {
  const tables = { annotations: [], keys: [] };
  for (const row of tableRows(read(SETTINGS_DOC))) {
    const table = row.section.startsWith('Annotations')
      ? tables.annotations
      : row.section.startsWith('ConfigMap keys')
        ? tables.keys
        : undefined;
    if (!table) continue;
    const name = row.cells[0].replace(/`/g, '');
    // the annotation table has a column saying which of ingress-nginx's docs lists the name
    const honouredText = table === tables.annotations ? row.cells[2] : row.cells[1];
    const status = honouredStatus(honouredText);
    if (!status) failures.push(`${SETTINGS_DOC}:${row.line}: unknown value "${honouredText}" for ${name}`);
    else table.push({ name, status, line: row.line });
  }
  const check = (rows, read, what) => {
    for (const row of rows) {
      if (row.status === 'yes' && !read.has(row.name))
        failures.push(`${SETTINGS_DOC}:${row.line}: ${what} ${row.name} is marked yes, but src does not read it`);
      if (row.status !== 'yes' && read.has(row.name))
        failures.push(`${SETTINGS_DOC}:${row.line}: src reads the ${what} ${row.name}: mark it yes`);
    }
    const listed = new Set(rows.map((row) => row.name));
    return [...read].filter((name) => !listed.has(name)).sort();
  };
  const extraAnnotations = check(tables.annotations, annotationsRead(), 'annotation');
  const extraKeys = check(tables.keys, settingsRead(), 'ConfigMap key');
  const count = (rows) =>
    Object.fromEntries(HONOURED.map((status) => [status, rows.filter((row) => row.status === status).length]));
  return {
    annotations: { total: tables.annotations.length, ...count(tables.annotations), extra: extraAnnotations },
    keys: { total: tables.keys.length, ...count(tables.keys), extra: extraKeys },
  };
}

const e2e = e2eCounts();
const settings = settingsCounts();

if (!quiet) {
  const cases = E2E_STATUSES.reduce((sum, status) => sum + e2e.totals[status], 0);
  console.log(`ingress-nginx e2e cases (${E2E_DOC}): ${cases}`);
  for (const status of E2E_STATUSES) console.log(`  ${E2E_LABELS[status].padEnd(32)} ${e2e.totals[status]}`);
  for (const [issue, count] of [...e2e.planned].sort()) console.log(`    planned in issue ${issue}: ${count}`);
  console.log(`\nper directory (${E2E_STATUSES.join(' / ')}):`);
  for (const [directory, counts] of e2e.byDirectory) {
    const total = E2E_STATUSES.reduce((sum, status) => sum + counts[status], 0);
    console.log(
      `  ${directory.padEnd(16)} ${String(total).padStart(4)}: ${E2E_STATUSES.map((status) => counts[status]).join(' / ')}`,
    );
  }
  if (e2e.toFlip.length) {
    console.log(`\nnamed by a test but not marked covered (flip them if that test checks the case by behaviour):`);
    for (const row of e2e.toFlip) console.log(`  ${row}`);
  }
  if (e2e.unknown.length) {
    console.log(`\nnamed by a test but not in ${E2E_DOC} (check the file and title):`);
    for (const row of e2e.unknown) console.log(`  ${row}`);
  }
  for (const [what, counts] of [
    ['annotations', settings.annotations],
    ['ConfigMap keys', settings.keys],
  ]) {
    console.log(`\n${what} (${SETTINGS_DOC}): ${counts.total}`);
    console.log(`  honoured: ${counts.yes}, pending: ${counts.pending}, planned: ${counts.planned}`);
    console.log(`  deliberately not: ${counts.deliberate}, not honoured: ${counts.no}`);
    if (counts.extra.length) console.log(`  read here, not in ingress-nginx's list: ${counts.extra.join(', ')}`);
  }
}
if (failures.length) {
  console.error(`\n${failures.length} problem(s):`);
  for (const failure of failures) console.error(`  ${failure}`);
  process.exit(1);
}
