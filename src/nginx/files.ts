// Files under the nginx prefix: directories, atomic writes, certificates (0600), the default certificate.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { Certificate } from '../model/index.js';
import { certificateFile, filesDir } from '../render/index.js';
import type { ManagedFile } from '../model/index.js';
import { NginxError } from '../errors.js';

export async function preparePrefix(prefix: string): Promise<void> {
  await fs.mkdir(prefix, { recursive: true });
  // Workers (an unprivileged user when the master runs as root) need to reach the temp directories.
  // A mounted volume we do not own (a root-owned emptyDir) refuses the chmod; it is fine if already open.
  await fs.chmod(prefix, 0o755).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPERM' || ((await fs.stat(prefix)).mode & 0o005) !== 0o005) return;
    throw err;
  });
  for (const dir of ['logs', 'tmp']) await fs.mkdir(path.join(prefix, dir), { recursive: true });
  await fs.mkdir(path.join(prefix, 'ssl'), { recursive: true, mode: 0o700 });
  await fs.chmod(path.join(prefix, 'ssl'), 0o700);
  // files workers read per request (htpasswd): the directory is traversable, each file's mode decides
  await fs.mkdir(filesDir(prefix), { recursive: true, mode: 0o711 });
  await fs.chmod(filesDir(prefix), 0o711);
}

/** Write through a temporary file and rename, so readers never see half a file. */
export async function writeAtomic(file: string, data: string, mode = 0o644): Promise<void> {
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  try {
    await fs.writeFile(tmp, data, { mode });
    await fs.chmod(tmp, mode);
    await fs.rename(tmp, file);
  } catch (cause) {
    // a full disk leaves a partial file behind (a key, maybe): remove it, and say which file failed
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    const err: NodeJS.ErrnoException = new Error(`cannot write ${file}: ${(cause as Error).message}`, { cause });
    err.code = (cause as NodeJS.ErrnoException).code;
    throw err;
  }
}

export async function readIfExists(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Write the certificates a config refers to; files already there (same hash in the name) are kept. */
export async function writeCertificates(prefix: string, certs: Certificate[]): Promise<Set<string>> {
  const wanted = new Set<string>();
  for (const cert of certs) {
    const file = certificateFile(prefix, cert);
    wanted.add(path.basename(file));
    if ((await readIfExists(file)) !== cert.pem) await writeAtomic(file, cert.pem, 0o600);
  }
  return wanted;
}

/** Remove certificate files no config refers to any more (keys must not outlive their Secret). */
export async function removeStaleCertificates(prefix: string, keep: Set<string>): Promise<void> {
  const dir = path.join(prefix, 'ssl');
  for (const name of await fs.readdir(dir)) {
    if (name.endsWith('.pem') && name !== DEFAULT_CERT && !keep.has(name))
      await fs.rm(path.join(dir, name), { force: true });
  }
}

const DEFAULT_CERT = 'default.pem';

/** The self-signed certificate for hosts without a usable Secret; made once and kept. */
export async function ensureDefaultCertificate(prefix: string, openssl = 'openssl'): Promise<string> {
  const file = path.join(prefix, 'ssl', DEFAULT_CERT);
  if (await readIfExists(file)) return file;
  const dir = await fs.mkdtemp(path.join(prefix, 'ssl', 'gen-'));
  try {
    const key = path.join(dir, 'key.pem');
    const crt = path.join(dir, 'crt.pem');
    await execa(
      openssl,
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '3650',
        '-subj',
        '/O=ingress-templater/CN=Ingress Templater Fake Certificate',
        '-keyout',
        key,
        '-out',
        crt,
      ],
      { timeout: 30_000 },
    );
    await writeAtomic(file, (await fs.readFile(crt, 'utf8')) + (await fs.readFile(key, 'utf8')), 0o600);
  } catch (err) {
    throw new NginxError(`cannot create the default certificate with ${openssl}`, { cause: err });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  return file;
}

/**
 * Write the managed files a config refers to (the old ones stay until the new config is live). A file with group
 * bits is given the workers' group when the master runs as root, so workers (another user) can read it.
 */
export async function writeManagedFiles(prefix: string, files: ManagedFile[], workerGid?: number): Promise<void> {
  const dir = filesDir(prefix);
  for (const managed of files) {
    const file = path.join(dir, managed.name);
    if ((await readIfExists(file)) !== managed.content) await writeAtomic(file, managed.content, managed.mode);
    if (workerGid !== undefined && managed.mode & 0o040) await fs.chown(file, 0, workerGid);
  }
}

/** Remove managed files no config refers to any more; only once the new config is live. */
export async function removeStaleManagedFiles(prefix: string, files: ManagedFile[]): Promise<void> {
  const keep = new Set(files.map((f) => f.name));
  const dir = filesDir(prefix);
  for (const name of await fs.readdir(dir)) if (!keep.has(name)) await fs.rm(path.join(dir, name), { force: true });
}

/** The primary group of the user nginx workers run as (nginx's default is nobody), when we are root. */
export async function workerGroup(user: string | null | undefined): Promise<number | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = await fs.readFile('/etc/passwd', 'utf8').catch(() => '');
  const line = passwd.split('\n').find((l) => l.startsWith(`${user ?? 'nobody'}:`));
  const gid = Number(line?.split(':')[3]);
  return Number.isInteger(gid) ? gid : undefined;
}
