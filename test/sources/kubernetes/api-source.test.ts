// The API source over hand-driven watches and the real store: events become store changes only when the loop
// loads, a relist replaces a kind at once, a refused update keeps the last good version, and the kinds and
// paths watched follow --watch-namespace and --configmap.
import assert from 'node:assert/strict';
import { referencedObjects } from '../../../src/model/references.js';
import { ApiSource, watchedKinds } from '../../../src/sources/kubernetes/api-source.js';
import type { KindWatch, ObjectFeed, WatchedKind } from '../../../src/sources/kubernetes/api-source.js';
import { Store } from '../../../src/store.js';
import { apiObject } from '../../helpers/api-objects.js';
import { OPTIONS } from '../../helpers/resources.js';

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
    const secrets = everywhere.find((watched) => watched.kind === 'Secret')!;
    assert.equal(secrets.fieldSelector, 'type=kubernetes.io/tls', 'only TLS Secrets as a kind');
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

  it('an update of what is not kept (status, resourceVersion) and a relist of the same objects change nothing', async () => {
    const { store, source, feed } = await listed();
    feed('Ingress').replace([ingressNamed('a'), ingressNamed('b')]);
    assert.equal(await source.load(false), true);
    store.takeChanges();
    // the status this controller (or another) writes: a new resourceVersion, status, managedFields
    const published = ingressNamed('a');
    published.metadata.resourceVersion = '999';
    published.status = { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } };
    feed('Ingress').upsert(published);
    assert.equal(await source.load(false), false, 'nothing for the loop to plan');
    feed('Ingress').replace([ingressNamed('b'), published]);
    assert.equal(await source.load(false), false, 'a relist after a 410 finds the same objects');
    assert.deepEqual(store.takeChanges(), []);
    feed('Ingress').upsert(ingressNamed('a', 'changed.example.com'));
    assert.equal(await source.load(false), true);
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

  describe('Secrets and ConfigMaps named by the Ingresses, watched one by one', () => {
    /** The source with references as run wires them; watches keyed by kind, or "Kind ns/name" when named. */
    function named(namedListWaitMs = 2000) {
      const store = new Store();
      const watches = new Map<string, HandWatch>();
      const kinds = watchedKinds({});
      let lookups = 0;
      const source = new ApiSource({
        store,
        kinds,
        watch: (kind) => {
          const watch = new HandWatch();
          const name = kind.fieldSelector?.startsWith('metadata.name=') ? kind.fieldSelector.slice(14) : null;
          const namespace = kind.path.split('/namespaces/')[1]?.split('/')[0];
          watches.set(name ? `${kind.kind} ${namespace}/${name}` : kind.kind, watch);
          return watch;
        },
        log: () => undefined,
        references: (current) => {
          lookups++;
          return referencedObjects(current, OPTIONS);
        },
        namedListWaitMs,
      });
      source.start(() => undefined);
      for (const kind of kinds) watches.get(kind.kind)!.feed!.replace([]);
      return { store, source, watches, lookups: () => lookups };
    }

    function opaque(name: string, password = 'secret') {
      const object = apiObject('Secret');
      object.metadata.name = name;
      object.type = 'Opaque';
      object.data = { auth: Buffer.from(`user:${password}`).toString('base64') };
      return object;
    }

    function guarded(name: string, secretName: string) {
      const object = ingressNamed(name);
      object.spec.tls = [];
      object.metadata.annotations = {
        'nginx.ingress.kubernetes.io/auth-type': 'basic',
        'nginx.ingress.kubernetes.io/auth-secret': secretName,
      };
      return object;
    }

    it('an Opaque Secret an annotation names gets its own watch by name; the load waits for its list', async () => {
      const { store, source, watches } = named();
      watches.get('Ingress')!.feed!.replace([guarded('a', 'users')]);
      const loading = source.load(false);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const watch = watches.get('Secret default/users');
      assert.ok(watch, 'a watch of that one Secret');
      assert.equal(source.namedWatches, 1);
      watch.feed!.replace([opaque('users')]);
      assert.equal(await loading, true);
      assert.deepEqual(
        store.list('Secret').map((secret) => `${secret.meta.name} ${secret.type}`),
        ['users Opaque'],
      );
      // its changes arrive through its own watch
      watch.feed!.upsert(opaque('users', 'rotated'));
      assert.equal(await source.load(false), true);
      assert.equal(store.list('Secret')[0]!.data.auth, Buffer.from('user:rotated').toString('base64'));
    });

    it('no longer named: the watch stops and the Secret leaves the store', async () => {
      const { store, source, watches } = named();
      watches.get('Ingress')!.feed!.replace([guarded('a', 'users')]);
      const loading = source.load(false);
      await new Promise((resolve) => setTimeout(resolve, 20));
      watches.get('Secret default/users')!.feed!.replace([opaque('users')]);
      await loading;
      watches.get('Ingress')!.feed!.remove(guarded('a', 'users'));
      assert.equal(await source.load(false), true);
      assert.equal(watches.get('Secret default/users')!.stopped, true);
      assert.equal(source.namedWatches, 0);
      assert.deepEqual(store.list('Secret'), []);
    });

    it('a TLS Secret the kind already holds is not watched again; a missing one is, until it appears', async () => {
      const { store, source, watches } = named();
      const tls = apiObject('Secret'); // web-tls, kubernetes.io/tls, named by the captured Ingress's spec.tls
      watches.get('Secret')!.feed!.replace([tls]);
      watches.get('Ingress')!.feed!.replace([apiObject('Ingress')]);
      await source.load(false);
      assert.equal(source.namedWatches, 0);
      assert.equal(store.list('Secret').length, 1);

      const other = ingressNamed('b');
      other.spec.tls[0].secretName = 'b-tls';
      watches.get('Ingress')!.feed!.upsert(other);
      const loading = source.load(false);
      await new Promise((resolve) => setTimeout(resolve, 20));
      watches.get('Secret default/b-tls')!.feed!.replace([]);
      await loading;
      assert.equal(source.namedWatches, 1, 'watched by name while missing');
      // cert-manager writes it: both watches see it; the kind keeps it, the watch by name ends
      const issued = apiObject('Secret');
      issued.metadata.name = 'b-tls';
      watches.get('Secret default/b-tls')!.feed!.upsert(issued);
      watches.get('Secret')!.feed!.upsert(issued);
      await source.load(false);
      assert.equal(source.namedWatches, 0);
      assert.equal(watches.get('Secret default/b-tls')!.stopped, true);
      assert.deepEqual(
        store
          .list('Secret')
          .map((secret) => secret.meta.name)
          .sort(),
        ['b-tls', 'web-tls'],
      );
    });

    it('a named Secret whose list does not come in time: the load goes on without it, and it arrives later', async () => {
      const { store, source, watches } = named(50);
      watches.get('Ingress')!.feed!.replace([guarded('a', 'users')]);
      assert.equal(await source.load(false), true);
      assert.deepEqual(store.list('Secret'), [], 'planned without it');
      watches.get('Secret default/users')!.feed!.replace([opaque('users')]);
      assert.equal(await source.load(false), true);
      assert.equal(store.list('Secret').length, 1);
    });

    it('an EndpointSlice or Service change does not look for names (the endpoint fast path stays fast)', async () => {
      const { source, watches, lookups } = named(20);
      await source.load(false);
      const before = lookups();
      watches.get('EndpointSlice')!.feed!.upsert(apiObject('EndpointSlice'));
      watches.get('Service')!.feed!.upsert(apiObject('Service'));
      assert.equal(await source.load(false), true);
      assert.equal(lookups(), before);
      watches.get('Ingress')!.feed!.upsert(ingressNamed('a'));
      await source.load(false);
      assert.ok(lookups() > before, 'an Ingress change does');
    });

    it('stop() stops the named watches too', async () => {
      const { source, watches } = named(10);
      watches.get('Ingress')!.feed!.replace([guarded('a', 'users')]);
      await source.load(false);
      await source.stop();
      assert.equal(watches.get('Secret default/users')!.stopped, true);
    });
  });
});
