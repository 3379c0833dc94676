// Resolves ExternalName targets through the system resolver (getaddrinfo: /etc/hosts, then DNS),
// the way a pod resolving the CNAME kube-dns hands out would.
import dns from 'node:dns/promises';

export class NameResolver {
  private results = new Map<string, string[]>();

  constructor(private readonly timeoutMs = 2000) {}

  get map(): ReadonlyMap<string, string[]> {
    return this.results;
  }

  has(name: string): boolean {
    return this.results.has(name);
  }

  /** Resolve the given names; the addresses of every name kept (a plan's resolve edge, src/plan.ts). */
  async resolve(names: string[]): Promise<ReadonlyMap<string, string[]>> {
    await this.refresh(names);
    return this.results;
  }

  /** Resolve the given names; returns true when any result differs from the previous one. */
  async refresh(names: string[]): Promise<boolean> {
    let changed = false;
    const keep = new Set(names);
    for (const name of [...this.results.keys()]) if (!keep.has(name)) this.results.delete(name);
    await Promise.all(
      names.map(async (name) => {
        // a fully qualified name ("db.example.com.", as Kubernetes allows it) is asked as written; hosts files
        // list names without the final dot, so that form is asked next when the first finds nothing
        let addrs = await lookup(name, this.timeoutMs);
        if (addrs === null && name.length > 1 && name.endsWith('.'))
          addrs = await lookup(name.slice(0, -1), this.timeoutMs);
        const before = this.results.get(name);
        // a failed lookup keeps the last answer, as a DNS cache would
        if (addrs === null && before) return;
        const next = addrs ?? [];
        if (!before || before.join() !== next.join()) changed = true;
        this.results.set(name, next);
      }),
    );
    return changed;
  }
}

async function lookup(name: string, timeoutMs: number): Promise<string[] | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const answers = await Promise.race([
      dns.lookup(name, { all: true, verbatim: true }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
    return [...new Set(answers.map((a) => a.address))].sort();
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}
