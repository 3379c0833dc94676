// Lists the manifest files under a directory, including Kubernetes ConfigMap/Secret volumes.
import type { Dirent } from 'node:fs';
import { readdir, readlink, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Problem } from '../resources.js';

export interface FileEntry {
  rel: string; // relative to the root, '/'-separated
  abs: string; // where to read it: symlinks and ..data resolved
  signature: string; // changes when the content may have changed
  ino: number;
  mtimeMs: number;
}

const MANIFEST = /\.(ya?ml|json)$/;
// A ConfigMap volume: visible names link to ..data/<name>, ..data links to a hidden generation.
const DATA_LINK = '..data';

const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code ?? String(err);

function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}

class Scan {
  readonly files: FileEntry[] = [];
  readonly problems: Problem[] = [];
  linked = false; // a symlink was met: file paths and the paths events name may differ
  private readonly seen = new Set<string>(); // real paths of directories and files visited

  constructor(private readonly rootReal: string) {}

  private warn(file: string, message: string, severity: Problem['severity'] = 'warning'): void {
    this.problems.push({ severity, file, message });
  }

  async walk(dirReal: string, relDir: string): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await readdir(dirReal, { withFileTypes: true });
    } catch (err) {
      return this.warn(relDir || '.', `cannot read directory: ${codeOf(err)}`, 'error');
    }
    // Resolved once, on first use, so the whole directory is read from one generation even if
    // ..data is swapped meanwhile.
    let dataReal: Promise<string | undefined> | undefined;
    const resolveData = () =>
      (dataReal ??= realpath(path.join(dirReal, DATA_LINK)).then(
        (p) => (isInside(this.rootReal, p) ? p : undefined),
        () => undefined,
      ));
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // plain files are claimed in order (addFile marks them seen before its first await) and stat'ed together
    const stats: Promise<void>[] = [];
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const rel = relDir ? `${relDir}/${entry.name}` : entry.name;
      const full = path.join(dirReal, entry.name);
      if (entry.isSymbolicLink()) await this.followLink(full, rel, entry.name, resolveData);
      else if (entry.isDirectory()) await this.enterDirectory(full, rel);
      // a FIFO, socket or device with a manifest's name is listed too: the loader refuses it by name (and a
      // file swapped for one keeps its last good content) instead of it vanishing from the set unreported
      else if (MANIFEST.test(entry.name)) stats.push(this.addFile(full, rel));
    }
    await Promise.all(stats);
  }

  private async followLink(
    full: string,
    rel: string,
    name: string,
    resolveData: () => Promise<string | undefined>,
  ): Promise<void> {
    this.linked = true;
    let target: string;
    try {
      const parts = (await readlink(full)).split(/[\\/]/);
      const dataReal = parts[0] === DATA_LINK && parts.length > 1 ? await resolveData() : undefined;
      target = dataReal ? await realpath(path.join(dataReal, ...parts.slice(1))) : await realpath(full);
    } catch (err) {
      return this.warn(rel, `broken symlink, skipped: ${codeOf(err)}`);
    }
    if (!isInside(this.rootReal, target))
      return this.warn(rel, 'symlink points outside the manifests directory; not followed');
    let st;
    try {
      st = await stat(target);
    } catch (err) {
      return this.warn(rel, `cannot stat symlink target: ${codeOf(err)}`);
    }
    if (st.isDirectory()) await this.enterDirectory(target, rel);
    else if (MANIFEST.test(name)) await this.addFile(target, rel);
  }

  async enterDirectory(real: string, rel: string): Promise<void> {
    // Also stops symlink loops: a directory reached again is not walked again.
    if (this.seen.has(real))
      return this.warn(rel, 'directory already scanned through another path (symlink loop?); skipped');
    this.seen.add(real);
    await this.walk(real, rel);
  }

  private async addFile(real: string, rel: string): Promise<void> {
    if (this.seen.has(real)) return this.warn(rel, 'same file as one already scanned through another path; skipped');
    this.seen.add(real);
    try {
      this.files.push(fileEntry(rel, real, await stat(real)));
    } catch (err) {
      this.warn(rel, `cannot stat file: ${codeOf(err)}`);
    }
  }
}

export function fileEntry(
  rel: string,
  real: string,
  st: { size: number; mtimeMs: number; ctimeMs: number; ino: number },
): FileEntry {
  // ctime too: a chmod that makes an unreadable file readable changes nothing else
  return {
    rel,
    abs: real,
    signature: `${real}|${st.size}|${st.mtimeMs}|${st.ctimeMs}|${st.ino}`,
    ino: st.ino,
    mtimeMs: st.mtimeMs,
  };
}

export const isManifestName = (name: string) => MANIFEST.test(name);

export interface ScanResult {
  files: FileEntry[];
  problems: Problem[];
  root?: string; // real path of the root
  linked: boolean; // symlinks met (ConfigMap volumes, links inside the root)
}

export async function scanDirectory(root: string): Promise<ScanResult> {
  let rootReal: string;
  try {
    rootReal = await realpath(root);
    if (!(await stat(rootReal)).isDirectory()) {
      return {
        files: [],
        linked: false,
        problems: [{ severity: 'error', message: `manifests directory ${root} is not a directory` }],
      };
    }
  } catch (err) {
    return {
      files: [],
      linked: false,
      problems: [{ severity: 'error', message: `cannot read manifests directory ${root}: ${codeOf(err)}` }],
    };
  }
  const scan = new Scan(rootReal);
  await scan.enterDirectory(rootReal, '');
  scan.files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { files: scan.files, problems: scan.problems, root: rootReal, linked: scan.linked };
}
