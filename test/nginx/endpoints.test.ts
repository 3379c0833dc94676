import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostPort, payloadFor, Pusher } from '../../src/nginx/endpoints.js';
import { build, endpoints, ingress, path, rule, service } from '../helpers/resources.js';

describe('nginx/endpoints', () => {
  it('payloadFor: every backend with its endpoints and balancing, optional fields omitted, deterministic', () => {
    const res = [
      service({ name: 'web' }),
      endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.2', '10.0.0.1'] }] }),
      service({ name: 'api' }),
      ingress({
        name: 'a',
        annotations: {
          'nginx.ingress.kubernetes.io/affinity': 'cookie',
          'nginx.ingress.kubernetes.io/session-cookie-name': 'route',
        },
        rules: [rule('a.example.com', path('/', 'web'))],
      }),
      ingress({
        name: 'b',
        annotations: { 'nginx.ingress.kubernetes.io/upstream-hash-by': '$request_uri' },
        rules: [rule('b.example.com', path('/', 'api'))],
      }),
    ];
    const body = payloadFor(build(res).model);
    assert.deepEqual(JSON.parse(body), {
      backends: [
        { name: 'default_api_80', endpoints: [], loadBalance: 'chash', hashBy: '$request_uri' },
        {
          name: 'default_web_80',
          endpoints: [
            { address: '10.0.0.1', port: 8080 },
            { address: '10.0.0.2', port: 8080 },
          ],
          loadBalance: 'round_robin',
          affinity: { name: 'route', path: '/' },
        },
      ],
    });
    assert.equal(payloadFor(build([...res].reverse()).model), body);
    assert.ok(!body.includes('null'));
  });

  it('hostPort brackets IPv6', () => {
    assert.equal(hostPort({ address: '10.0.0.1', port: 80 }), '10.0.0.1:80');
    assert.equal(hostPort({ address: '::1', port: 80 }), '[::1]:80');
  });

  describe('Pusher', () => {
    let server: http.Server;
    let port: number;
    let answers: (number | { status: number; body: string })[];
    const received: { method: string; body: string }[] = [];
    const be = (name: string, address = '127.0.0.1') => ({
      name,
      endpoints: [{ address, port: 80 }],
      loadBalance: 'round_robin',
    });
    before(async () => {
      server = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c) => {
          body += c;
        });
        req.on('end', () => {
          received.push({ method: req.method ?? '', body });
          const answer = answers.shift() ?? 201;
          if (typeof answer === 'object') res.writeHead(answer.status).end(answer.body);
          else res.writeHead(answer).end(answer === 201 ? '{"version":1}' : '{"error":"no"}');
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as AddressInfo).port;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));
    beforeEach(() => {
      received.length = 0;
      answers = [];
    });
    const settle = async (pusher: Pusher) => {
      const deadline = Date.now() + 3000;
      while (!pusher.settled && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    };

    it('delivers the whole set first, skips a set nginx already has, and re-sends it all on resend()', async () => {
      let acks = 0;
      const pusher = new Pusher({
        port,
        onAck: () => {
          acks++;
        },
        onFailure: () => undefined,
      });
      await pusher.setBackends([be('a')], Date.now());
      await pusher.setBackends([be('a')], Date.now());
      assert.equal(received.length, 1);
      assert.equal(received[0]!.method, 'POST');
      assert.deepEqual(JSON.parse(received[0]!.body), { backends: [be('a')] });
      assert.ok(pusher.settled);
      await pusher.resend(Date.now());
      assert.equal(received.length, 2);
      assert.equal(received[1]!.method, 'POST');
      assert.deepEqual(JSON.parse(received[1]!.body), { backends: [be('a')] });
      assert.equal(acks, 2);
      pusher.stop();
    });

    it('holds a set until resend() while nginx is not up', async () => {
      const pusher = new Pusher({ port, onAck: () => undefined, onFailure: () => undefined });
      await pusher.setBackends([be('a')], Date.now(), 'hold');
      assert.equal(received.length, 0);
      await pusher.resend(Date.now());
      assert.equal(received.length, 1);
      pusher.stop();
    });

    it('after the first set, sends only what changed (PATCH), including removals', async () => {
      const pusher = new Pusher({ port, onAck: () => undefined, onFailure: () => undefined });
      await pusher.setBackends([be('a'), be('b'), be('c')], Date.now());
      await pusher.updateBackends([be('b', '127.0.0.2'), be('c')], Date.now());
      assert.equal(received.length, 2);
      assert.equal(received[1]!.method, 'PATCH');
      assert.deepEqual(JSON.parse(received[1]!.body), { backends: [be('b', '127.0.0.2')], removed: [] });
      await pusher.setBackends([be('a'), be('b', '127.0.0.2')], Date.now());
      assert.equal(received[2]!.method, 'PATCH');
      assert.deepEqual(JSON.parse(received[2]!.body), { backends: [], removed: ['c'] });
      await pusher.updateBackends([be('a')], Date.now()); // unchanged: nothing to send
      assert.equal(received.length, 3);
      pusher.stop();
    });

    it('retries a refused push with backoff until it lands, the whole set again, and reports each failure', async () => {
      const failures: string[] = [];
      let acked = 0;
      const pusher = new Pusher({
        port,
        minBackoffMs: 10,
        onAck: () => {
          acked++;
        },
        onFailure: (e) => failures.push(e.message),
      });
      await pusher.setBackends([be('a')], Date.now());
      answers = [500, 400];
      await pusher.updateBackends([be('a', '127.0.0.2')], Date.now());
      await settle(pusher);
      assert.ok(pusher.settled, 'acknowledged in the end');
      assert.equal(acked, 2, 'the first set and the retry that landed');
      assert.equal(failures.length, 2);
      assert.match(failures[0]!, /500/);
      // the PATCH failed: nginx may hold anything now, so the retries send the whole set
      assert.deepEqual(
        received.map((r) => r.method),
        ['POST', 'PATCH', 'POST', 'POST'],
      );
      assert.deepEqual(JSON.parse(received.at(-1)!.body), { backends: [be('a', '127.0.0.2')] });
      pusher.stop();
    });

    it('a backend nginx refuses alone (207) is not sent again until it changes; the others are acknowledged', async () => {
      const refusedSeen: string[][] = [];
      let failures = 0;
      const pusher = new Pusher({
        port,
        minBackoffMs: 10,
        onAck: () => undefined,
        onFailure: () => {
          failures++;
        },
        onRefused: (now) => refusedSeen.push(now.map((r) => r.name)),
      });
      const partial = (name: string) => ({
        status: 207,
        body: JSON.stringify({
          version: 2,
          changed: 1,
          removed: 0,
          refused: [{ name, error: `backends[1].endpoints: more than 10000 endpoints` }],
        }),
      });
      answers = [partial('b')];
      await pusher.setBackends([be('a'), be('b')], Date.now());
      await settle(pusher);
      assert.ok(pusher.settled, 'a partly refused push is acknowledged');
      assert.deepEqual([...pusher.refused], [['b', 'backends[1].endpoints: more than 10000 endpoints']]);
      assert.deepEqual(refusedSeen, [['b']]);
      assert.equal(failures, 0);
      assert.equal(pusher.failing, 0);
      // another backend's change goes out alone: b is not resent
      await pusher.updateBackends([be('a', '127.0.0.2'), be('b')], Date.now());
      await new Promise((r) => setTimeout(r, 100)); // room for a resend loop to show itself
      assert.deepEqual(
        received.map((r) => r.method),
        ['POST', 'PATCH'],
      );
      assert.deepEqual(JSON.parse(received[1]!.body), { backends: [be('a', '127.0.0.2')], removed: [] });
      assert.deepEqual([...pusher.refused.keys()], ['b'], 'still refused: nginx keeps its old entry');
      // b changes and is accepted: no longer refused
      await pusher.updateBackends([be('b', '127.0.0.3')], Date.now());
      assert.deepEqual(JSON.parse(received[2]!.body), { backends: [be('b', '127.0.0.3')], removed: [] });
      assert.equal(pusher.refused.size, 0);
      // a 207 without a readable list is a failure, not an acknowledgement
      answers = [{ status: 207, body: 'garbage' }];
      await pusher.updateBackends([be('a')], Date.now());
      assert.ok(pusher.failing > 0, 'failing since the unreadable answer');
      await settle(pusher);
      assert.equal(pusher.failing, 0, 'the retry landed');
      assert.equal(failures, 1);
      pusher.stop();
    });

    it('a newer set supersedes one still failing: the newest is what lands', async () => {
      answers = [500];
      let lastAck = 0;
      const pusher = new Pusher({
        port,
        minBackoffMs: 50,
        onAck: (seenAt) => {
          lastAck = seenAt;
        },
        onFailure: () => undefined,
      });
      await pusher.setBackends([be('a')], 1);
      await pusher.setBackends([be('a', '127.0.0.2')], 2);
      await settle(pusher);
      assert.deepEqual(JSON.parse(received.at(-1)!.body), { backends: [be('a', '127.0.0.2')] });
      assert.equal(lastAck, 1, 'seenAt stays the first change not yet delivered');
      pusher.stop();
    });
  });
});
