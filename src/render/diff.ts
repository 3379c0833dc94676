// A unified diff of two configs for `render --diff`, in the format of the diff package's
// createTwoFilesPatch. Its Myers diff costs time in (lines x edits) and memory to match: a config of
// 5,000 paths diffed against one of other hosts ran for more than ten minutes. Here lines that occur
// once in each text anchor the diff (patience diff: the longest run of them in the same order), the
// texts between anchors are diffed the same way, and only small pieces without any such line go to the
// Myers diff; a large piece without one is shown removed and added whole.
import { diffArrays, formatPatch } from 'diff';

export type LineOp = { kind: ' ' | '-' | '+'; line: string };

// a piece without anchors up to this many lines (old + new) gets the Myers diff (at most this squared)
const MYERS_LINES = 2000;

/** The lines of a text, each with its '\n' (the last may have none), as the diff package splits them. */
export function splitLines(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', start)) {
    out.push(text.slice(start, i + 1));
    start = i + 1;
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

type Task = { a0: number; a1: number; b0: number; b1: number } | { same: number; count: number };

/** Every line of oldLines and newLines, in order, as kept, removed or added. */
export function diffLines(oldLines: string[], newLines: string[]): LineOp[] {
  const ops: LineOp[] = [];
  // a stack of pieces still to diff, the next on top: no recursion, however deep the pieces nest
  const stack: Task[] = [{ a0: 0, a1: oldLines.length, b0: 0, b1: newLines.length }];
  while (stack.length) {
    const task = stack.pop()!;
    if ('same' in task) {
      for (let i = 0; i < task.count; i++) ops.push({ kind: ' ', line: oldLines[task.same + i]! });
      continue;
    }
    let { a0, a1, b0, b1 } = task;
    while (a0 < a1 && b0 < b1 && oldLines[a0] === newLines[b0]) {
      ops.push({ kind: ' ', line: oldLines[a0++]! });
      b0++;
    }
    let tail = 0;
    while (a0 < a1 - tail && b0 < b1 - tail && oldLines[a1 - tail - 1] === newLines[b1 - tail - 1]) tail++;
    if (tail) stack.push({ same: a1 - tail, count: tail });
    a1 -= tail;
    b1 -= tail;
    if (a0 === a1 || b0 === b1) {
      for (let i = a0; i < a1; i++) ops.push({ kind: '-', line: oldLines[i]! });
      for (let i = b0; i < b1; i++) ops.push({ kind: '+', line: newLines[i]! });
      continue;
    }
    const anchors = uniqueCommon(oldLines, a0, a1, newLines, b0, b1);
    if (!anchors.length) {
      leaf(oldLines.slice(a0, a1), newLines.slice(b0, b1), ops);
      continue;
    }
    // pieces between anchors, pushed last first
    let endA = a1;
    let endB = b1;
    for (let k = anchors.length - 1; k >= 0; k--) {
      const [ai, bi] = anchors[k]!;
      stack.push({ a0: ai + 1, a1: endA, b0: bi + 1, b1: endB });
      stack.push({ same: ai, count: 1 });
      endA = ai;
      endB = bi;
    }
    stack.push({ a0, a1: endA, b0, b1: endB });
  }
  return ops;
}

/** Lines once in oldLines[a0..a1) and once in newLines[b0..b1): the longest run of them in the same order, as index pairs. */
function uniqueCommon(
  oldLines: string[],
  a0: number,
  a1: number,
  newLines: string[],
  b0: number,
  b1: number,
): [number, number][] {
  const inA = new Map<string, number>(); // line -> its index, or -1 when it occurs more than once
  for (let i = a0; i < a1; i++) inA.set(oldLines[i]!, inA.has(oldLines[i]!) ? -1 : i);
  const inB = new Map<string, number>();
  for (let j = b0; j < b1; j++) if (inA.has(newLines[j]!)) inB.set(newLines[j]!, inB.has(newLines[j]!) ? -1 : j);
  const pairs: [number, number][] = [];
  for (let i = a0; i < a1; i++) {
    const inNew = inA.get(oldLines[i]!) === i ? inB.get(oldLines[i]!) : undefined;
    if (inNew !== undefined && inNew >= 0) pairs.push([i, inNew]);
  }
  // the longest increasing run of newLines indexes (patience sorting: piles by binary search, back links)
  const tops: number[] = []; // tops[k]: index into pairs of the smallest last element of a run of length k + 1
  const back = new Array<number>(pairs.length);
  for (let pairIndex = 0; pairIndex < pairs.length; pairIndex++) {
    const newIndex = pairs[pairIndex]![1];
    let lo = 0;
    let hi = tops.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pairs[tops[mid]!]![1] < newIndex) lo = mid + 1;
      else hi = mid;
    }
    back[pairIndex] = lo > 0 ? tops[lo - 1]! : -1;
    tops[lo] = pairIndex;
  }
  const run: [number, number][] = [];
  for (let pairIndex = tops.length ? tops[tops.length - 1]! : -1; pairIndex >= 0; pairIndex = back[pairIndex]!)
    run.push(pairs[pairIndex]!);
  return run.reverse();
}

/** A piece with no line once in each: the Myers diff when small, else all removed, then all added. */
function leaf(oldLines: string[], newLines: string[], ops: LineOp[]): void {
  if (oldLines.length + newLines.length <= MYERS_LINES) {
    for (const change of diffArrays(oldLines, newLines))
      for (const line of change.value) ops.push({ kind: change.removed ? '-' : change.added ? '+' : ' ', line });
    return;
  }
  for (const line of oldLines) ops.push({ kind: '-', line });
  for (const line of newLines) ops.push({ kind: '+', line });
}

interface Hunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  lines: string[];
}

/** The unified diff of two texts with `context` lines around each change, as createTwoFilesPatch writes it. */
export function unifiedDiff(oldName: string, newName: string, oldText: string, newText: string, context = 3): string {
  const ops = diffLines(splitLines(oldText), splitLines(newText));
  const hunks: Hunk[] = [];
  const show = (op: LineOp) => {
    const nl = op.line.endsWith('\n');
    const text = `${op.kind}${nl ? op.line.slice(0, -1) : op.line}`;
    return nl ? [text] : [text, '\\ No newline at end of file'];
  };
  let oldLine = 1; // of ops[at]
  let newLine = 1;
  let at = 0;
  while (at < ops.length) {
    if (ops[at]!.kind === ' ') {
      oldLine++;
      newLine++;
      at++;
      continue;
    }
    // a change at `at`: the hunk starts up to `context` kept lines before it
    const lead = countKeptBefore(ops, at, context);
    const hunk: Hunk = {
      oldStart: oldLine - lead,
      oldLines: lead,
      newStart: newLine - lead,
      newLines: lead,
      lines: [],
    };
    for (let k = at - lead; k < at; k++) hunk.lines.push(...show(ops[k]!));
    // take changes and the kept lines between them while no more than 2 x context kept lines separate two
    while (at < ops.length) {
      const op = ops[at]!;
      if (op.kind !== ' ') {
        hunk.lines.push(...show(op));
        if (op.kind === '-') {
          hunk.oldLines++;
          oldLine++;
        } else {
          hunk.newLines++;
          newLine++;
        }
        at++;
        continue;
      }
      let run = 0;
      while (at + run < ops.length && ops[at + run]!.kind === ' ') run++;
      const last = at + run === ops.length;
      if (last || run > 2 * context) {
        const take = Math.min(context, run);
        for (let k = at; k < at + take; k++) hunk.lines.push(...show(ops[k]!));
        hunk.oldLines += take;
        hunk.newLines += take;
        oldLine += run;
        newLine += run;
        at += run;
        break;
      }
      for (let k = at; k < at + run; k++) hunk.lines.push(...show(ops[k]!));
      hunk.oldLines += run;
      hunk.newLines += run;
      oldLine += run;
      newLine += run;
      at += run;
    }
    hunks.push(hunk);
  }
  return formatPatch({ oldFileName: oldName, newFileName: newName, oldHeader: undefined, newHeader: undefined, hunks });
}

function countKeptBefore(ops: LineOp[], at: number, most: number): number {
  let kept = 0;
  while (kept < most && at - kept - 1 >= 0 && ops[at - kept - 1]!.kind === ' ') kept++;
  return kept;
}
