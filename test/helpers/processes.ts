// Process checks by pid, through /proc and pgrep: nothing here signals a process it was not given.
import { execFile } from 'node:child_process';
import fs from 'node:fs';

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/**
 * What makes a pid this process and not a later one with the same number: its start time (clock ticks
 * since boot, /proc/PID/stat field 22). undefined when the process is gone or a zombie.
 */
export function identity(pid: number): string | undefined {
  if (!isAlive(pid)) return undefined;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Processes a test saw, each with its identity(): alive() lists those still running (not a later process with the same pid). */
export class PidTracker {
  private readonly seen = new Map<number, string>();

  add(pids: number[]): void {
    for (const pid of pids) {
      const id = identity(pid);
      if (id) this.seen.set(pid, id);
    }
  }

  alive(): number[] {
    return [...this.seen].filter(([pid, id]) => identity(pid) === id).map(([pid]) => pid);
  }
}

/** pgrep with the given arguments; [] when nothing matches. */
export function pgrep(...args: string[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    execFile('pgrep', args, (err, stdout) => {
      // exit status 1: nothing matched
      if (err && (err as { code?: unknown }).code !== 1) return reject(err);
      resolve(
        stdout
          .split('\n')
          .filter(Boolean)
          .map(Number)
          .filter((p) => p !== process.pid),
      );
    });
  });
}

/** Processes whose command line contains text (e.g. a unique nginx prefix). */
export function pgrepCommandLine(text: string): Promise<number[]> {
  return pgrep('-f', text);
}

export function children(pid: number): Promise<number[]> {
  return pgrep('-P', String(pid));
}

export function readPidFile(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}
