// Shared test helpers for the sources tests.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { parseManifests, type LoadResult } from '../../src/sources/loader.js';
import { formatProblem, type Problem } from '../../src/resources.js';

export type Doc = Record<string, unknown>;

export function parse(doc: Doc | string, file = 'test.yaml'): LoadResult {
  return parseManifests(typeof doc === 'string' ? doc : stringify(doc), file);
}

/** A deep copy of doc with the value at path replaced (undefined deletes it). */
export function withField(doc: Doc, at: (string | number)[], value: unknown): Doc {
  const copy = structuredClone(doc);
  let cur: Record<string | number, unknown> = copy;
  for (let i = 0; i < at.length - 1; i++) {
    const key = at[i]!;
    cur[key] ??= typeof at[i + 1] === 'number' ? [] : {};
    cur = cur[key] as Record<string | number, unknown>;
  }
  const last = at[at.length - 1]!;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
  return copy;
}

export const show = (problems: Problem[]) => problems.map(formatProblem).join('\n') || '(no problems)';

/** Asserts the document is rejected with an error on `field` whose message contains `snippet`. */
export function assertRejected(loaded: LoadResult, field: string, snippet?: string): Problem {
  assert.equal(loaded.resources.length, 0, `expected rejection, got a resource; problems:\n${show(loaded.problems)}`);
  assert.equal(loaded.parseFailed, false);
  const problem = loaded.problems.find((q) => q.field === field);
  assert.ok(problem, `no problem on field ${field}:\n${show(loaded.problems)}`);
  assert.equal(problem.severity, 'error');
  assert.equal(problem.file, 'test.yaml');
  assert.ok(typeof problem.line === 'number' && problem.line >= 1);
  if (snippet !== undefined)
    assert.ok(problem.message.includes(snippet), `message ${JSON.stringify(problem.message)} lacks ${snippet}`);
  for (const reported of loaded.problems)
    assert.doesNotMatch(reported.message, /[\n\r\u0000-\u001f\u2028\u202e]/, 'raw control character in message');
  return problem;
}

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
