// The helpers that read and write a family's entry in the maps keyed by family name (location, server and
// http configs): withConfig copies, setConfig and addItems change the map they are given.
import assert from 'node:assert/strict';
import { addItems, configIn, setConfig, withConfig } from '../../../src/model/annotations/family.js';

const cors = { name: 'cors' };
const proxy = { name: 'proxy' };

describe('model/annotations/family', () => {
  it("configIn: the family's entry, undefined when it has none", () => {
    const map = { cors: { origin: '*' }, proxy: { bodySize: '1m' } };
    assert.deepEqual(configIn(map, cors), { origin: '*' });
    assert.equal(configIn(map, { name: 'rewrite' }), undefined);
    assert.equal(configIn({}, cors), undefined);
  });

  it('withConfig: a new map with the entry set or replaced; the old map is untouched', () => {
    const old = { proxy: { bodySize: '1m' } };
    const added = withConfig(old, cors, { origin: '*' });
    assert.notEqual(added, old);
    assert.deepEqual(added, { proxy: { bodySize: '1m' }, cors: { origin: '*' } });
    assert.deepEqual(old, { proxy: { bodySize: '1m' } });
    const replaced = withConfig(added, cors, { origin: 'https://a.example' });
    assert.deepEqual(replaced, { proxy: { bodySize: '1m' }, cors: { origin: 'https://a.example' } });
    assert.deepEqual(added.cors, { origin: '*' });
  });

  it("withConfig: undefined removes the family's entry (no key left), other entries stay", () => {
    const old = { proxy: { bodySize: '1m' }, cors: { origin: '*' } };
    const removed = withConfig(old, cors, undefined);
    assert.deepEqual(removed, { proxy: { bodySize: '1m' } });
    assert.equal(Object.hasOwn(removed, 'cors'), false);
    assert.deepEqual(Object.keys(old), ['proxy', 'cors']);
    assert.deepEqual(withConfig({}, proxy, undefined), {});
  });

  it('withConfig: falsy configs other than undefined are kept', () => {
    assert.deepEqual(withConfig({}, cors, false), { cors: false });
    assert.deepEqual(withConfig({}, cors, null), { cors: null });
  });

  it('setConfig: sets the entry in place', () => {
    const map: Record<string, unknown> = { proxy: 1 };
    setConfig(map, cors, { origin: '*' });
    setConfig(map, proxy, 2);
    assert.deepEqual(map, { proxy: 2, cors: { origin: '*' } });
  });

  it("addItems: appends to the family's list, creating it on first use", () => {
    const map: Record<string, unknown[]> = {};
    addItems(map, cors, ['a']);
    addItems(map, cors, ['b', 'c']);
    addItems(map, proxy, []);
    assert.deepEqual(map, { cors: ['a', 'b', 'c'], proxy: [] });
    const list = map.cors;
    addItems(map, cors, ['d']);
    assert.equal(map.cors, list, 'the same list, appended to');
    assert.deepEqual(list, ['a', 'b', 'c', 'd']);
  });
});
