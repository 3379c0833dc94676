// Endpoint changes without reloads: a push is served by the very next request, nginx keeps its
// workers, unknown or empty backends answer 503 at once, and refused endpoints are retried.
import assert from 'node:assert/strict';
import {
  type EchoGroup,
  type LuaNginx,
  many,
  refusedEndpoint,
  startEchoServers,
  startLuaNginx,
} from '../helpers/lua-nginx.js';
import { waitFor } from '../helpers/wait.js';

describe('lua data plane: endpoint changes without reloads (real nginx, 2 workers)', function () {
  this.timeout(60_000);
  let nginx: LuaNginx;
  let pods: EchoGroup; // 127.0.0.41..44
  let v6: EchoGroup | undefined;

  before(async () => {
    pods = await startEchoServers([1, 2, 3, 4].map((i) => ({ name: `pod-${i}`, address: `127.0.0.4${i}` })));
    nginx = await startLuaNginx([
      { path: '/app/', backend: 'app' },
      { path: '/empty/', backend: 'empty' },
      { path: '/unknown/', backend: 'never-pushed' },
      { path: '/sticky/', backend: 'sticky', affinity: true },
      { path: '/ewma/', backend: 'ew', ewma: true },
    ]);
  });

  after(async () => {
    await nginx?.stop();
    await pods?.close();
    await v6?.close();
  });

  it('the very next request after the POST ack reaches the new set, 100 times alternating', async () => {
    const [podA, podB, podC, podD] = pods.servers;
    const setA = [podA!, podB!];
    const setB = [podC!, podD!];
    const workers = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const set = i % 2 === 0 ? setA : setB;
      await nginx.push([{ name: 'app', endpoints: set.map((s) => s.endpoint) }]);
      const reply = await nginx.get('/app/x'); // no pause between the ack and the request
      assert.equal(reply.status, 200);
      assert.ok(
        set.some((s) => s.name === reply.body),
        `push ${i}: ${reply.body} is not in ${set.map((s) => s.name)}`,
      );
      workers.add(String(reply.headers['x-worker']));
    }
    assert.equal(workers.size, 2, 'both workers converged on their next request');
  });

  it('two pushes within the same second both take effect (versions are a counter, not a clock)', async () => {
    const [podA, podB] = pods.servers;
    const started = Date.now();
    const v1 = await nginx.push([{ name: 'app', endpoints: [podA!.endpoint] }]);
    const r1 = await many(6, () => nginx.get('/app/y'));
    const v2 = await nginx.push([{ name: 'app', endpoints: [podB!.endpoint] }]);
    const r2 = await many(6, () => nginx.get('/app/y'));
    assert.ok(Date.now() - started < 1000, 'all within one second');
    assert.ok(v2.version === v1.version + 1, `versions ${v1.version} then ${v2.version}`);
    assert.deepEqual(
      r1.map((r) => r.body),
      Array(6).fill(podA!.name),
    );
    assert.deepEqual(
      r2.map((r) => r.body),
      Array(6).fill(podB!.name),
    );
  });

  it('100 endpoint changes cause no reload: the same master and worker processes serve throughout', async () => {
    const before = await nginx.workers();
    assert.equal(before.length, 2);
    for (let i = 0; i < 100; i++) {
      const server = pods.servers[i % 4]!;
      await nginx.push([{ name: 'app', endpoints: [server.endpoint] }]);
      assert.equal((await nginx.get('/app/z')).body, server.name);
    }
    assert.deepEqual(await nginx.workers(), before);
    assert.doesNotMatch(
      nginx.errorLog(),
      /signal process started|reconfiguring|start worker processes[\s\S]*start worker processes/,
    );
  });

  it('a reload (SIGHUP, as the controller does for other changes) keeps the pushed set: no 503 window', async () => {
    const server = pods.servers[2]!;
    const { version } = await nginx.push([{ name: 'app', endpoints: [server.endpoint] }]);
    const before = await nginx.workers();
    process.kill(nginx.master, 'SIGHUP');
    // old workers finish gracefully; wait until only new ones are left
    const after = await waitFor(
      async () => {
        const now = await nginx.workers();
        return now.length === 2 && now.every((p) => !before.includes(p)) && now;
      },
      { what: 'new workers after SIGHUP' },
    );
    assert.equal(after.length, 2);
    const replies = await many(10, () => nginx.get('/app/after-reload'));
    assert.deepEqual(
      replies.map((r) => r.body),
      Array(10).fill(server.name),
    );
    assert.equal((await nginx.current()).version, version, 'the shared dict survived the reload');
  });

  it('an empty endpoint list and an unknown backend answer 503 at once, and say so once per version', async () => {
    const pushed = await nginx.push([
      { name: 'app', endpoints: [pods.servers[0]!.endpoint] },
      { name: 'empty', endpoints: [] },
    ]);
    for (const requestPath of ['/empty/x', '/unknown/x']) {
      const replies = await many(20, () => nginx.get(requestPath));
      for (const reply of replies) {
        assert.equal(reply.status, 503, `${requestPath}: ${reply.status} ${reply.body}`);
        assert.ok(reply.ms < 100, `${requestPath} took ${reply.ms} ms`);
      }
    }
    assert.equal((await nginx.get('/app/x')).status, 200, 'other backends still served');
    const log = nginx.errorLog();
    const emptyLines = log
      .split('\n')
      .filter((l) => l.includes(`backend empty version ${pushed.version} has no endpoints`));
    const unknownLines = log.split('\n').filter((l) => l.includes('backend never-pushed is unknown'));
    assert.ok(emptyLines.length >= 1 && emptyLines.length <= 2, `${emptyLines.length} lines (one per worker at most)`);
    assert.ok(
      unknownLines.length >= 1 && unknownLines.length <= 2,
      `${unknownLines.length} lines (one per worker at most)`,
    );
    assert.doesNotMatch(log, /0\.0\.0\.1/, 'the placeholder server was never contacted');

    // a backend removed by a push is unknown from the next request on
    await nginx.push([{ name: 'empty', endpoints: [] }]);
    assert.equal((await nginx.get('/app/x')).status, 503);
  });

  it('a refused endpoint among live ones: 30 requests all succeed thanks to retries on other endpoints', async () => {
    const dead = await refusedEndpoint('127.0.0.45');
    const live = pods.servers.slice(0, 2);
    const refusals = () =>
      nginx
        .errorLog()
        .split('\n')
        .filter((l) => l.includes(`127.0.0.45:${dead.port}`) && l.includes('Connection refused')).length;
    for (const lb of ['round_robin', 'random', 'ewma'] as const) {
      const name = lb === 'ewma' ? 'ew' : 'app';
      await nginx.push([{ name, loadBalance: lb, endpoints: [live[0]!.endpoint, dead, live[1]!.endpoint] }]);
      const refusedBefore = refusals();
      const replies = await many(30, () => nginx.get(`/${name === 'ew' ? 'ewma' : 'app'}/r`));
      for (const reply of replies) {
        assert.equal(reply.status, 200, `${lb}: ${reply.status}`);
        assert.ok(live.some((s) => s.name === reply.body));
      }
      const tried = refusals() - refusedBefore;
      if (lb === 'round_robin') assert.equal(tried, 10, 'every third first try is the dead endpoint');
      // ewma charges the failed try ("dead, live" in $upstream_addr) and then avoids the endpoint
      if (lb === 'ewma') assert.ok(tried <= 4, `ewma tried the dead endpoint ${tried} times`);
    }
    // two endpoints, one dead: the only retry must go to the other one, never back to the dead one
    await nginx.push([{ name: 'app', loadBalance: 'random', endpoints: [dead, live[0]!.endpoint] }]);
    const pairs = await many(30, () => nginx.get('/app/r2'));
    assert.deepEqual(
      pairs.map((r) => r.body),
      Array(30).fill(live[0]!.name),
    );

    // with affinity pinned to the dead endpoint the request still succeeds, on another endpoint
    const cookieValue = (await import('node:crypto'))
      .createHash('md5')
      .update(`${dead.address}:${dead.port}`)
      .digest('hex');
    await nginx.push([{ name: 'sticky', endpoints: [dead, ...live.map((s) => s.endpoint)], affinity: { name: 'c' } }]);
    const pinnedDead = await many(10, () => nginx.get('/sticky/x', { headers: { cookie: `c=${cookieValue}` } }));
    assert.ok(
      pinnedDead.every((r) => r.status === 200),
      pinnedDead.map((r) => r.status).join(','),
    );

    // nothing alive: 502 after at most 3 tries, quickly
    const dead2 = await refusedEndpoint('127.0.0.46');
    const dead3 = await refusedEndpoint('127.0.0.47');
    await nginx.push([{ name: 'app', endpoints: [dead, dead2, dead3] }]);
    const allDead = await nginx.get('/app/none');
    assert.equal(allDead.status, 502);
    assert.ok(allDead.ms < 1000);
  });

  it('IPv6 endpoints are proxied to, in any spelling', async function () {
    try {
      v6 = await startEchoServers([{ name: 'v6-pod', address: '::1' }]);
    } catch {
      this.skip(); // no IPv6 loopback here
    }
    const port = v6!.servers[0]!.port;
    await nginx.push([{ name: 'app', endpoints: [{ address: '0:0:0:0:0:0:0:1', port }] }]);
    const reply = await nginx.get('/app/v6');
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'v6-pod');
    const cur = await nginx.current();
    assert.deepEqual(cur.backends.find((b) => b.name === 'app')!.endpoints, [{ address: '::1', port }]);

    // a retry recognises a refused IPv6 peer as tried ($upstream_addr prints it as [::1]:port)
    const dead = await refusedEndpoint('::1');
    await nginx.push([{ name: 'app', loadBalance: 'random', endpoints: [dead, pods.servers[0]!.endpoint] }]);
    const replies = await many(30, () => nginx.get('/app/v6'));
    assert.deepEqual(
      replies.map((x) => x.body),
      Array(30).fill(pods.servers[0]!.name),
    );
    assert.match(nginx.errorLog(), new RegExp(`\\(111: Connection refused\\)[^\\n]*\\[::1\\]:${dead.port}`));
  });
});
