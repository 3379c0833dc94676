// Proof of apply (src/nginx/confirm.ts) against a tiny HTTP server on 127.0.0.1 playing nginx's /configuration/hash.
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { fetchHash, waitForHash } from '../../src/nginx/confirm.js';
import { freePort } from '../helpers/ports.js';

/** A server answering /configuration/hash with state.status and state.body (state may change meanwhile). */
async function hashServer(state: {
  status: number;
  body: string;
  hang?: boolean;
}): Promise<{ port: number; hits: string[]; close: () => Promise<void> }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    if (state.hang) return; // never answers
    res.writeHead(req.url === '/configuration/hash' ? state.status : 404).end(state.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('nginx/confirm', () => {
  const servers: { close: () => Promise<void> }[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });
  const serve = async (state: { status: number; body: string; hang?: boolean }) => {
    const server = await hashServer(state);
    servers.push(server);
    return server;
  };

  describe('fetchHash', () => {
    it('reads the hash from /configuration/hash, trimmed', async () => {
      const server = await serve({ status: 200, body: 'abc123\n' });
      assert.equal(await fetchHash(server.port), 'abc123');
      assert.deepEqual(server.hits, ['/configuration/hash']);
    });

    it('null for a non-200 answer, a closed port, and a server that does not answer in time', async () => {
      assert.equal(await fetchHash((await serve({ status: 503, body: 'abc' })).port), null);
      assert.equal(await fetchHash(await freePort()), null);
      const hung = await serve({ status: 200, body: 'abc', hang: true });
      const t0 = Date.now();
      assert.equal(await fetchHash(hung.port, 150), null);
      const took = Date.now() - t0;
      assert.ok(took >= 140 && took < 2000, `gave up after ${took} ms`);
    });
  });

  describe('waitForHash', () => {
    it('polls until the expected hash appears', async () => {
      const state = { status: 200, body: 'old' };
      const server = await serve(state);
      setTimeout(() => {
        state.body = 'new';
      }, 150);
      const t0 = Date.now();
      assert.equal(await waitForHash(server.port, 'new', 5000), true);
      assert.ok(Date.now() - t0 >= 140);
      assert.ok(server.hits.length >= 2, 'asked more than once');
    });

    it('false once the timeout passes while another hash is served', async () => {
      const server = await serve({ status: 200, body: 'old' });
      const t0 = Date.now();
      assert.equal(await waitForHash(server.port, 'new', 300), false);
      const took = Date.now() - t0;
      assert.ok(took >= 300 && took < 1500, `${took} ms`);
    });

    it('stopOnOther: a fresh nginx answering another hash is given up on at once; no answer yet is waited for', async () => {
      const server = await serve({ status: 200, body: 'other' });
      const t0 = Date.now();
      assert.equal(await waitForHash(server.port, 'new', 5000, () => true, true), false);
      assert.ok(Date.now() - t0 < 1000);
      assert.equal(server.hits.length, 1);
      const state = { status: 503, body: '' };
      const late = await serve(state);
      setTimeout(() => {
        state.status = 200;
        state.body = 'new';
      }, 100);
      assert.equal(
        await waitForHash(late.port, 'new', 5000, () => true, true),
        true,
        'not answering yet is not another hash',
      );
    });

    it('gives up as soon as the process behind the port is dead', async () => {
      const port = await freePort();
      let alive = true;
      setTimeout(() => {
        alive = false;
      }, 100);
      const t0 = Date.now();
      assert.equal(await waitForHash(port, 'h', 10_000, () => alive), false);
      assert.ok(Date.now() - t0 < 1500);
    });
  });
});
