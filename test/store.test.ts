import assert from 'node:assert/strict';
import { Store } from '../src/store.js';
import type { FileContent } from '../src/store.js';
import type { Resource } from '../src/resources.js';
import { ingress, secret, service, slice } from './helpers/resources.js';

const ok = (...resources: Resource[]): FileContent => ({ resources, rejected: [], parseFailed: false });
const names = (rs: { meta: { namespace: string; name: string } }[]) =>
  rs.map((r) => `${r.meta.namespace}/${r.meta.name}`);

describe('Store', () => {
  it('indexes resources by kind, namespace and name', () => {
    const store = new Store();
    const notes = store.setFile(
      'a.yaml',
      ok(service({ name: 'web' }), service({ name: 'web', namespace: 'shop' }), ingress({ name: 'web' })),
    );
    assert.deepEqual(notes, []);
    assert.equal(store.get('Service', 'default', 'web')?.meta.namespace, 'default');
    assert.equal(store.get('Service', 'shop', 'web')?.meta.namespace, 'shop');
    assert.equal(store.get('Ingress', 'default', 'web')?.kind, 'Ingress');
    assert.equal(store.get('Service', 'default', 'nope'), undefined);
    assert.equal(store.get('Secret', 'default', 'web'), undefined, 'kind is part of the key');
    assert.deepEqual(names(store.list('Service')), ['default/web', 'shop/web']);
    assert.deepEqual(store.list('Endpoints'), []);
  });

  it('lists objects in file path order, whatever order the files were set in', () => {
    const store = new Store();
    store.setFile('b.yaml', ok(service({ name: 'two' })));
    store.setFile('a.yaml', ok(service({ name: 'one' })));
    store.setFile('c/d.yaml', ok(service({ name: 'three' })));
    assert.deepEqual(names(store.list('Service')), ['default/one', 'default/two', 'default/three']);
    assert.deepEqual(store.files().sort(), ['a.yaml', 'b.yaml', 'c/d.yaml']);
  });

  it('replaces what a file contributes, dropping objects it no longer defines', () => {
    const store = new Store();
    store.setFile('a.yaml', ok(service({ name: 'one' }), service({ name: 'two' })));
    assert.equal(store.list('Service').length, 2);
    store.setFile('a.yaml', ok(service({ name: 'two', ports: [{ name: 'web', port: 81 }] })));
    assert.deepEqual(names(store.list('Service')), ['default/two']);
    assert.equal(store.get('Service', 'default', 'two')?.ports[0]?.port, 81);
    assert.equal(store.get('Service', 'default', 'one'), undefined);
  });

  it('holds(): the file has exactly this one object with this content, wherever it was read', () => {
    const store = new Store();
    const web = service({ name: 'web' });
    store.setFile('api:Service/default/web', { resources: [web], rejected: [], parseFailed: false });
    assert.equal(
      store.holds('api:Service/default/web', { ...service({ name: 'web' }), source: { file: 'x', line: 9 } }),
      true,
    );
    assert.equal(store.holds('api:Service/default/web', service({ name: 'web', clusterIP: '10.0.0.1' })), false);
    assert.equal(store.holds('api:Service/default/other', web), false);
    store.setFile('two.yaml', { resources: [web, service({ name: 'api' })], rejected: [], parseFailed: false });
    assert.equal(store.holds('two.yaml', web), false);
  });

  it('removes a file and everything it defined', () => {
    const store = new Store();
    store.setFile('a.yaml', ok(service({ name: 'one' })));
    store.setFile('b.yaml', ok(service({ name: 'two' })));
    store.removeFile('a.yaml');
    assert.deepEqual(names(store.list('Service')), ['default/two']);
    assert.deepEqual(store.files(), ['b.yaml']);
    store.removeFile('never-there.yaml');
    assert.deepEqual(names(store.list('Service')), ['default/two']);
  });

  it('keeps the last good content of a file that no longer parses, with a warning', () => {
    const store = new Store();
    store.setFile('a.yaml', ok(service({ name: 'one' }), service({ name: 'two' })));
    const notes = store.setFile('a.yaml', { resources: [], rejected: [], parseFailed: true });
    assert.equal(notes.length, 1);
    assert.equal(notes[0]!.severity, 'warning');
    assert.equal(notes[0]!.file, 'a.yaml');
    assert.match(notes[0]!.message, /last good content.*2 objects/);
    assert.deepEqual(names(store.list('Service')), ['default/one', 'default/two']);
  });

  it('says nothing about an unparseable new file and adds nothing', () => {
    const store = new Store();
    assert.deepEqual(store.setFile('new.yaml', { resources: [], rejected: [], parseFailed: true }), []);
    assert.deepEqual(store.list('Service'), []);
  });

  it('keeps the last good version of an object whose update was rejected', () => {
    const store = new Store();
    store.setFile(
      'a.yaml',
      ok(service({ name: 'one', ports: [{ name: 'http', port: 80 }] }), service({ name: 'two' })),
    );
    const notes = store.setFile('a.yaml', {
      resources: [service({ name: 'two' })],
      rejected: ['Service/default/one'],
      parseFailed: false,
    });
    assert.equal(notes.length, 1);
    assert.equal(notes[0]!.severity, 'warning');
    assert.equal(notes[0]!.object, 'Service default/one');
    assert.match(notes[0]!.message, /last good version/);
    assert.equal(store.get('Service', 'default', 'one')?.ports[0]?.port, 80);
    assert.deepEqual(names(store.list('Service')).sort(), ['default/one', 'default/two']);
  });

  it('does not invent an object for a rejected key it never had, nor keep one from another file', () => {
    const store = new Store();
    store.setFile('b.yaml', ok(service({ name: 'one' })));
    const notes = store.setFile('a.yaml', {
      resources: [],
      rejected: ['Service/default/one', 'Service/default/ghost'],
      parseFailed: false,
    });
    assert.deepEqual(notes, []);
    assert.deepEqual(names(store.list('Service')), ['default/one']);
    store.removeFile('b.yaml');
    assert.deepEqual(store.list('Service'), []);
  });

  it('drops a rejected object that the file then removes for good', () => {
    const store = new Store();
    store.setFile('a.yaml', ok(service({ name: 'one' })));
    store.setFile('a.yaml', { resources: [], rejected: ['Service/default/one'], parseFailed: false });
    assert.ok(store.get('Service', 'default', 'one'));
    store.setFile('a.yaml', ok());
    assert.equal(store.get('Service', 'default', 'one'), undefined);
  });

  it('reports an object defined twice; the first file in path order wins', () => {
    const store = new Store();
    const late = service({ name: 'web', file: 'b.yaml', ports: [{ name: 'http', port: 82 }] });
    const early = service({ name: 'web', file: 'a.yaml', ports: [{ name: 'http', port: 81 }] });
    store.setFile('b.yaml', ok(late));
    store.setFile('a.yaml', ok(early));
    assert.equal(store.get('Service', 'default', 'web')?.ports[0]?.port, 81);
    assert.equal(store.list('Service').length, 1);
    const dupes = store.duplicates();
    assert.equal(dupes.length, 1);
    assert.equal(dupes[0]!.severity, 'error');
    assert.equal(dupes[0]!.file, 'b.yaml');
    assert.equal(dupes[0]!.line, late.source.line);
    assert.equal(dupes[0]!.object, 'Service default/web');
    assert.ok(dupes[0]!.message.includes(`a.yaml:${early.source.line}`), dupes[0]!.message);
    // removing the winner lets the other definition in, and the duplicate report goes away
    store.removeFile('a.yaml');
    assert.equal(store.get('Service', 'default', 'web')?.ports[0]?.port, 82);
    assert.deepEqual(store.duplicates(), []);
  });

  it('reports a duplicate within one file and keeps the first', () => {
    const store = new Store();
    store.setFile(
      'a.yaml',
      ok(secret({ name: 's', crt: 'one', key: 'k' }), secret({ name: 's', crt: 'two', key: 'k' })),
    );
    assert.equal(store.list('Secret').length, 1);
    assert.equal(Buffer.from(store.get('Secret', 'default', 's')!.data['tls.crt']!, 'base64').toString(), 'one');
    assert.equal(store.duplicates().length, 1);
  });

  it('re-indexes after every change, not only the first', () => {
    const store = new Store();
    store.setFile('a.yaml', ok(service({ name: 'one' })));
    assert.equal(store.list('Service').length, 1);
    store.setFile('b.yaml', ok(service({ name: 'two' })));
    assert.equal(store.list('Service').length, 2);
    assert.ok(store.get('Service', 'default', 'two'));
  });
});

describe('Store.takeChanges', () => {
  const keys = (store: Store) =>
    store
      .takeChanges()
      .map((c) => `${c.key}:${c.before ? 'b' : '-'}${c.after ? 'a' : '-'}`)
      .sort();

  it('records added, edited and removed objects once, then starts afresh', () => {
    const store = new Store();
    store.setFile('a.yaml', ok(service({ name: 'web' }), service({ name: 'api' })));
    assert.deepEqual(keys(store), ['Service/default/api:-a', 'Service/default/web:-a']);
    assert.deepEqual(keys(store), []);
    store.setFile('a.yaml', ok(service({ name: 'web', ports: [{ port: 81 }] })));
    assert.deepEqual(keys(store), ['Service/default/api:b-', 'Service/default/web:ba']);
    store.removeFile('a.yaml');
    assert.deepEqual(keys(store), ['Service/default/web:b-']);
  });

  it('a file read again with the same content, or the same objects on other lines, is no change', () => {
    const store = new Store();
    store.setFile('a.yaml', ok(service({ name: 'web' }), ingress({ name: 'web' })));
    store.takeChanges();
    store.setFile('a.yaml', ok(ingress({ name: 'web' }), service({ name: 'web' })));
    assert.deepEqual(keys(store), []);
    assert.equal(store.list('Service').length, 1);
  });

  it('an edit that is undone before anyone asked is no change', () => {
    const store = new Store();
    store.setFile('a.yaml', ok(service({ name: 'web' })));
    store.takeChanges();
    store.setFile('a.yaml', ok(service({ name: 'web', ports: [{ port: 81 }] })));
    store.setFile('a.yaml', ok(service({ name: 'web' })));
    assert.deepEqual(keys(store), []);
  });

  it('a duplicate taking over when the first definition goes away is a change', () => {
    const store = new Store();
    store.setFile('a.yaml', ok(service({ name: 'web' })));
    store.setFile('b.yaml', ok(service({ name: 'web', ports: [{ port: 81 }] })));
    assert.equal(store.duplicates().length, 1);
    store.takeChanges();
    store.removeFile('a.yaml');
    assert.deepEqual(keys(store), ['Service/default/web:ba']);
    assert.equal(store.get('Service', 'default', 'web')?.ports[0]?.port, 81);
    assert.deepEqual(store.duplicates(), []);
  });
});

describe('Store.slicesOf', () => {
  it('finds the EndpointSlices of a Service as they are added, relabelled, shadowed and removed', () => {
    const store = new Store();
    const of = (svc: string) =>
      store.slicesOf('default', svc).map((s) => `${s.meta.name}:${s.endpoints.map((e) => e.addresses[0]).join('+')}`);
    store.setFile(
      'b.yaml',
      ok(
        slice({ name: 's1', service: 'web', endpoints: ['10.0.0.1'] }),
        slice({ name: 's2', service: 'web', endpoints: ['10.0.0.2'] }),
      ),
    );
    assert.deepEqual(of('web'), ['s1:10.0.0.1', 's2:10.0.0.2']);
    store.setFile(
      'b.yaml',
      ok(
        slice({ name: 's1', service: 'web', endpoints: ['10.0.0.1'] }),
        slice({ name: 's2', service: 'api', endpoints: ['10.0.0.2'] }),
      ),
    );
    assert.deepEqual(of('web'), ['s1:10.0.0.1']);
    assert.deepEqual(of('api'), ['s2:10.0.0.2']);
    store.setFile('a.yaml', ok(slice({ name: 's1', service: 'web', endpoints: ['10.0.0.9'] }))); // a.yaml comes first: it wins
    assert.deepEqual(of('web'), ['s1:10.0.0.9']);
    store.removeFile('a.yaml');
    store.removeFile('b.yaml');
    assert.deepEqual(of('web'), []);
    assert.deepEqual(of('api'), []);
    assert.deepEqual(store.list('EndpointSlice'), []);
  });
});
