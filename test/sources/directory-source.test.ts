// src/sources/directory-source.ts over a real directory and watcher: a load reads the files the watcher
// named, and a file held back as possibly half written is looked at again when it is due.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Metrics } from '../../src/metrics.js';
import { IN_PLACE_QUIET_MS } from '../../src/sources/manifest-set.js';
import { DirectorySource } from '../../src/sources/directory-source.js';
import { waitFor } from '../helpers/wait.js';
import { FakeClock, recordingLog } from '../helpers/sync-fakes.js';

const svc = (name: string, port = 80) =>
  `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: default}\nspec: {ports: [{port: ${port}}]}\n`;

describe('sources/directory-source', () => {
  let dir: string;
  let source: DirectorySource;
  let changes = 0;
  let clock: FakeClock;
  const metrics = new Metrics();
  const names = () => source.store.list('Service').map((service) => `${service.meta.name}:${service.ports[0]!.port}`);

  beforeEach(async () => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'itp-directory-source-')));
    fs.writeFileSync(path.join(dir, 'a.yaml'), svc('a'));
    clock = new FakeClock(Date.now());
    changes = 0;
    source = new DirectorySource({ root: dir, log: recordingLog().log, metrics, clock });
    source.start(() => changes++);
    await waitFor(() => changes > 0, { what: 'the watcher ready' }); // names no file: the first load is full
    assert.equal(await source.load(false), true);
    assert.deepEqual(names(), ['a:80']);
  });
  afterEach(async () => {
    await source.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loads what the watcher noticed', async () => {
    changes = 0;
    fs.writeFileSync(path.join(dir, 'b.yaml.tmp'), svc('b'));
    fs.renameSync(path.join(dir, 'b.yaml.tmp'), path.join(dir, 'b.yaml'));
    await waitFor(() => changes > 0, { what: 'the change noticed' });
    assert.equal(await source.load(false), true);
    assert.deepEqual(names(), ['a:80', 'b:80']);
    const scans = metrics.fullScans;
    assert.equal(await source.load(true), false, 'a full load finds nothing new');
    assert.equal(metrics.fullScans, scans + 1);
  });

  it('a file rewritten in place is held back, and looked at again when it is due', async () => {
    const file = path.join(dir, 'a.yaml');
    fs.writeFileSync(file, svc('a', 81)); // same inode, just written: maybe half written
    await waitFor(() => changes > 1, { what: 'the change noticed' });
    assert.equal(await source.load(false), false);
    assert.deepEqual(names(), ['a:80']);
    // the write has been quiet long enough by the time the recheck comes
    await new Promise((resolve) => setTimeout(resolve, IN_PLACE_QUIET_MS + 50));
    const before = changes;
    await clock.advance(IN_PLACE_QUIET_MS + 100);
    assert.equal(changes, before + 1, 'the recheck names the file');
    assert.equal(await source.load(false), true);
    assert.deepEqual(names(), ['a:81']);
  });

  it('after stop() no change is reported and no recheck is pending', async () => {
    fs.writeFileSync(path.join(dir, 'a.yaml'), svc('a', 82));
    await waitFor(() => changes > 1, { what: 'the change noticed' });
    await source.load(false); // holds it: a recheck timer
    assert.equal(clock.pending, 1);
    await source.stop();
    assert.equal(clock.pending, 0);
    const before = changes;
    fs.writeFileSync(path.join(dir, 'c.yaml'), svc('c'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(changes, before);
  });
});
