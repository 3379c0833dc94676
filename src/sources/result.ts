// What loading one file gives (LoadResult) and what parsing one may cost (ParseLimits): shared by the
// loader, the parser pool and its workers.
import type { Problem, Resource } from '../resources.js';

export interface LoadResult {
  resources: Resource[];
  problems: Problem[];
  rejected: string[];
  parseFailed: boolean;
}

/**
 * What one file may cost to parse. A manifests file is small and plain; a hostile one can make the YAML
 * library's work grow far faster than its size (an error per anchor on one line, one stack frame and CST
 * token per '[', a Document per '---'), so each limit is checked as the text is lexed or a document is
 * composed, and the first one hit refuses the file. The parse runs in a worker (parse-pool.ts) whose
 * memory cap and deadline stop whatever these limits miss.
 */
export interface ParseLimits {
  /** nesting of collections (flow or block), counted on the parser's stack */
  depth: number;
  /** anchors (&a), aliases (*a) and tags (!t), each */
  anchors: number;
  aliases: number;
  tags: number;
  documents: number;
  /** tokens of the text (scalars, indicators, comments; not spaces or line breaks): a bound on time */
  tokens: number;
  /** the same in one document, which is held whole while it is composed: a bound on memory */
  documentTokens: number;
  /** nodes of the composed documents, an alias counting as the nodes it stands for */
  nodes: number;
}

export const PARSE_LIMITS: Readonly<ParseLimits> = {
  depth: 100,
  anchors: 1000,
  aliases: 1000,
  tags: 1000,
  documents: 20_000,
  tokens: 2_000_000,
  documentTokens: 500_000,
  nodes: 500_000,
};

export const emptyResult = (): LoadResult => ({ resources: [], problems: [], rejected: [], parseFailed: false });

export function failed(file: string, line: number | undefined, message: string): LoadResult {
  const problem: Problem = { severity: 'error', file, ...(line ? { line } : {}), message };
  return { ...emptyResult(), problems: [problem], parseFailed: true };
}
