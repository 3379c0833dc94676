// The controller's side of the Lua balancer: the payload (pure) and the pusher that delivers it to
// POST /configuration/backends on nginx's loopback-only internal port, retrying with backoff.
import http from 'node:http';
import type { Model } from '../model/index.js';

export interface BackendPayload {
  name: string;
  endpoints: { address: string; port: number }[];
  loadBalance: string;
  hashBy?: string;
  affinity?: { name: string; maxAge?: number; path: string };
  canary?: CanaryPayload;
}

/** A main backend's canary: which backend takes a share of its requests, and the rules (README: nginx/lua). */
export interface CanaryPayload {
  backend: string;
  weight: number;
  weightTotal: number;
  header?: string;
  headerValue?: string;
  headerPattern?: string;
  cookie?: string;
}

/** The full backend set as the Lua side expects it; deterministic, optional fields omitted. */
export function payloadFor(model: Model): string {
  const backends: BackendPayload[] = model.backends.map((b) => {
    const p: BackendPayload = { name: b.name, endpoints: b.endpoints.map((e) => ({ address: e.address, port: e.port })), loadBalance: b.balance.loadBalance };
    if (b.balance.hashBy) p.hashBy = b.balance.hashBy;
    if (b.balance.affinity) {
      const { name, maxAge, path } = b.balance.affinity;
      p.affinity = maxAge === undefined ? { name, path } : { name, maxAge, path };
    }
    if (b.canary) {
      // the rules live here, not in nginx.conf: changing them is a push, never a reload
      const { backend, weight, weightTotal, header, headerValue, headerPattern, cookie } = b.canary;
      const c: CanaryPayload = { backend, weight, weightTotal };
      if (header !== undefined) c.header = header;
      if (headerValue !== undefined) c.headerValue = headerValue;
      if (headerPattern !== undefined) c.headerPattern = headerPattern;
      if (cookie !== undefined) c.cookie = cookie;
      p.canary = c;
    }
    return p;
  });
  return JSON.stringify({ backends });
}

// after a failed attempt, the first delivered set is sent again this much later (see Pusher.unsure)
const CONFIRM_AFTER_FAILURE_MS = 500;

export class PushError extends Error {
  override name = 'PushError';
}

export function postBackends(port: number, body: string, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port, method: 'POST', path: '/configuration/backends', timeout: timeoutMs, agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new PushError(`nginx answered ${res.statusCode}: ${text.trim().slice(0, 300)}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new PushError(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => reject(e instanceof PushError ? e : new PushError(e.message, { cause: e })));
    req.end(body);
  });
}

export interface PusherOptions {
  port: number;
  onAck: (seenAt: number) => void; // seenAt: when the change being delivered was first seen
  onFailure: (e: Error) => void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Delivers the newest payload, one request at a time. A payload superseded while a push is in flight
 * is sent right after; a failure retries with backoff until it lands or something newer replaces it.
 */
export class Pusher {
  acked: string | null = null;
  private desired: string | null = null;
  private seenAt = 0;
  private inFlight: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private backoff: number;
  private stopped = false;
  // an attempt failed: nginx may still run it (it had queued the request), maybe after a newer one
  private unsure = false;
  private confirmTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: PusherOptions) {
    this.backoff = o.minBackoffMs ?? 50;
  }

  /** Deliver body unless it is already what nginx has; force re-sends (after a reload or restart). */
  push(body: string, seenAt: number, force = false): Promise<void> {
    if (!force && body === this.acked && body === this.desired) return this.inFlight ?? Promise.resolve();
    if (this.desired !== body || !this.seenAt) this.seenAt = seenAt;
    this.desired = body;
    if (force) this.acked = null;
    return this.kick();
  }

  /** Forget what nginx has (it restarted): the next push goes out whatever it holds. */
  reset(): void {
    this.acked = null;
  }

  get settled(): boolean {
    return this.desired !== null && this.acked === this.desired;
  }

  private kick(): Promise<void> {
    if (this.retryTimer) { clearTimeout(this.retryTimer); this.retryTimer = null; }
    if (!this.inFlight) this.inFlight = this.loop().finally(() => { this.inFlight = null; });
    return this.inFlight;
  }

  private async loop(): Promise<void> {
    while (!this.stopped && this.desired !== null && this.desired !== this.acked) {
      const body = this.desired;
      const seenAt = this.seenAt;
      try {
        await postBackends(this.o.port, body);
        this.acked = body;
        this.backoff = this.o.minBackoffMs ?? 50;
        this.o.onAck(seenAt);
        if (this.desired === body) this.seenAt = 0;
        if (this.unsure) {
          // the Lua store keeps whatever lands last: send this set once more, after nginx has run what it had queued
          this.unsure = false;
          if (this.confirmTimer) clearTimeout(this.confirmTimer);
          this.confirmTimer = setTimeout(() => {
            this.confirmTimer = null;
            if (this.acked === body) { this.acked = null; void this.kick(); }
          }, CONFIRM_AFTER_FAILURE_MS);
        }
      } catch (e) {
        this.o.onFailure(e as Error);
        // a failed attempt may still land later (nginx had queued it): what nginx holds is unknown now,
        // so even a revert to the set acknowledged before must be sent
        this.acked = null;
        this.unsure = true;
        if (this.desired !== body) continue; // something newer arrived: send that instead
        this.retryTimer = setTimeout(() => { this.retryTimer = null; void this.kick(); }, this.backoff);
        this.backoff = Math.min(this.backoff * 2, this.o.maxBackoffMs ?? 2000);
        return;
      }
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.confirmTimer) clearTimeout(this.confirmTimer);
  }
}

/** What nginx balances over now: backend name -> "address:port" (GET /configuration/backends). */
export async function fetchBackends(port: number, timeoutMs = 5000): Promise<Record<string, string[]>> {
  const res = await fetch(`http://127.0.0.1:${port}/configuration/backends`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new PushError(`nginx answered ${res.status} for GET /configuration/backends`);
  const body = (await res.json()) as { backends?: { name: string; endpoints?: { address: string; port: number }[] }[] };
  return Object.fromEntries((body.backends ?? []).map((b) => [b.name, (b.endpoints ?? []).map(hostPort)]));
}

export function hostPort(e: { address: string; port: number }): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}
