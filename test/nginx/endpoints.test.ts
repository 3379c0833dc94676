import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostPort, payloadFor, Pusher } from '../../src/nginx/endpoints.js';
import { build, endpoints, ingress, path, rule, service } from '../helpers/resources.js';

describe('nginx/endpoints', () => {
  it('payloadFor: every backend with its endpoints and balancing, optional fields omitted, deterministic', () => {
    const res = [
      service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.2', '10.0.0.1'] }] }),
      service({ name: 'api' }),
      ingress({ name: 'a', annotations: { 'nginx.ingress.kubernetes.io/affinity': 'cookie', 'nginx.ingress.kubernetes.io/session-cookie-name': 'route' }, rules: [rule('a.example.com', path('/', 'web'))] }),
      ingress({ name: 'b', annotations: { 'nginx.ingress.kubernetes.io/upstream-hash-by': '$request_uri' }, rules: [rule('b.example.com', path('/', 'api'))] }),
    ];
    const body = payloadFor(build(res).model);
    assert.deepEqual(JSON.parse(body), {
      backends: [
        { name: 'default-api-80', endpoints: [], loadBalance: 'chash', hashBy: '$request_uri' },
        { name: 'default-web-80', endpoints: [{ address: '10.0.0.1', port: 8080 }, { address: '10.0.0.2', port: 8080 }], loadBalance: 'round_robin', affinity: { name: 'route', path: '/' } },
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
    let answers: number[];
    const received: string[] = [];
    before(async () => {
      server = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c) => { body += c; });
        req.on('end', () => {
          received.push(body);
          const status = answers.shift() ?? 201;
          res.writeHead(status).end(status === 201 ? '{"version":1}' : '{"error":"no"}');
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as AddressInfo).port;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));
    beforeEach(() => { received.length = 0; answers = []; });

    it('delivers, skips a body nginx already has, and re-sends when forced', async () => {
      let acks = 0;
      const p = new Pusher({ port, onAck: () => { acks++; }, onFailure: () => undefined });
      await p.push('{"backends":[]}', Date.now());
      await p.push('{"backends":[]}', Date.now());
      assert.equal(received.length, 1);
      assert.ok(p.settled);
      await p.push('{"backends":[]}', Date.now(), true);
      assert.equal(received.length, 2);
      assert.equal(acks, 2);
      p.stop();
    });

    it('retries a refused push with backoff until it lands, and reports each failure', async () => {
      answers = [500, 400];
      const failures: string[] = [];
      let acked = false;
      const p = new Pusher({ port, minBackoffMs: 10, onAck: () => { acked = true; }, onFailure: (e) => failures.push(e.message) });
      await p.push('{"backends":[1]}', Date.now());
      const deadline = Date.now() + 3000;
      while (!acked && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.ok(acked, 'acknowledged in the end');
      assert.equal(failures.length, 2);
      assert.match(failures[0]!, /500/);
      assert.equal(received.length, 3);
      p.stop();
    });

    it('a newer body supersedes one still failing: the newest is what lands', async () => {
      answers = [500];
      let lastAck = 0;
      const p = new Pusher({ port, minBackoffMs: 50, onAck: (seenAt) => { lastAck = seenAt; }, onFailure: () => undefined });
      await p.push('{"v":1}', 1);
      await p.push('{"v":2}', 2);
      const deadline = Date.now() + 3000;
      while (!p.settled && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(received.at(-1), '{"v":2}');
      assert.equal(lastAck, 2);
      p.stop();
    });
  });
});
