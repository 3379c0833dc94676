// The API source over hand-driven watches and the real store: events become store changes only when the loop
// loads, a relist replaces a kind at once, a refused update keeps the last good version, and the kinds and
// paths watched follow --watch-namespace and --configmap.
import assert from 'node:assert/strict';
import { ApiSource, watchedKinds } from '../../../src/sources/kubernetes/api-source.js';
import type { KindWatch, ObjectFeed, WatchedKind } from '../../../src/sources/kubernetes/api-source.js';
import { Store } from '../../../src/store.js';
import { apiObject } from '../../helpers/api-objects.js';

class HandWatch implements KindWatch {
  feed: ObjectFeed | null = null;
  stopped = false;
  start(feed: ObjectFeed): void {
    this.feed = feed;
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
}

function setup(kinds: WatchedKind[] = watchedKinds({})) {
  const store = new Store();
  const watches = new Map<string, HandWatch>();
  const source = new ApiSource({
    store,
    kinds,
    watch: (kind) => {
      const watch = new HandWatch();
      watches.set(kind.kind, watch);
      return watch;
    },
    log: () => undefined,
  });
  let changes = 0;
  source.start(() => changes++);
  const feed = (kind: string) => watches.get(kind)!.feed!;
  return { store, source, watches, feed, changes: () => changes };
}

/** setup(), with every kind listed once (empty) and loaded, as after the controller's start. */
async function listed(kinds?: WatchedKind[]) {
  const parts = setup(kinds);
  for (const kind of kinds ?? watchedKinds({})) parts.feed(kind.kind).replace([]);
  await parts.source.load(false);
  return parts;
}

function ingressNamed(name: string, host = `${name}.example.com`) {
  const object = apiObject('Ingress');
  object.metadata.name = name;
  object.spec.rules[0].host = host;
  object.spec.tls[0].hosts = [host];
  return object;
}

const ingressNames = (store: Store) => store.list('Ingress').map((ingress) => ingress.meta.name);

describe('sources/kubernetes/api-source', () => {
  it('watches the kinds the controller reads, in the namespace and with the ConfigMap it is given', () => {
    const everywhere = watchedKinds({});
    assert.deepEqual(
      everywhere.map((kind) => kind.kind),
      ['Ingress', 'IngressClass', 'Service', 'EndpointSlice', 'Secret'],
    );
    assert.equal(everywhere[0]!.path, '/apis/networking.k8s.io/v1/ingresses');
    const scoped = watchedKinds({ namespace: 'shop', configMap: { namespace: 'ingress', name: 'settings' } });
    const pathOf = (kind: string) => scoped.find((watched) => watched.kind === kind)!;
    assert.equal(pathOf('Ingress').path, '/apis/networking.k8s.io/v1/namespaces/shop/ingresses');
    assert.equal(pathOf('IngressClass').path, '/apis/networking.k8s.io/v1/ingressclasses', 'cluster-wide');
    assert.equal(pathOf('Service').path, '/api/v1/namespaces/shop/services');
    assert.equal(pathOf('EndpointSlice').labelSelector, 'kubernetes.io/service-name');
    assert.equal(pathOf('ConfigMap').path, '/api/v1/namespaces/ingress/configmaps');
    assert.equal(pathOf('ConfigMap').fieldSelector, 'metadata.name=settings');
  });

  it('the first load waits until every kind has been listed once', async () => {
    const { store, source, feed } = setup();
    feed('Ingress').replace([ingressNamed('a')]);
    let loaded = false;
    const first = source.load(false).then(() => {
      loaded = true;
    });
    for (const kind of ['IngressClass', 'Service', 'EndpointSlice']) feed(kind).replace([]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(loaded, false, 'Secrets not listed yet');
    assert.deepEqual(ingressNames(store), []);
    feed('Secret').replace([]);
    await first;
    assert.deepEqual(ingressNames(store), ['a']);
  });

  it('says a change happened at once, and changes the store only when the loop loads', async () => {
    const { store, source, feed, changes } = await listed();
    assert.equal(await source.load(false), false, 'a load with nothing pending changes nothing');
    const before = changes();
    feed('Ingress').replace([ingressNamed('a'), ingressNamed('b')]);
    assert.equal(changes(), before + 1);
    assert.deepEqual(ingressNames(store), [], 'nothing before the load');
    assert.equal(await source.load(false), true);
    assert.deepEqual(ingressNames(store).sort(), ['a', 'b']);
  });

  it('applies a list, then updates and deletes, one object at a time', async () => {
    const { store, source, feed } = await listed();
    feed('Ingress').replace([ingressNamed('a'), ingressNamed('b')]);
    assert.equal(await source.load(false), true);
    assert.deepEqual(ingressNames(store).sort(), ['a', 'b']);
    store.takeChanges();

    feed('Ingress').upsert(ingressNamed('b', 'moved.example.com'));
    feed('Ingress').remove(ingressNamed('a'));
    assert.equal(await source.load(false), true);
    assert.deepEqual(ingressNames(store), ['b']);
    const [only] = store.list('Ingress');
    assert.equal(only!.rules[0]!.host, 'moved.example.com');
    const changed = store.takeChanges().map((change) => `${change.key}:${change.after ? 'set' : 'gone'}`);
    assert.deepEqual(changed.sort(), ['Ingress/default/a:gone', 'Ingress/default/b:set']);
    assert.equal(await source.load(false), false, 'nothing pending: nothing applied');
  });

  it('a relist replaces the kind at once: missing objects go, unchanged ones cause no change', async () => {
    const { store, source, feed } = await listed();
    feed('Ingress').replace([ingressNamed('a'), ingressNamed('b'), ingressNamed('c')]);
    await source.load(false);
    store.takeChanges();
    // while disconnected, b was deleted and c edited; events queued before the relist are superseded by it
    feed('Ingress').upsert(ingressNamed('zombie'));
    feed('Ingress').replace([ingressNamed('a'), ingressNamed('c', 'c2.example.com')]);
    await source.load(false);
    assert.deepEqual(ingressNames(store).sort(), ['a', 'c']);
    const changed = store.takeChanges().map((change) => change.key);
    assert.deepEqual(changed.sort(), ['Ingress/default/b', 'Ingress/default/c'], 'a is not flapped');
  });

  it('a refused update keeps the last good version and is reported by object and field until fixed', async () => {
    const { store, source, feed } = await listed();
    feed('Ingress').replace([ingressNamed('a')]);
    await source.load(false);
    const bad = ingressNamed('a');
    bad.spec.rules[0].host = 'bad_host';
    feed('Ingress').upsert(bad);
    await source.load(false);
    assert.equal(store.list('Ingress')[0]!.rules[0]!.host, 'a.example.com', 'the last good version serves');
    assert.equal(source.rejectedCount(), 1);
    const [problem] = source.problems();
    assert.equal(problem!.object, 'Ingress default/a');
    assert.match(problem!.field ?? '', /spec\.rules\[0\]\.host/);
    feed('Ingress').upsert(ingressNamed('a', 'fixed.example.com'));
    await source.load(false);
    assert.equal(source.rejectedCount(), 0);
    assert.deepEqual(source.problems(), []);
    assert.equal(store.list('Ingress')[0]!.rules[0]!.host, 'fixed.example.com');
  });

  it('list items without kind and apiVersion are read as the watched kind', async () => {
    const { store, source, feed } = await listed();
    const item = apiObject('Service');
    delete item.kind;
    delete item.apiVersion;
    feed('Service').replace([item]);
    await source.load(false);
    assert.equal(store.list('Service').length, 1);
  });

  it('stop() stops every watch, and nothing that arrives after it is taken', async () => {
    const { store, source, watches, feed, changes } = await listed();
    const feedBeforeStop = feed('Ingress');
    await source.stop();
    assert.ok([...watches.values()].every((watch) => watch.stopped));
    const before = changes();
    feedBeforeStop.upsert(ingressNamed('late'));
    assert.equal(changes(), before);
    await source.load(false);
    assert.deepEqual(ingressNames(store), []);
  });
});
