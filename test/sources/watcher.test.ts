import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { watchDirectory } from '../../src/sources/watcher.js';
import { tempDir } from './helpers.js';

// Collects reasons and lets a test wait for one that matches.
class Recorder {
  readonly reasons: string[] = [];
  private waiters: { test: (reason: string) => boolean; resolve: () => void }[] = [];

  readonly onEvent = (why: string): void => {
    this.reasons.push(why);
    const met = this.waiters.filter((w) => w.test(why));
    this.waiters = this.waiters.filter((w) => !met.includes(w));
    for (const waiter of met) waiter.resolve();
  };

  waitFor(test: RegExp, ms = 8000): Promise<void> {
    const from = this.reasons.length;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no event matching ${test} in ${ms} ms; got: ${JSON.stringify(this.reasons)}`)),
        ms,
      );
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      // Only events after this call count.
      if (this.reasons.slice(from).some((r) => test.test(r))) return done();
      this.waiters.push({ test: (r) => test.test(r), resolve: done });
    });
  }

  /** Runs action and waits for an event matching test; events from the moment action starts count. */
  async expect(test: RegExp, action: () => unknown): Promise<void> {
    const seen = this.waitFor(test);
    await Promise.all([seen, (async () => action())()]);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sources/watcher watchDirectory', function () {
  this.timeout(20000);
  let dir: string;
  let cleanup: () => Promise<void>;
  let watcher: { close(): Promise<void> } | undefined;
  beforeEach(async () => ({ dir, cleanup } = await tempDir('watch')));
  afterEach(async () => {
    await watcher?.close();
    watcher = undefined;
    await cleanup();
  });

  /** Watches root (closed by afterEach) and waits until it is watching. */
  async function start(root: string): Promise<Recorder> {
    const rec = new Recorder();
    await rec.expect(/^watching /, () => {
      watcher = watchDirectory(root, rec.onEvent);
    });
    return rec;
  }

  it('signals when a file is added, changed and removed', async () => {
    const rec = await start(dir);
    await rec.expect(/cafe\.yaml/, () => writeFile(path.join(dir, 'cafe.yaml'), 'a: 1\n'));
    await rec.expect(/change .*cafe\.yaml/, () => writeFile(path.join(dir, 'cafe.yaml'), 'a: 2\n'));
    await rec.expect(/tea\.yaml/, async () => {
      await mkdir(path.join(dir, 'sub'));
      await writeFile(path.join(dir, 'sub', 'tea.yaml'), 'a: 1\n');
    });
    await rec.expect(/unlink .*cafe\.yaml/, () => rm(path.join(dir, 'cafe.yaml')));
  });

  it('signals every one of several rewrites of the same file within 50 ms (chokidar throttles its change events)', async () => {
    const file = path.join(dir, 'ep.yaml');
    await writeFile(file, 'a: 0\n');
    const rec = await start(dir);
    for (let i = 1; i <= 3; i++) {
      // an atomic replace, as kubectl-style tools do, 20 ms after the previous one
      await rec.expect(/ep\.yaml/, async () => {
        await writeFile(`${file}.tmp`, `a: ${i}\n`);
        await rename(`${file}.tmp`, file);
      });
      await sleep(20);
    }
  });
  it('signals a ConfigMap volume swap of ..data', async () => {
    await mkdir(path.join(dir, '..2026_a'));
    await writeFile(path.join(dir, '..2026_a', 'cafe.yaml'), 'a: 1\n');
    await symlink('..2026_a', path.join(dir, '..data'));
    await symlink('..data/cafe.yaml', path.join(dir, 'cafe.yaml'));
    const rec = await start(dir);
    await rec.expect(/\.\.data/, async () => {
      await mkdir(path.join(dir, '..2026_b'));
      await writeFile(path.join(dir, '..2026_b', 'cafe.yaml'), 'a: 2\n');
      await symlink('..2026_b', path.join(dir, '..data_tmp'));
      await rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    });
  });

  it('waits for a root that does not exist yet', async () => {
    const root = path.join(dir, 'later');
    const rec = new Recorder();
    watcher = watchDirectory(root, rec.onEvent);
    await sleep(1200);
    await rec.expect(/^watching /, () => mkdir(root));
    await rec.expect(/cafe\.yaml/, () => writeFile(path.join(root, 'cafe.yaml'), 'a: 1\n'));
  });

  it('keeps working when the root is deleted and recreated', async () => {
    const root = path.join(dir, 'manifests');
    await mkdir(root);
    const rec = await start(root);
    await rec.expect(/removed|unlinkDir/, () => rm(root, { recursive: true }));
    await sleep(1200); // let the poll notice the absence
    await rec.expect(/^watching /, () => mkdir(root));
    await rec.expect(/tea\.yaml/, () => writeFile(path.join(root, 'tea.yaml'), 'a: 1\n'));
  });

  it('notices a root deleted and recreated at once (same inode number possible)', async () => {
    const root = path.join(dir, 'manifests');
    await mkdir(root);
    const rec = await start(root);
    await rec.expect(/^watching /, () => {
      // Synchronously, so no check can run in between and see the root missing.
      rmSync(root, { recursive: true });
      mkdirSync(root);
    });
    await rec.expect(/tea\.yaml/, () => writeFile(path.join(root, 'tea.yaml'), 'a: 1\n'));
  });

  it('sends nothing after close', async () => {
    const rec = await start(dir);
    await watcher!.close();
    const count = rec.reasons.length;
    await writeFile(path.join(dir, 'late.yaml'), 'a: 1\n');
    await sleep(500);
    assert.equal(rec.reasons.length, count, JSON.stringify(rec.reasons));
  });
});
