// The load-balancing algorithms of nginx/lua, through a real nginx with 2 workers and real backends.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { countBy, type EchoGroup, type LuaNginx, many, startEchoServers, startLuaNginx } from '../helpers/lua-nginx.js';

const md5 = (s: string) => crypto.createHash('md5').update(s).digest('hex');

describe('lua data plane: load balancing (real nginx, 2 workers)', function () {
  this.timeout(60_000);
  let nginx: LuaNginx;
  let pods: EchoGroup; // 127.0.0.21..24
  let ewmaPods: EchoGroup; // 127.0.0.31..33, the last one 50 ms slower

  before(async () => {
    pods = await startEchoServers([1, 2, 3, 4].map((i) => ({ name: `pod-${i}`, address: `127.0.0.2${i}` })));
    ewmaPods = await startEchoServers([
      { name: 'fast-1', address: '127.0.0.31' },
      { name: 'fast-2', address: '127.0.0.32' },
      { name: 'slow', address: '127.0.0.33', delayMs: 50 },
    ]);
    nginx = await startLuaNginx([
      { path: '/rr/', backend: 'rr' },
      { path: '/random/', backend: 'rand' },
      { path: '/chash/', backend: 'ch' },
      { path: '/chash2/', backend: 'ch2' },
      { path: '/sticky/', backend: 'sticky', affinity: true },
      { path: '/ewma/', backend: 'ew', ewma: true },
    ]);
  });

  after(async () => {
    await nginx?.stop();
    await pods?.close();
    await ewmaPods?.close();
  });

  it('round robin rotates exactly across both workers: k*N requests, each endpoint exactly k times', async () => {
    const eps = pods.endpoints;
    await nginx.push([{ name: 'rr', endpoints: eps }]);
    const endpointCount = eps.length;
    const perEndpoint = 25;
    const replies = await many(perEndpoint * endpointCount, () => nginx.get('/rr/x'));
    assert.ok(
      replies.every((r) => r.status === 200),
      'all answered',
    );
    const who = replies.map((r) => r.body);
    const workers = new Set(replies.map((r) => r.headers['x-worker']));
    assert.equal(workers.size, 2, 'both workers took requests, so the rotation is shared, not per worker');
    assert.deepEqual(
      [...countBy(who).entries()].sort(),
      pods.servers.map((s) => [s.name, perEndpoint]),
    );
    for (let i = endpointCount; i < who.length; i++)
      assert.equal(who[i], who[i - endpointCount], `request ${i} continues the rotation`);
  });

  it('random spreads uniformly (3000 requests over 3 endpoints) and is not a rotation', async () => {
    const eps = pods.endpoints.slice(0, 3);
    await nginx.push([{ name: 'rand', endpoints: eps, loadBalance: 'random' }]);
    const replies = await many(3000, () => nginx.get('/random/x'), 8);
    assert.ok(replies.every((r) => r.status === 200));
    const counts = countBy(replies.map((r) => r.body));
    assert.equal(counts.size, 3);
    for (const [pod, hits] of counts) assert.ok(hits >= 800 && hits <= 1200, `${pod} got ${hits}`);
    // one after another, a uniform pick repeats the previous endpoint about 1 time in 3
    const seq = (await many(300, () => nginx.get('/random/x'))).map((r) => r.body);
    const repeats = seq.filter((p, i) => i > 0 && p === seq[i - 1]).length;
    assert.ok(repeats > 50 && repeats < 150, `${repeats} immediate repeats in 300`);
  });

  it('chash: a key always reaches the same endpoint, keys spread, removing one endpoint moves only its keys', async () => {
    const eps = pods.endpoints.slice(0, 3);
    await nginx.push([{ name: 'ch', endpoints: eps, loadBalance: 'chash', hashBy: '$request_uri' }]);
    const keys = Array.from({ length: 300 }, (_, i) => `/chash/key-${i}?u=${i * 7}`);
    const route = async () => (await many(keys.length, (i) => nginx.get(keys[i]!), 4)).map((r) => r.body);
    const first = await route();
    const again = await route();
    assert.deepEqual(again, first, 'same key, same endpoint (whichever worker)');
    const counts = countBy(first);
    assert.equal(counts.size, 3);
    for (const [pod, hits] of counts) assert.ok(hits >= 45, `${pod} got only ${hits} of 300 keys`);

    // endpoint order in the push does not matter
    await nginx.push([{ name: 'ch', endpoints: [...eps].reverse(), loadBalance: 'chash', hashBy: '$request_uri' }]);
    assert.deepEqual(await route(), first, 'reordered endpoints, same ring');

    const removed = pods.servers[2]!.name;
    await nginx.push([{ name: 'ch', endpoints: eps.slice(0, 2), loadBalance: 'chash', hashBy: '$request_uri' }]);
    const after = await route();
    let stayed = 0;
    let others = 0;
    for (let i = 0; i < keys.length; i++) {
      assert.notEqual(after[i], removed);
      if (first[i] !== removed) {
        others++;
        if (after[i] === first[i]) stayed++;
      }
    }
    assert.ok(stayed / others >= 0.9, `${stayed} of ${others} keys stayed on their endpoint`);
  });

  it('chash concatenates several hashBy variables into the key', async () => {
    await nginx.push([{ name: 'ch2', endpoints: pods.endpoints, loadBalance: 'chash', hashBy: '$http_x_a$http_x_b' }]);
    const get = (a: string, b: string) => nginx.get('/chash2/', { headers: { 'x-a': a, 'x-b': b } });
    // "ab"+"c" and "a"+"bc" are the same key
    for (let i = 0; i < 20; i++) {
      const joinedFirst = await get(`k${i}-ab`, 'c');
      const joinedSecond = await get(`k${i}-a`, 'bc');
      assert.equal(joinedFirst.body, joinedSecond.body);
    }
    // the second variable matters: varying it alone reaches several endpoints
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) seen.add((await get('fixed', `v${i}`)).body);
    assert.ok(seen.size >= 3, `only ${[...seen].join(',')}`);
  });

  it('cookie affinity: pins with a cookie, sticks for 20 requests, re-pins when the endpoint is gone', async () => {
    const eps = pods.endpoints.slice(0, 3);
    const affinity = { name: 'INGRESSCOOKIE', maxAge: 172800, path: '/' };
    await nginx.push([{ name: 'sticky', endpoints: eps, affinity }]);

    const first = await nginx.get('/sticky/a');
    assert.equal(first.status, 200);
    const setCookie = first.headers['set-cookie'] ?? [];
    assert.equal(setCookie.length, 1, 'one Set-Cookie');
    const match = /^INGRESSCOOKIE=([0-9a-f]{32}); Path=\/; Max-Age=172800; HttpOnly$/.exec(setCookie[0]!);
    assert.ok(match, `Set-Cookie: ${setCookie[0]}`);
    const pinned = pods.byName.get(first.body)!;
    assert.equal(
      match[1],
      md5(`${pinned.address}:${pinned.port}`),
      'the value is md5("address:port") of the endpoint that answered',
    );

    const cookie = `other=1; INGRESSCOOKIE=${match[1]}`;
    const sticky = await many(20, () => nginx.get('/sticky/b', { headers: { cookie } }));
    assert.deepEqual(
      sticky.map((r) => r.body),
      Array(20).fill(pinned.name),
    );
    assert.ok(
      sticky.every((r) => r.headers['set-cookie'] === undefined),
      'no new cookie while it is valid',
    );

    // without the cookie the backend's own algorithm (round robin) applies
    const free = await many(3, () => nginx.get('/sticky/c'));
    assert.equal(new Set(free.map((r) => r.body)).size, 3);

    // the pinned endpoint leaves: the old cookie is re-pinned to one still there
    await nginx.push([{ name: 'sticky', endpoints: eps.filter((e) => e.port !== pinned.port), affinity }]);
    const moved = await nginx.get('/sticky/d', { headers: { cookie } });
    assert.equal(moved.status, 200);
    assert.notEqual(moved.body, pinned.name);
    const m2 = /^INGRESSCOOKIE=([0-9a-f]{32});/.exec(moved.headers['set-cookie']?.[0] ?? '');
    assert.ok(m2, 're-pinned with a new cookie');
    const repinned = pods.byName.get(moved.body)!;
    assert.equal(m2[1], md5(`${repinned.address}:${repinned.port}`));
    const again = await many(10, () => nginx.get('/sticky/e', { headers: { cookie: `INGRESSCOOKIE=${m2[1]}` } }));
    assert.deepEqual(
      again.map((r) => r.body),
      Array(10).fill(repinned.name),
    );

    // a value naming no endpoint is replaced too
    const bogus = await nginx.get('/sticky/f', {
      headers: { cookie: 'INGRESSCOOKIE=0123456789abcdef0123456789abcdef' },
    });
    assert.match(
      String(bogus.headers['set-cookie']),
      /^INGRESSCOOKIE=[0-9a-f]{32}; Path=\/; Max-Age=172800; HttpOnly$/,
    );

    // no maxAge: a session cookie; the path is the configured one
    await nginx.push([{ name: 'sticky', endpoints: eps, affinity: { name: 'route', path: '/sticky' } }]);
    const session = await nginx.get('/sticky/g');
    assert.match(String(session.headers['set-cookie']), /^route=[0-9a-f]{32}; Path=\/sticky; HttpOnly$/);
  });

  it('ewma sends clearly fewer requests to an endpoint that is 50 ms slower', async () => {
    await nginx.push([{ name: 'ew', endpoints: ewmaPods.endpoints, loadBalance: 'ewma' }]);
    for (const server of ewmaPods.servers) server.hits = 0;
    const total = 150;
    const replies = await many(total, () => nginx.get('/ewma/x'));
    assert.ok(replies.every((r) => r.status === 200));
    const counts = countBy(replies.map((r) => r.body));
    const slow = counts.get('slow') ?? 0;
    console.log(`      ewma: ${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    assert.ok(slow <= total * 0.1, `slow endpoint got ${slow} of ${total}`);
    assert.ok((counts.get('fast-1') ?? 0) >= total * 0.2, `fast-1 got ${counts.get('fast-1')}`);
    assert.ok((counts.get('fast-2') ?? 0) >= total * 0.2, `fast-2 got ${counts.get('fast-2')}`);
  });
});
