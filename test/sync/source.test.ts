// src/sync/source.ts: several sources as one (the directory beside, later, the Kubernetes API).
import assert from 'node:assert/strict';
import type { Problem } from '../../src/resources.js';
import { Store } from '../../src/store.js';
import { combineSources } from '../../src/sync/source.js';
import { service } from '../helpers/resources.js';
import { FakeSource } from '../helpers/sync-fakes.js';

describe('sync/source', () => {
  it('combineSources: one store, every source loaded, problems and rejections added up', async () => {
    const store = new Store();
    const files = new FakeSource(store);
    const api = new FakeSource(store);
    const problem: Problem = { severity: 'error', file: 'x.yaml', message: 'bad' };
    files.sourceProblems = [problem];
    files.rejected = 2;
    api.rejected = 1;
    const both = combineSources(files, api);
    let changes = 0;
    both.start(() => changes++);
    files.put('a.yaml', service({ name: 'a' }));
    api.put('b', service({ name: 'b' }));
    assert.equal(changes, 2);
    assert.equal(await both.load(false), true);
    assert.deepEqual([files.loads, api.loads], [[false], [false]]);
    assert.deepEqual(
      store.list('Service').map((svc) => svc.meta.name),
      ['a', 'b'],
    );
    assert.equal(await both.load(true), false, 'nothing changed since');
    assert.deepEqual(api.loads, [false, true]);
    api.put('b', service({ name: 'c' }));
    assert.equal(await both.load(false), true, 'one source changed');
    assert.deepEqual(both.problems(), [problem]);
    assert.equal(both.rejectedCount(), 3);
    await both.stop();
    assert.ok(files.stopped && api.stopped);
  });
});
