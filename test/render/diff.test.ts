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
      fc.property(text, text, fc.integer({ min: 0, max: 4 }), (a, b, context) => {
        const patch = unifiedDiff('old', 'new', a, b, context);
        assert.equal(applyPatch(a, patch), b, patch);
      }),
      { numRuns: 3000, seed: 20261207 },
    );
  });

  it('keeps, removes and adds every line once, in order', () => {
    fc.assert(
      fc.property(text, text, (a, b) => {
        const ops = diffLines(splitLines(a), splitLines(b));
        assert.deepEqual(
          ops.filter((o) => o.kind !== '+').map((o) => o.line),
          splitLines(a),
        );
        assert.deepEqual(
          ops.filter((o) => o.kind !== '-').map((o) => o.line),
          splitLines(b),
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
        (n, at, removed, added, nl) => {
          const a = Array.from({ length: n }, (_, i) => `line ${i}`);
          const start = Math.min(at, n);
          const b = [
            ...a.slice(0, start),
            ...Array.from({ length: added }, (_, i) => `new ${i}`),
            ...a.slice(Math.min(n, start + removed)),
          ];
          const join = (ls: string[]) => ls.join('\n') + (nl && ls.length ? '\n' : '');
          assert.equal(
            unifiedDiff('old', 'new', join(a), join(b)),
            createTwoFilesPatch('old', 'new', join(a), join(b), undefined, undefined, { context: 3 }),
          );
        },
      ),
      { numRuns: 2000, seed: 20261207 },
    );
  });

  it('anchors on lines found once in each text: a moved block is one removal and one addition', () => {
    const block = ['location = "/a" {', '    set $x "a";', '}'];
    const rest = Array.from({ length: 50 }, (_, i) => `# line ${i}`);
    const a = `${[...block, ...rest].join('\n')}\n`;
    const b = `${[...rest, ...block].join('\n')}\n`;
    const ops = diffLines(splitLines(a), splitLines(b));
    assert.equal(ops.filter((o) => o.kind === ' ').length, 50);
    assert.equal(applyPatch(a, unifiedDiff('old', 'new', a, b)), b);
  });

  it('shows a large piece without a line found once in each text removed and added whole', () => {
    const a = `${Array.from({ length: 3000 }, (_, i) => (i % 2 ? '}' : 'proxy_pass http://x;')).join('\n')}\n`;
    const b = `${Array.from({ length: 3000 }, (_, i) => (i % 3 ? '}' : 'return 503;')).join('\n')}\n`;
    const ops = diffLines(splitLines(a), splitLines(b));
    // the last line, "}" in both, is kept; nothing else lines up once in each
    assert.equal(ops.map((o) => o.kind).join(''), `${'-'.repeat(2999) + '+'.repeat(2999)} `);
    assert.equal(applyPatch(a, unifiedDiff('old', 'new', a, b)), b);
  });
});
