import assert from 'node:assert/strict';
import { FAMILIES } from '../../src/model/annotations/index.js';
import type { AnyFamily } from '../../src/model/annotations/index.js';
import { USE_REGEX } from '../../src/model/annotations/rewrite.js';
import { finishingOrder, locationAnnotationsFor, regexPathProblem } from '../../src/model/family-passes.js';
import { ingress } from '../helpers/resources.js';

describe('model/family-passes', () => {
  describe('finishingOrder', () => {
    const family = (name: string, finishAfter?: string[]): AnyFamily => ({
      name,
      keys: [],
      finish: () => [],
      ...(finishAfter ? { finishAfter } : {}),
    });

    it('keeps the list order, moving a family after those it names', () => {
      const order = finishingOrder([
        family('a', ['c']),
        family('b'),
        { name: 'no-pass', keys: [] },
        family('c'),
        family('d', ['a']),
      ]);
      assert.deepEqual(
        order.map((each) => each.name),
        ['b', 'c', 'a', 'd'],
      );
    });

    it('runs custom-errors before external-auth, then redirect (the order of their problems)', () => {
      assert.deepEqual(
        finishingOrder(FAMILIES).map((each) => each.name),
        ['custom-errors', 'external-auth', 'redirect', 'mirror'],
      );
    });

    it('refuses a cycle and a name with no finishing pass', () => {
      assert.throws(() => finishingOrder([family('a', ['b']), family('b', ['a'])]), /cycle: a, b/);
      assert.throws(() => finishingOrder([family('a', ['nope'])]), /names no family with a finishing pass: nope/);
    });
  });

  it('gives each location of a regex Ingress the config the families derive from its path', () => {
    const ann = { proxy: { readTimeout: 30 }, rewrite: { target: '/$2' } } as Parameters<
      typeof locationAnnotationsFor
    >[0];
    assert.deepEqual(locationAnnotationsFor(ann, '/api(/|$)(.*)'), {
      proxy: { readTimeout: 30 },
      rewrite: { target: '/$2', regex: '(?i)/api(/|$)(.*)' },
    });
    // the path that is the target itself needs no rewrite; without one the map is the Ingress's own
    assert.deepEqual(locationAnnotationsFor({ rewrite: { target: '/' } }, '/'), {});
    const plain = { proxy: { readTimeout: 30 } } as Parameters<typeof locationAnnotationsFor>[0];
    assert.equal(locationAnnotationsFor(plain, '/x'), plain);
  });

  it('checks a regex path only for an Ingress whose annotations make its paths regexes', () => {
    const regex = ingress({ name: 'r', annotations: { [USE_REGEX]: 'true' } });
    assert.match(String(regexPathProblem(regex, '/a(b')), /not a valid regular expression/);
    assert.equal(regexPathProblem(regex, '/a(b)?'), null);
    assert.equal(regexPathProblem(ingress({ name: 'p' }), '/a(b'), null);
    assert.ok(FAMILIES.some((family) => family.regexPaths?.key === USE_REGEX));
  });
});
