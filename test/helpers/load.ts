// Steady request loops against nginx for fault tests: each loop sends one GET after another until
// stopped and records every answer that is not the expected pod, and every error.
//
// Two kinds of client:
// - fresh: a new connection per request (agent: false), never retried;
// - keep-alive: one reused connection per loop (http.Agent keepAlive). It retries a request only when
//   the connection was a reused one and closed before a single response byte arrived: the server had
//   closed it as idle (as nginx does to idle keep-alive connections of workers that shut down after a
//   reload) and the request was never processed. Browsers and Go's net/http retry exactly this case for
//   idempotent requests; nothing else is retried, so any other error or status counts as a failure.
import http from 'node:http';
import type { Socket } from 'node:net';

export interface LoadTarget {
  port: number;
  host: string; // Host header
  path: string;
  /** the answer is good when this holds (default: status 200 from a fake pod) */
  ok?: (status: number, headers: http.IncomingHttpHeaders) => boolean;
}

export interface LoadStats {
  requests: number; // completed (good or bad), retries not counted twice
  failures: string[]; // "fresh #12: ECONNRESET socket hang up", "keep-alive #3: status 503"...
  failureTimes: number[]; // Date.now() of each failure, same order
  retries: number; // keep-alive requests re-sent under the rule above
  byPod: Map<string, number>;
}

const RETRY_CODES = new Set(['ECONNRESET', 'EPIPE']);
const MAX_RETRIES = 3;

interface Attempt {
  status: number;
  headers: http.IncomingHttpHeaders;
}

class EarlyClose extends Error {
  constructor(readonly original: Error) {
    super(original.message);
  }
}

function attempt(target: LoadTarget, agent: http.Agent | false, timeoutMs: number): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    let socket: Socket | undefined;
    let readBefore = 0;
    const req = http.request(
      {
        host: '127.0.0.1',
        port: target.port,
        path: target.path,
        agent,
        headers: { host: target.host },
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on('socket', (assigned) => {
      socket = assigned;
      readBefore = assigned.bytesRead;
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const nothingRead = socket !== undefined && socket.bytesRead === readBefore;
      if (agent && req.reusedSocket && nothingRead && RETRY_CODES.has(err.code ?? '')) reject(new EarlyClose(err));
      else reject(err);
    });
    req.end();
  });
}

export class Load {
  readonly stats: LoadStats = { requests: 0, failures: [], failureTimes: [], retries: 0, byPod: new Map() };
  private stopped = false;
  private loops: Promise<void>[] = [];
  private agents: http.Agent[] = [];

  /** Start `fresh` loops with a new connection per request and `keepAlive` loops reusing one each. */
  constructor(
    private readonly target: LoadTarget,
    options: { fresh: number; keepAlive: number; timeoutMs?: number },
  ) {
    const timeoutMs = options.timeoutMs ?? 10_000;
    for (let i = 0; i < options.fresh; i++) this.loops.push(this.loop(`fresh ${i}`, false, timeoutMs));
    for (let i = 0; i < options.keepAlive; i++) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      this.agents.push(agent);
      this.loops.push(this.loop(`keep-alive ${i}`, agent, timeoutMs));
    }
  }

  private async loop(name: string, agent: http.Agent | false, timeoutMs: number): Promise<void> {
    const ok = this.target.ok ?? ((status, headers) => status === 200 && typeof headers['x-pod'] === 'string');
    while (!this.stopped) {
      const requestNumber = ++this.stats.requests;
      let retries = 0;
      for (;;) {
        try {
          const answer = await attempt(this.target, agent, timeoutMs);
          if (!ok(answer.status, answer.headers)) this.fail(`${name} #${requestNumber}: status ${answer.status}`);
          const pod = String(answer.headers['x-pod'] ?? `status ${answer.status}`);
          this.stats.byPod.set(pod, (this.stats.byPod.get(pod) ?? 0) + 1);
        } catch (caught) {
          if (caught instanceof EarlyClose && retries < MAX_RETRIES) {
            retries++;
            this.stats.retries++;
            continue;
          }
          const err = (caught instanceof EarlyClose ? caught.original : caught) as NodeJS.ErrnoException;
          this.fail(`${name} #${requestNumber}: ${err.code ?? ''} ${err.message}`.trim());
        }
        break;
      }
    }
  }

  private fail(what: string): void {
    this.stats.failures.push(what);
    this.stats.failureTimes.push(Date.now());
  }

  /** Requests completed so far. */
  get count(): number {
    return this.stats.requests;
  }

  async stop(): Promise<LoadStats> {
    this.stopped = true;
    await Promise.all(this.loops);
    for (const agent of this.agents) agent.destroy();
    return this.stats;
  }
}
