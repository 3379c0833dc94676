// The controller's side of the Lua balancer: the payload (pure) and the pusher that delivers it to
// /configuration/backends on nginx's loopback-only internal port (full POSTs and PATCHes), retrying with backoff.
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

/** One backend as the Lua side expects it; deterministic, optional fields omitted. */
export function backendPayload(modelBackend: Model['backends'][number]): BackendPayload {
  const payload: BackendPayload = {
    name: modelBackend.name,
    endpoints: modelBackend.endpoints.map((e) => ({ address: e.address, port: e.port })),
    loadBalance: modelBackend.balance.loadBalance,
  };
  if (modelBackend.balance.hashBy) payload.hashBy = modelBackend.balance.hashBy;
  if (modelBackend.balance.affinity) {
    const { name, maxAge, path } = modelBackend.balance.affinity;
    payload.affinity = maxAge === undefined ? { name, path } : { name, maxAge, path };
  }
  if (modelBackend.canary) {
    // the rules live here, not in nginx.conf: changing them is a push, never a reload
    const { backend, weight, weightTotal, header, headerValue, headerPattern, cookie } = modelBackend.canary;
    const canary: CanaryPayload = { backend, weight, weightTotal };
    if (header !== undefined) canary.header = header;
    if (headerValue !== undefined) canary.headerValue = headerValue;
    if (headerPattern !== undefined) canary.headerPattern = headerPattern;
    if (cookie !== undefined) canary.cookie = cookie;
    payload.canary = canary;
  }
  return payload;
}

/** The full backend set, the body of a POST. */
export function payloadFor(model: Model): string {
  return JSON.stringify({ backends: model.backends.map(backendPayload) });
}

// after a failed attempt, the first delivered set is sent again this much later (see Pusher.unsure)
const CONFIRM_AFTER_FAILURE_MS = 500;

export class PushError extends Error {
  override name = 'PushError';
}

/** A backend nginx refused on its own (a 207 answer): it keeps what nginx held for it before. */
export interface RefusedBackend {
  name: string;
  error: string;
}

/**
 * Delivers a body; resolves on 201 (all stored) and 207 (stored but for the refused backends it lists,
 * see nginx/lua/README.md), rejects on anything else.
 */
export function postBackends(
  port: number,
  body: string,
  timeoutMs = 5000,
  method: 'POST' | 'PATCH' = 'POST',
): Promise<{ refused: RefusedBackend[] }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: '/configuration/backends',
        timeout: timeoutMs,
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => {
          if (res.statusCode === 201) return resolve({ refused: [] });
          if (res.statusCode === 207) {
            try {
              const refused = (JSON.parse(text) as { refused?: RefusedBackend[] }).refused;
              if (Array.isArray(refused))
                return resolve({ refused: refused.map((r) => ({ name: String(r.name), error: String(r.error) })) });
            } catch {
              /* reported below */
            }
          }
          reject(new PushError(`nginx answered ${res.statusCode}: ${text.trim().slice(0, 300)}`));
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new PushError(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => reject(e instanceof PushError ? e : new PushError(e.message, { cause: e })));
    req.end(body);
  });
}

export interface PusherOptions {
  port: number;
  onAck: (seenAt: number, method: 'POST' | 'PATCH') => void; // seenAt: when the change being delivered was first seen
  onFailure: (err: Error) => void;
  // after an acknowledged push that refused some backends (207): those of this push, and all refused now
  onRefused?: (now: RefusedBackend[], all: ReadonlyMap<string, string>) => void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Keeps nginx's backend set equal to the desired one, one request at a time: a full POST when what nginx
 * holds is unknown (first push, after a reload or restart, after a failure), otherwise a PATCH with just
 * the backends that changed since the last acknowledged push, so an endpoint change of one Service costs
 * the same with 10 or 10,000 backends. A change made while a request is in flight goes out right after;
 * a failure retries with backoff until it lands.
 */
export class Pusher {
  private desired = new Map<string, string>(); // backend name -> its JSON
  private generation = 0; // of desired
  private acked: Map<string, string> | null = null; // what nginx holds, as far as we know; null: unknown
  private ackedGeneration = -1;
  private started = false; // a desired set was given
  private seenAt = 0;
  private inFlight: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private backoff: number;
  private stopped = false;
  // an attempt failed: nginx may still run it (it had queued the request), maybe after a newer one
  private unsure = false;
  private confirmTimer: NodeJS.Timeout | null = null;
  // backends nginx refused (name -> why), each as last sent: nginx keeps its previous entry for them
  private refusedNow = new Map<string, string>();
  private failingSince = 0; // the first of the failed attempts since the last acknowledged one

  constructor(private readonly options: PusherOptions) {
    this.backoff = options.minBackoffMs ?? 50;
  }

  /**
   * The whole desired set. hold: only remember it (nginx is not up yet; resend() delivers it once it is).
   */
  setBackends(backends: BackendPayload[], seenAt: number, mode: 'send' | 'hold' = 'send'): Promise<void> {
    const next = new Map(backends.map((b) => [b.name, JSON.stringify(b)]));
    const same =
      this.started && next.size === this.desired.size && [...next].every(([k, v]) => this.desired.get(k) === v);
    this.started = true;
    if (!same)
      this.change(seenAt, () => {
        this.desired = next;
      });
    if (mode === 'hold') return Promise.resolve();
    return this.settled ? (this.inFlight ?? Promise.resolve()) : this.kick();
  }

  /** Replace some backends of the desired set (the endpoint fast path); hold: as for setBackends. */
  updateBackends(backends: BackendPayload[], seenAt: number, mode: 'send' | 'hold' = 'send'): Promise<void> {
    const changed = backends.filter((b) => this.desired.get(b.name) !== JSON.stringify(b));
    if (changed.length)
      this.change(seenAt, () => {
        for (const b of changed) this.desired.set(b.name, JSON.stringify(b));
      });
    if (mode === 'hold' || this.settled) return this.inFlight ?? Promise.resolve();
    return this.kick();
  }

  /** Forget what nginx has (it restarted): the next push sends the whole set. */
  reset(): void {
    this.acked = null;
  }

  /** Send the whole desired set again (after a reload or an nginx start). */
  resend(seenAt: number): Promise<void> {
    if (!this.started) return Promise.resolve();
    if (!this.seenAt) this.seenAt = seenAt;
    this.acked = null;
    return this.kick();
  }

  /** Backends nginx refused and still holds its previous entry for (name -> why). */
  get refused(): ReadonlyMap<string, string> {
    return this.refusedNow;
  }

  /** Since when pushes have been failing (epoch ms), 0 when the last attempt was acknowledged. */
  get failing(): number {
    return this.failingSince;
  }

  get settled(): boolean {
    return this.started && this.acked !== null && this.ackedGeneration === this.generation;
  }

  private change(seenAt: number, apply: () => void): void {
    if (this.settled || !this.seenAt) this.seenAt = seenAt;
    apply();
    this.generation++;
  }

  private kick(): Promise<void> {
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    if (!this.inFlight)
      this.inFlight = this.loop().finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }

  private async loop(): Promise<void> {
    while (!this.stopped && this.started && !this.settled) {
      const generation = this.generation;
      const snapshot = this.desired;
      const seenAt = this.seenAt;
      const base = this.acked;
      let body: string;
      let method: 'POST' | 'PATCH' = 'POST';
      if (base === null) {
        body = `{"backends":[${[...snapshot.values()].join(',')}]}`;
      } else {
        const changed = [...snapshot].filter(([k, v]) => base.get(k) !== v).map(([, v]) => v);
        const removed = [...base.keys()].filter((k) => !snapshot.has(k));
        body = `{"backends":[${changed.join(',')}],"removed":${JSON.stringify(removed)}}`;
        method = 'PATCH';
      }
      // the desired map is replaced or mutated later: keep what this attempt sends
      const sent = new Map(snapshot);
      try {
        const { refused } = await postBackends(this.options.port, body, 5000, method);
        // a refused backend counts as delivered: sending the same JSON again would be refused again, so
        // it goes out once more only when it changes (or with the next whole set); nginx keeps its old entry
        this.acked = sent;
        this.ackedGeneration = generation;
        this.backoff = this.options.minBackoffMs ?? 50;
        this.failingSince = 0;
        if (method === 'POST') this.refusedNow = new Map();
        else
          for (const name of [...this.refusedNow.keys()])
            if (base!.get(name) !== sent.get(name)) this.refusedNow.delete(name);
        for (const backend of refused) this.refusedNow.set(backend.name, backend.error);
        this.options.onAck(seenAt, method);
        if (refused.length) this.options.onRefused?.(refused, this.refusedNow);
        if (this.generation === generation) this.seenAt = 0;
        if (this.unsure) {
          // the Lua store keeps whatever lands last: send the whole set once more, after nginx has run what it had queued
          this.unsure = false;
          if (this.confirmTimer) clearTimeout(this.confirmTimer);
          this.confirmTimer = setTimeout(() => {
            this.confirmTimer = null;
            this.acked = null;
            void this.kick();
          }, CONFIRM_AFTER_FAILURE_MS);
        }
      } catch (err) {
        if (!this.failingSince) this.failingSince = Date.now();
        this.options.onFailure(err as Error);
        // a failed attempt may still land later (nginx had queued it): what nginx holds is unknown now
        this.acked = null;
        this.unsure = true;
        if (this.generation !== generation) continue; // something newer arrived: send that instead
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          void this.kick();
        }, this.backoff);
        this.backoff = Math.min(this.backoff * 2, this.options.maxBackoffMs ?? 2000);
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
  const res = await fetch(`http://127.0.0.1:${port}/configuration/backends`, {
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new PushError(`nginx answered ${res.status} for GET /configuration/backends`);
  const body = (await res.json()) as { backends?: { name: string; endpoints?: { address: string; port: number }[] }[] };
  return Object.fromEntries((body.backends ?? []).map((b) => [b.name, (b.endpoints ?? []).map(hostPort)]));
}

export function hostPort(endpoint: { address: string; port: number }): string {
  return endpoint.address.includes(':')
    ? `[${endpoint.address}]:${endpoint.port}`
    : `${endpoint.address}:${endpoint.port}`;
}
