// The controller's own status writes come back as Ingress watch events: one whose only change is its status
// (with the resourceVersion and managedFields that come with it) must change nothing in the store and make
// the API source report no change, so the loop does not plan again for each Ingress the leader writes.
import assert from 'node:assert/strict';
import { ApiSource, watchedKinds } from '../../src/sources/kubernetes/api-source.js';
import type { KindWatch, ObjectFeed } from '../../src/sources/kubernetes/api-source.js';
import { Store } from '../../src/store.js';
import { apiObject } from '../helpers/api-objects.js';

async function listedSource() {
  const store = new Store();
  const feeds = new Map<string, ObjectFeed>();
  const source = new ApiSource({
    store,
    kinds: watchedKinds({}),
    watch: (kind): KindWatch => ({
      start: (feed) => void feeds.set(kind.kind, feed),
      stop: async () => undefined,
    }),
    log: () => undefined,
  });
  source.start(() => undefined);
  for (const kind of watchedKinds({})) feeds.get(kind.kind)!.replace([]);
  await source.load(false);
  return { store, source, ingresses: feeds.get('Ingress')! };
}

describe('publish: a status write does not make the controller sync again', () => {
  it('an Ingress whose only change is its status: no store change, and the load reports none', async () => {
    const { store, source, ingresses } = await listedSource();
    const ingress = apiObject('Ingress');
    ingresses.upsert(structuredClone(ingress));
    assert.equal(await source.load(false), true);
    assert.equal(store.takeChanges().length, 1);

    const written = structuredClone(ingress);
    written.metadata.resourceVersion = '999';
    written.metadata.managedFields.push({ manager: 'ingress-templater', operation: 'Update', subresource: 'status' });
    written.status = { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } };
    ingresses.upsert(written);
    assert.equal(await source.load(false), false, 'nothing the controller reads changed');
    assert.deepEqual(store.takeChanges(), []);

    // a change of what it reads still counts
    const edited = structuredClone(written);
    edited.spec.rules[0].host = 'moved.example.com';
    ingresses.upsert(edited);
    assert.equal(await source.load(false), true);
    assert.deepEqual(
      store.takeChanges().map((change) => change.key),
      ['Ingress/default/web'],
    );
  });

  it('a refused update after a good one, then the good one again: each is a change (its problems come and go)', async () => {
    const { source, ingresses } = await listedSource();
    const ingress = apiObject('Ingress');
    ingresses.upsert(structuredClone(ingress));
    await source.load(false);
    const broken = structuredClone(ingress);
    broken.spec.rules[0].host = 'Not A Host';
    ingresses.upsert(broken);
    assert.equal(await source.load(false), true);
    assert.equal(source.rejectedCount(), 1);
    ingresses.upsert(structuredClone(ingress));
    assert.equal(await source.load(false), true, 'the refusal is gone: the problems change');
    assert.equal(source.rejectedCount(), 0);
  });
});
