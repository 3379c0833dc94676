// render --diff's unified diff (src/render/diff.ts): patience anchors, Myers between them when small.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applyPatch, createTwoFilesPatch } from 'diff';
import { diffLines, splitLines, unifiedDiff } from '../../src/render/diff.js';

// few distinct lines, so that most repeat (as "}" and "proxy_pass ...;" do in a config)
const LINES = fc.constantFrom('}', '    }', 'location / {', 'proxy_pass http://x;', '', 'a', 'b', 'c', '# x');
const text = fc
  .tuple(fc.array(LINES, { maxLength: 40 }), fc.boolean())
  .map(([ls, nl]) => ls.join('\n') + (nl && ls.length ? '\n' : ''));

describe('render diff (unified, for render --diff)', () => {
  it('is a patch that turns the old text into the new one', () => {
    fc.assert(
      fc.property(text, text, fc.integer({ min: 0, max: 4 }), (oldText, newText, context) => {
        const patch = unifiedDiff('old', 'new', oldText, newText, context);
        assert.equal(applyPatch(oldText, patch), newText, patch);
      }),
      { numRuns: 3000, seed: 20261207 },
    );
  });

  it('keeps, removes and adds every line once, in order', () => {
    fc.assert(
      fc.property(text, text, (oldText, newText) => {
        const ops = diffLines(splitLines(oldText), splitLines(newText));
        assert.deepEqual(
          ops.filter((o) => o.kind !== '+').map((o) => o.line),
          splitLines(oldText),
        );
        assert.deepEqual(
          ops.filter((o) => o.kind !== '-').map((o) => o.line),
          splitLines(newText),
        );
      }),
      { numRuns: 2000, seed: 20261207 },
    );
  });

  it('writes what createTwoFilesPatch writes where the change is plain: one run of distinct lines replaced', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 5 }),
        fc.boolean(),
        (count, at, removed, added, nl) => {
          const oldLines = Array.from({ length: count }, (_, i) => `line ${i}`);
          const start = Math.min(at, count);
          const newLines = [
            ...oldLines.slice(0, start),
            ...Array.from({ length: added }, (_, i) => `new ${i}`),
            ...oldLines.slice(Math.min(count, start + removed)),
          ];
          const join = (ls: string[]) => ls.join('\n') + (nl && ls.length ? '\n' : '');
          assert.equal(
            unifiedDiff('old', 'new', join(oldLines), join(newLines)),
            createTwoFilesPatch('old', 'new', join(oldLines), join(newLines), undefined, undefined, { context: 3 }),
          );
        },
      ),
      { numRuns: 2000, seed: 20261207 },
    );
  });

  it('anchors on lines found once in each text: a moved block is one removal and one addition', () => {
    const block = ['location = "/a" {', '    set $x "a";', '}'];
    const rest = Array.from({ length: 50 }, (_, i) => `# line ${i}`);
    const oldText = `${[...block, ...rest].join('\n')}\n`;
    const newText = `${[...rest, ...block].join('\n')}\n`;
    const ops = diffLines(splitLines(oldText), splitLines(newText));
    assert.equal(ops.filter((o) => o.kind === ' ').length, 50);
    assert.equal(applyPatch(oldText, unifiedDiff('old', 'new', oldText, newText)), newText);
  });

  it('shows a large piece without a line found once in each text removed and added whole', () => {
    const oldText = `${Array.from({ length: 3000 }, (_, i) => (i % 2 ? '}' : 'proxy_pass http://x;')).join('\n')}\n`;
    const newText = `${Array.from({ length: 3000 }, (_, i) => (i % 3 ? '}' : 'return 503;')).join('\n')}\n`;
    const ops = diffLines(splitLines(oldText), splitLines(newText));
    // the last line, "}" in both, is kept; nothing else lines up once in each
    assert.equal(ops.map((o) => o.kind).join(''), `${'-'.repeat(2999) + '+'.repeat(2999)} `);
    assert.equal(applyPatch(oldText, unifiedDiff('old', 'new', oldText, newText)), newText);
  });
});
