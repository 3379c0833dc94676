import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, readdir, realpath, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { scanDirectory } from '../../src/sources/scan.js';
import { show, tempDir } from './helpers.js';

async function put(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
}

// The layout kubelet writes for a ConfigMap volume, one generation.
async function configMapGeneration(dir: string, gen: string, files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) await put(path.join(dir, gen, name), content);
  await symlink(gen, path.join(dir, '..data_tmp'));
  // The atomic swap: rename over the old link.
  await rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
}

describe('sources/scan scanDirectory', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir('scan')));
  afterEach(() => cleanup());

  it('lists manifests recursively, sorted, skipping hidden entries and other extensions', async () => {
    await put(path.join(dir, 'b.yaml'), 'b');
    await put(path.join(dir, 'a.yml'), 'a');
    await put(path.join(dir, 'sub', 'deeper', 'c.json'), 'c');
    await put(path.join(dir, 'sub', 'z.yaml'), 'z');
    await put(path.join(dir, 'notes.txt'), 'x');
    await put(path.join(dir, 'README'), 'x');
    await put(path.join(dir, 'x.yaml.bak'), 'x');
    await put(path.join(dir, '.hidden.yaml'), 'x');
    await put(path.join(dir, '.git', 'config.yaml'), 'x');
    const { files, problems } = await scanDirectory(dir);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      files.map((f) => f.rel),
      ['a.yml', 'b.yaml', 'sub/deeper/c.json', 'sub/z.yaml'],
    );
    const real = await realpath(dir);
    assert.equal(files[2]!.abs, path.join(real, 'sub', 'deeper', 'c.json'));
  });

  it('changes the signature of a changed file only', async () => {
    await put(path.join(dir, 'a.yaml'), 'one');
    await put(path.join(dir, 'b.yaml'), 'two');
    const before = (await scanDirectory(dir)).files;
    await writeFile(path.join(dir, 'a.yaml'), 'one more');
    await utimes(path.join(dir, 'a.yaml'), new Date(), new Date(Date.now() + 5000));
    const after = (await scanDirectory(dir)).files;
    assert.notEqual(after[0]!.signature, before[0]!.signature);
    assert.equal(after[1]!.signature, before[1]!.signature);
  });

  it('reads a ConfigMap volume through ..data and sees an atomic swap', async () => {
    await configMapGeneration(dir, '..2026_11_27_10_00_00.1', { 'ingress.yaml': 'gen a', 'svc.yaml': 'svc a' });
    await symlink('..data/ingress.yaml', path.join(dir, 'ingress.yaml'));
    await symlink('..data/svc.yaml', path.join(dir, 'svc.yaml'));
    const first = await scanDirectory(dir);
    assert.deepEqual(first.problems, []);
    assert.deepEqual(
      first.files.map((f) => f.rel),
      ['ingress.yaml', 'svc.yaml'],
    );
    for (const file of first.files) assert.match(file.abs, /\.\.2026_11_27_10_00_00\.1/);
    assert.equal(await readFile(first.files[0]!.abs, 'utf8'), 'gen a');

    await configMapGeneration(dir, '..2026_11_27_10_05_00.2', { 'ingress.yaml': 'gen b', 'svc.yaml': 'svc b' });
    await rm(path.join(dir, '..2026_11_27_10_00_00.1'), { recursive: true });
    const second = await scanDirectory(dir);
    assert.deepEqual(second.problems, []);
    assert.deepEqual(
      second.files.map((f) => f.rel),
      ['ingress.yaml', 'svc.yaml'],
    );
    for (const file of second.files) assert.match(file.abs, /\.\.2026_11_27_10_05_00\.2/);
    assert.equal(await readFile(second.files[0]!.abs, 'utf8'), 'gen b');
    assert.notEqual(second.files[0]!.signature, first.files[0]!.signature);
  });

  it('never mixes two ConfigMap generations in one scan, even while ..data is swapped', async function () {
    this.timeout(20000);
    const names = Array.from({ length: 200 }, (_, i) => `m${String(i).padStart(3, '0')}.yaml`);
    for (const gen of ['..gen_a', '..gen_b']) {
      await mkdir(path.join(dir, gen));
      await Promise.all(names.map((n) => writeFile(path.join(dir, gen, n), gen)));
    }
    await symlink('..gen_a', path.join(dir, '..data'));
    await Promise.all(names.map((n) => symlink(`..data/${n}`, path.join(dir, n))));
    for (let round = 0; round < 3; round++) {
      let scanning = true;
      const scan = scanDirectory(dir).finally(() => (scanning = false));
      // Swap back and forth for as long as the scan runs.
      for (let i = 0; scanning; i++) {
        await symlink(i % 2 ? '..gen_a' : '..gen_b', path.join(dir, '..data_tmp'));
        await rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
      }
      const { files, problems } = await scan;
      assert.deepEqual(problems, []);
      assert.equal(files.length, names.length);
      const gens = new Set(files.map((f) => path.basename(path.dirname(f.abs))));
      assert.equal(gens.size, 1, `mixed generations: ${[...gens].join(', ')}`);
    }
  });

  it('follows a ConfigMap volume link to a nested directory', async () => {
    await configMapGeneration(dir, '..2026_a', { 'apps/cafe.yaml': 'x' });
    await symlink('..data/apps', path.join(dir, 'apps'));
    const { files, problems } = await scanDirectory(dir);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      files.map((f) => [f.rel, path.basename(path.dirname(path.dirname(f.abs)))]),
      [['apps/cafe.yaml', '..2026_a']],
    );
  });

  it('does not follow a symlink to outside the root, and reports it', async () => {
    const outside = await tempDir('scan-outside');
    try {
      await put(path.join(outside.dir, 'secret.yaml'), 'x');
      await symlink(path.join(outside.dir, 'secret.yaml'), path.join(dir, 'evil.yaml'));
      await symlink(outside.dir, path.join(dir, 'evildir'));
      await symlink('../../etc', path.join(dir, 'up'));
      await put(path.join(dir, 'ok.yaml'), 'x');
      const { files, problems } = await scanDirectory(dir);
      assert.deepEqual(
        files.map((f) => f.rel),
        ['ok.yaml'],
      );
      const reported = problems.map((p) => [p.severity, p.file]).sort();
      assert.deepEqual(
        reported,
        [
          ['warning', 'evil.yaml'],
          ['warning', 'evildir'],
          ['warning', 'up'],
        ],
        show(problems),
      );
      for (const problem of problems) assert.match(problem.message, /outside/);
    } finally {
      await outside.cleanup();
    }
  });

  it('follows a symlink inside the root, even into a hidden folder', async () => {
    await put(path.join(dir, '.store', 'app.yaml'), 'x');
    await symlink('.store/app.yaml', path.join(dir, 'app.yaml'));
    const { files, problems } = await scanDirectory(dir);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      files.map((f) => [f.rel, f.abs]),
      [['app.yaml', path.join(await realpath(dir), '.store', 'app.yaml')]],
    );
  });

  it('survives symlink loops and reports broken links', async () => {
    await put(path.join(dir, 'sub', 'a.yaml'), 'x');
    await symlink('..', path.join(dir, 'sub', 'loop'));
    await symlink('nowhere.yaml', path.join(dir, 'broken.yaml'));
    const { files, problems } = await scanDirectory(dir);
    assert.deepEqual(
      files.map((f) => f.rel),
      ['sub/a.yaml'],
    );
    assert.deepEqual(problems.map((p) => p.file).sort(), ['broken.yaml', 'sub/loop']);
  });

  it('reports a missing root as an error and returns no files', async () => {
    const { files, problems } = await scanDirectory(path.join(dir, 'missing'));
    assert.deepEqual(files, []);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.severity, 'error');
    assert.match(problems[0]!.message, /missing.*ENOENT/);
  });

  it('reports an unreadable subdirectory and keeps scanning', async function () {
    await put(path.join(dir, 'locked', 'a.yaml'), 'x');
    await put(path.join(dir, 'open.yaml'), 'x');
    await chmod(path.join(dir, 'locked'), 0o000);
    try {
      // root (and CAP_DAC_OVERRIDE) can read it anyway: nothing to test then.
      if (
        await readdir(path.join(dir, 'locked')).then(
          () => true,
          () => false,
        )
      )
        this.skip();
      const { files, problems } = await scanDirectory(dir);
      assert.deepEqual(
        files.map((f) => f.rel),
        ['open.yaml'],
      );
      assert.deepEqual(
        problems.map((p) => [p.file, p.severity]),
        [['locked', 'error']],
      );
      assert.match(problems[0]!.message, /EACCES/);
    } finally {
      await chmod(path.join(dir, 'locked'), 0o755);
    }
  });
});
