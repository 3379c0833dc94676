// Old nginx workers after a reload. The master starts new workers before it tells the old ones to
// quit, so a new worker answering the new hash does not yet mean the old ones stopped accepting: for a
// moment a fresh connection can still land on an old worker and get the old config. An old worker
// retitles itself "worker process is shutting down" just before it closes its listening sockets, which
// /proc shows. Where /proc does not show the master (a sidecar without a shared process namespace),
// these return nothing and the check is skipped.
// A master still starting (loading a large config, retrying a bind) has not yet installed its signal
// handlers: a SIGHUP then kills it. Its first workers show that it is past that point.
import fs from 'node:fs/promises';

/** pids of the processes whose parent is masterPid */
export async function childPids(masterPid: number | undefined): Promise<number[]> {
  if (!masterPid || masterPid <= 1) return [];
  // Linux lists a process's children here (kernel 3.5+, CONFIG_PROC_CHILDREN); fall back to a /proc scan
  try {
    const text = await fs.readFile(`/proc/${masterPid}/task/${masterPid}/children`, 'utf8');
    return text.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // fall through
  }
  let entries: string[];
  try {
    entries = await fs.readdir('/proc');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === masterPid) out.push(Number(entry));
    } catch {
      // the process went away meanwhile
    }
  }
  return out;
}

/** true when pid is gone or has begun its graceful shutdown */
async function retired(pid: number): Promise<boolean> {
  try {
    const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('shutting down') || cmdline === '';
  } catch {
    return true;
  }
}

/** Wait until every pid in `old` is gone or shutting down; false after timeoutMs. */
export async function waitRetired(old: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let pending = old;
  while (pending.length > 0) {
    const states = await Promise.all(pending.map(retired));
    pending = pending.filter((_, i) => !states[i]);
    if (pending.length === 0) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

/**
 * Wait until the master has started workers (and so handles signals); returns them. Returns [] at once
 * where /proc does not show the master, and [] when it died or timeoutMs passed.
 */
export async function waitMasterUp(
  masterPid: number | undefined,
  timeoutMs: number,
  isAlive: () => boolean,
): Promise<number[]> {
  if (!masterPid || masterPid <= 1) return [];
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  for (;;) {
    const kids = await childPids(masterPid);
    if (kids.length > 0) return kids;
    if (!isAlive() || Date.now() > deadline || !(await visible(masterPid))) return [];
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 50);
  }
}

async function visible(pid: number): Promise<boolean> {
  try {
    await fs.access(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}
