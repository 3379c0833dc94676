// Files under the nginx prefix (src/nginx/files.ts), on real files in a temporary directory.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NginxError } from '../../src/errors.js';
import {
  ensureDefaultCertificate,
  preparePrefix,
  readIfExists,
  removeStaleCertificates,
  removeStaleManagedFiles,
  workerGroup,
  writeAtomic,
  writeCertificates,
  writeManagedFiles,
} from '../../src/nginx/files.js';
import type { Certificate, ManagedFile } from '../../src/model/index.js';
import { certificateFile, filesDir } from '../../src/render/index.js';

const mode = (file: string) => fs.statSync(file).mode & 0o777;

function cert(name: string, pem: string): Certificate {
  return { name, pem, hash: crypto.createHash('sha256').update(pem).digest('hex'), notAfter: '2030-01-01T00:00:00Z' };
}

describe('nginx/files', () => {
  let dir: string;
  let prefix: string;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-files-'));
    prefix = path.join(dir, 'prefix');
    await preparePrefix(prefix);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('preparePrefix', () => {
    it('makes the directories with the modes workers and keys need, and tightens an ssl directory left open', async () => {
      assert.equal(mode(prefix), 0o755);
      assert.equal(mode(path.join(prefix, 'ssl')), 0o700);
      assert.equal(mode(filesDir(prefix)), 0o711);
      for (const subdir of ['logs', 'tmp']) assert.ok(fs.statSync(path.join(prefix, subdir)).isDirectory(), subdir);
      fs.chmodSync(path.join(prefix, 'ssl'), 0o755);
      fs.chmodSync(filesDir(prefix), 0o777);
      await preparePrefix(prefix);
      assert.equal(mode(path.join(prefix, 'ssl')), 0o700);
      assert.equal(mode(filesDir(prefix)), 0o711);
    });
  });

  describe('writeAtomic', () => {
    it('replaces a file by rename: a reader holding the old file reads it whole, new readers read the new one', async () => {
      const file = path.join(dir, 'nginx.conf');
      fs.writeFileSync(file, 'old config\n');
      const fd = fs.openSync(file, 'r');
      try {
        await writeAtomic(file, 'new config\n');
        assert.equal(fs.readFileSync(fd, 'utf8'), 'old config\n');
      } finally {
        fs.closeSync(fd);
      }
      assert.equal(fs.readFileSync(file, 'utf8'), 'new config\n');
      assert.deepEqual(fs.readdirSync(dir).sort(), ['nginx.conf', 'prefix'], 'no temporary file left');
    });

    it('sets the mode asked for, also over an existing file with a looser one (0644 by default)', async () => {
      const file = path.join(dir, 'key.pem');
      fs.writeFileSync(file, 'x', { mode: 0o666 });
      fs.chmodSync(file, 0o666);
      await writeAtomic(file, 'secret', 0o600);
      assert.equal(mode(file), 0o600);
      await writeAtomic(path.join(dir, 'plain'), 'p');
      assert.equal(mode(path.join(dir, 'plain')), 0o644);
    });

    it('gives the mode asked for whatever the umask: workers must be able to read a 0644 config and a 0640 htpasswd', async () => {
      const before = process.umask(0o077);
      try {
        await writeAtomic(path.join(dir, 'conf'), 'c');
        await writeAtomic(path.join(dir, 'htpasswd'), 'h', 0o640);
      } finally {
        process.umask(before);
      }
      assert.equal(mode(path.join(dir, 'conf')), 0o644);
      assert.equal(mode(path.join(dir, 'htpasswd')), 0o640);
    });

    it('names the file it could not write and leaves no temporary file behind', async () => {
      const file = path.join(dir, 'missing', 'nginx.conf');
      await assert.rejects(
        writeAtomic(file, 'x'),
        (e: NodeJS.ErrnoException) => e.message.startsWith(`cannot write ${file}: `) && e.code === 'ENOENT',
      );
      // the temporary file's directory exists here, the target cannot be renamed into place: a directory in the way
      const blocked = path.join(dir, 'blocked');
      fs.mkdirSync(path.join(blocked, 'sub'), { recursive: true });
      await assert.rejects(writeAtomic(blocked, 'x'), (e: Error) => e.message.startsWith(`cannot write ${blocked}: `));
      assert.deepEqual(fs.readdirSync(dir).sort(), ['blocked', 'prefix']);
    });
  });

  it('readIfExists: null only for a missing file', async () => {
    assert.equal(await readIfExists(path.join(dir, 'none')), null);
    fs.writeFileSync(path.join(dir, 'f'), '');
    assert.equal(await readIfExists(path.join(dir, 'f')), '');
    await assert.rejects(readIfExists(prefix), /EISDIR/);
  });

  describe('certificates', () => {
    it('writes each certificate once (0600, hash in the name) and keeps an unchanged one untouched', async () => {
      const certA = cert('default_a', 'A-PEM');
      const certB = cert('default_b', 'B-PEM');
      const wanted = await writeCertificates(prefix, [certA, certB]);
      assert.deepEqual(
        [...wanted].sort(),
        [path.basename(certificateFile(prefix, certA)), path.basename(certificateFile(prefix, certB))].sort(),
      );
      for (const certificate of [certA, certB]) {
        const file = certificateFile(prefix, certificate);
        assert.ok(path.basename(file).includes(certificate.hash.slice(0, 16)));
        assert.equal(fs.readFileSync(file, 'utf8'), certificate.pem);
        assert.equal(mode(file), 0o600);
      }
      const inode = fs.statSync(certificateFile(prefix, certA)).ino;
      await writeCertificates(prefix, [certA]);
      assert.equal(fs.statSync(certificateFile(prefix, certA)).ino, inode, 'same content: not rewritten');
      // a file with the right name but other content (a torn write) is put right
      fs.writeFileSync(certificateFile(prefix, certA), 'torn');
      await writeCertificates(prefix, [certA]);
      assert.equal(fs.readFileSync(certificateFile(prefix, certA), 'utf8'), 'A-PEM');
    });

    it('a renewed certificate is a new file; the old one goes only when no longer kept, default.pem and non-pem files stay', async () => {
      const old = cert('default_a', 'A-PEM');
      const renewed = cert('default_a', 'A-PEM-RENEWED');
      await writeCertificates(prefix, [old]);
      const keep = await writeCertificates(prefix, [renewed]);
      assert.notEqual(certificateFile(prefix, old), certificateFile(prefix, renewed));
      assert.ok(fs.existsSync(certificateFile(prefix, old)), 'the live config still names the old file until reloaded');
      fs.writeFileSync(path.join(prefix, 'ssl', 'default.pem'), 'D');
      fs.writeFileSync(path.join(prefix, 'ssl', 'notes.txt'), 'N');
      await removeStaleCertificates(prefix, keep);
      assert.deepEqual(
        fs.readdirSync(path.join(prefix, 'ssl')).sort(),
        ['default.pem', path.basename(certificateFile(prefix, renewed)), 'notes.txt'].sort(),
      );
      await removeStaleCertificates(prefix, new Set());
      assert.deepEqual(fs.readdirSync(path.join(prefix, 'ssl')).sort(), ['default.pem', 'notes.txt']);
    });

    it('refuses a certificate name that could leave the ssl directory, writing nothing', async () => {
      await assert.rejects(writeCertificates(prefix, [cert('../../etc/x', 'P')]), /refusing certificate file name/);
      assert.deepEqual(fs.readdirSync(path.join(prefix, 'ssl')), []);
    });
  });

  describe('ensureDefaultCertificate', () => {
    it('makes a self-signed certificate and key once (0600) and keeps it', async function () {
      this.timeout(20_000);
      const file = await ensureDefaultCertificate(prefix);
      assert.equal(file, path.join(prefix, 'ssl', 'default.pem'));
      const pem = fs.readFileSync(file, 'utf8');
      assert.match(pem, /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----/);
      const x509 = new crypto.X509Certificate(pem);
      assert.match(x509.subject, /CN=Ingress Templater Fake Certificate/);
      assert.ok(x509.checkPrivateKey(crypto.createPrivateKey(pem)), 'the key matches the certificate');
      assert.equal(mode(file), 0o600);
      assert.equal(await ensureDefaultCertificate(prefix, '/nonexistent/openssl'), file, 'kept: openssl not run again');
      assert.equal(fs.readFileSync(file, 'utf8'), pem);
      assert.deepEqual(fs.readdirSync(path.join(prefix, 'ssl')), ['default.pem'], 'no generation directory left');
    });

    it('says which openssl failed and leaves nothing behind', async () => {
      await assert.rejects(
        ensureDefaultCertificate(prefix, '/nonexistent/openssl'),
        (e: Error) =>
          e instanceof NginxError && e.message === 'cannot create the default certificate with /nonexistent/openssl',
      );
      assert.deepEqual(fs.readdirSync(path.join(prefix, 'ssl')), []);
    });
  });

  describe('managed files', () => {
    const managedFile = (name: string, content: string, m = 0o600): ManagedFile => ({ name, content, mode: m });

    it("writes each with its own mode, rewrites only changed content, and gives group-readable ones the workers' group", async function () {
      const files = [managedFile('auth-1.htpasswd', 'u:x\n', 0o640), managedFile('secret-2', 's', 0o600)];
      // as root, a group other than ours: nobody's (the workers' default user)
      const nobody = fs
        .readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .find((l) => l.startsWith('nobody:'));
      const gid = process.getuid?.() === 0 && nobody ? Number(nobody.split(':')[3]) : undefined;
      await writeManagedFiles(prefix, files, gid);
      const dirOf = filesDir(prefix);
      assert.equal(mode(path.join(dirOf, 'auth-1.htpasswd')), 0o640);
      assert.equal(mode(path.join(dirOf, 'secret-2')), 0o600);
      assert.equal(fs.readFileSync(path.join(dirOf, 'auth-1.htpasswd'), 'utf8'), 'u:x\n');
      if (gid !== undefined) {
        assert.equal(fs.statSync(path.join(dirOf, 'auth-1.htpasswd')).gid, gid);
        assert.notEqual(fs.statSync(path.join(dirOf, 'secret-2')).gid, gid, 'a 0600 file keeps our group');
      }
      const inode = fs.statSync(path.join(dirOf, 'secret-2')).ino;
      await writeManagedFiles(
        prefix,
        [managedFile('auth-1.htpasswd', 'u:y\n', 0o640), managedFile('secret-2', 's', 0o600)],
        gid,
      );
      assert.equal(fs.statSync(path.join(dirOf, 'secret-2')).ino, inode, 'unchanged: not rewritten');
      assert.equal(fs.readFileSync(path.join(dirOf, 'auth-1.htpasswd'), 'utf8'), 'u:y\n');
    });

    it('removes only the files no longer wanted', async () => {
      await writeManagedFiles(prefix, [managedFile('a', '1'), managedFile('b', '2'), managedFile('c', '3')]);
      await removeStaleManagedFiles(prefix, [managedFile('b', '2')]);
      assert.deepEqual(fs.readdirSync(filesDir(prefix)), ['b']);
      await removeStaleManagedFiles(prefix, []);
      assert.deepEqual(fs.readdirSync(filesDir(prefix)), []);
    });
  });

  it('workerGroup: the primary group of the worker user from /etc/passwd when root, else nothing', async () => {
    if (process.getuid?.() !== 0) {
      assert.equal(await workerGroup('nobody'), undefined);
      return;
    }
    const passwd = fs.readFileSync('/etc/passwd', 'utf8').split('\n');
    const nobody = Number(passwd.find((l) => l.startsWith('nobody:'))!.split(':')[3]);
    const root = Number(passwd.find((l) => l.startsWith('root:'))!.split(':')[3]);
    assert.equal(await workerGroup(undefined), nobody);
    assert.equal(await workerGroup('root'), root);
    assert.equal(await workerGroup('no-such-user-itp'), undefined);
  });
});
