import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManifestSet } from '../../src/sources/manifest-set.js';

const svc = (name: string) =>
  `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: default}\nspec: {ports: [{port: 80}]}\n`;

describe('ManifestSet', () => {
  let dir: string;
  let outside: string;
  let set: ManifestSet;
  const names = () =>
    set.store
      .list('Service')
      .map((s) => s.meta.name)
      .sort();
  const write = (rel: string, text: string) => {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.tmp`, text);
    fs.renameSync(`${file}.tmp`, file);
    return file;
  };
  beforeEach(async () => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'itp-pipeline-')));
    outside = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-pipeline-out-'));
    write('a.yaml', svc('a'));
    set = new ManifestSet(dir);
    await set.refresh();
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });

  it('reads only the files it is told about, without scanning the directory', async () => {
    const file = write('sub/b.yaml', svc('b'));
    write('c.yaml', svc('c')); // not named: not seen yet
    assert.equal(await set.refresh([file]), true);
    assert.deepEqual(names(), ['a', 'b']);
    assert.equal(set.fullScans, 1);
    fs.rmSync(file);
    assert.equal(await set.refresh([file, path.join(dir, '.b.yaml.tmp')]), true);
    assert.deepEqual(names(), ['a']);
    assert.equal(await set.refresh([file]), false, 'already gone');
    assert.equal(set.fullScans, 1);
    assert.equal(await set.refresh(), true, 'a full scan finds c');
    assert.deepEqual(names(), ['a', 'c']);
  });

  it('scans everything when a named path is a directory, a symlink, or outside the root', async () => {
    fs.mkdirSync(path.join(dir, 'd'));
    fs.writeFileSync(path.join(dir, 'd', 'x.yaml'), svc('x'));
    assert.equal(await set.refresh([path.join(dir, 'd')]), true);
    assert.deepEqual(names(), ['a', 'x']);
    assert.equal(set.fullScans, 2);
    await set.refresh([path.join(outside, 'y.yaml')]);
    assert.equal(set.fullScans, 3);
  });

  it('keeps what it loaded before falling back to a full scan (a vanished symlink named with a new file)', async () => {
    fs.writeFileSync(path.join(outside, 'o.yaml'), svc('o'));
    const link = path.join(dir, 'dir-link');
    fs.symlinkSync(outside, link);
    await set.refresh([link]);
    assert.match(
      set
        .problems()
        .map((p) => p.message)
        .join('\n'),
      /outside/,
    );
    fs.unlinkSync(link);
    await set.refresh([link]);
    assert.deepEqual(set.problems(), []);
    const mid = write('mid.yaml', svc('mid'));
    // the late event of the removed link comes with the new file's: the new file still counts as a change
    assert.equal(await set.refresh([mid, link]), true);
    assert.deepEqual(names(), ['a', 'mid']);
  });

  it('under a symlink anywhere, every refresh is a full scan (paths in events and in the tree differ)', async () => {
    fs.mkdirSync(path.join(dir, 'real'));
    fs.symlinkSync('real', path.join(dir, 'alias'));
    await set.refresh();
    const scans = set.fullScans;
    const file = write('real/z.yaml', svc('z'));
    await set.refresh([file]);
    assert.equal(set.fullScans, scans + 1);
    assert.deepEqual(names(), ['a', 'z']);
  });
});
