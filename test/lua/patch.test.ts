// PATCH /configuration/backends: single backends added, changed and removed without a full push, as
// real traffic sees it (2 workers); validation all or nothing; canary references to stored backends;
// the name bookkeeping a later POST relies on; a full dict; a dict left by the pre-bucket Lua code.
import assert from 'node:assert/strict';
import {
  applyPatch,
  type BackendSpec,
  bigBackends,
  type EchoGroup,
  type LuaNginx,
  many,
  patchBackends,
  startEchoServers,
  startLuaNginx,
} from '../helpers/lua-nginx.js';

type Stored = BackendSpec & { version: number; canary?: unknown };

describe('lua data plane: PATCH /configuration/backends (real nginx, 2 workers)', function () {
  this.timeout(120_000);
  let nginx: LuaNginx;
  let pods: EchoGroup; // 127.0.0.101..103

  before(async () => {
    pods = await startEchoServers([1, 2, 3].map((i) => ({ name: `pod-${i}`, address: `127.0.0.10${i}` })));
    nginx = await startLuaNginx(
      ['a', 'b', 'c', 'main'].map((name) => ({ path: `/${name}/`, backend: name })),
      {
        // test-only: writes a dict as the Lua code before the name buckets left it (one ":names" string)
        extraServer: `        location = /legacy-names {
            content_by_lua_block {
                local d = ngx.shared.ingress_templater
                for _, n in ipairs({ "old1", "old2" }) do
                    d:set(n, 1)
                    d:set("b:" .. n, '{"name":"' .. n .. '","loadBalance":"round_robin","endpoints":[]}')
                end
                d:set(":names", "old1\\nold2")
            }
        }`,
      },
    );
  });

  after(async () => {
    await nginx?.stop();
    await pods?.close();
  });

  const pod = (i: number) => pods.servers[i]!;
  const byName = async () => new Map((await nginx.current()).backends.map((b) => [b.name, b as Stored]));
  // fresh connections, spread over both workers by reuseport
  const served = async (path: string, requests = 20) => {
    const replies = await many(requests, () => nginx.get(path));
    return {
      bodies: new Set(replies.map((r) => (r.status === 200 ? r.body : `status ${r.status}`))),
      workers: new Set(replies.map((r) => String(r.headers['x-worker']))),
    };
  };

  it('adds, changes and removes single backends; the next request on either worker sees it', async () => {
    const { version: v0 } = await nginx.push([
      { name: 'a', endpoints: [pod(0).endpoint] },
      { name: 'b', endpoints: [pod(0).endpoint] },
    ]);
    assert.deepEqual((await served('/a/')).bodies, new Set([pod(0).name]));
    assert.deepEqual((await served('/c/')).bodies, new Set(['status 503']));

    assert.deepEqual(await applyPatch(nginx, { backends: [{ name: 'c', endpoints: [pod(2).endpoint] }] }), {
      version: v0 + 1,
      changed: 1,
      removed: 0,
    });
    let seen = await served('/c/');
    assert.deepEqual(seen.bodies, new Set([pod(2).name]));
    assert.equal(seen.workers.size, 2, 'both workers answered');

    assert.deepEqual(await applyPatch(nginx, { backends: [{ name: 'a', endpoints: [pod(1).endpoint] }] }), {
      version: v0 + 2,
      changed: 1,
      removed: 0,
    });
    seen = await served('/a/');
    assert.deepEqual(seen.bodies, new Set([pod(1).name]));
    assert.equal(seen.workers.size, 2, 'both workers answered');
    let cur = await byName();
    assert.equal(cur.get('a')!.version, v0 + 2);
    assert.equal(cur.get('b')!.version, v0, 'an untouched backend keeps its version');
    assert.equal(cur.get('c')!.version, v0 + 1);

    assert.deepEqual(await applyPatch(nginx, { removed: ['b'] }), { version: v0 + 3, changed: 0, removed: 1 });
    assert.deepEqual((await served('/b/')).bodies, new Set(['status 503']));
    assert.deepEqual(
      (await nginx.current()).backends.map((b) => b.name),
      ['a', 'c'],
    );

    // removing what is not stored is no error and counts nothing; an equal backend is no change
    assert.deepEqual(
      await applyPatch(nginx, {
        backends: [{ name: 'a', endpoints: [pod(1).endpoint, pod(1).endpoint] }],
        removed: ['b', 'never-stored'],
      }),
      { version: v0 + 4, changed: 0, removed: 0 },
    );
    // both fields are optional, and cjson reads {} as an empty list
    assert.deepEqual(await applyPatch(nginx, {}), { version: v0 + 5, changed: 0, removed: 0 });
    const reply = await patchBackends(nginx, '{"backends":{},"removed":{}}');
    assert.equal(reply.status, 201, reply.body);
    assert.deepEqual(JSON.parse(reply.body), { version: v0 + 6, changed: 0, removed: 0 });

    cur = await byName();
    assert.equal(cur.get('a')!.version, v0 + 2, 'no version bump without a change');
    assert.equal((await nginx.current()).version, v0 + 6, 'the global counter moves on every accepted patch');

    // add and remove in one patch
    assert.deepEqual(
      await applyPatch(nginx, {
        backends: [{ name: 'b', endpoints: [pod(2).endpoint] }],
        removed: ['c'],
      }),
      { version: v0 + 7, changed: 1, removed: 1 },
    );
    assert.deepEqual((await served('/b/')).bodies, new Set([pod(2).name]));
    assert.deepEqual((await served('/c/')).bodies, new Set(['status 503']));
  });

  it('refuses every malformed patch with 400 and where/what, and changes nothing', async () => {
    await nginx.push([
      { name: 'a', endpoints: [pod(0).endpoint] },
      { name: 'b', endpoints: [pod(1).endpoint] },
      { name: 'alt', endpoints: [pod(2).endpoint] },
    ]);
    const before = await nginx.current();
    const ep = { address: '127.0.0.1', port: 8080 };
    const ok = (over: Record<string, unknown> = {}) => ({ name: 'x', endpoints: [ep], ...over });
    const many20001 = Array.from({ length: 20001 }, (_, i) => `n${i}`);
    const cases: [string, unknown, RegExp][] = [
      ['bad JSON', '{"removed": [', /^body: not valid JSON/],
      ['empty body', '', /^body: empty/],
      ['a JSON array', '[]', /^body: must be a JSON object$/],
      ['unknown top-level field', { removed: [], drop: ['a'] }, /^drop: unknown field$/],
      ['backends a string', { backends: 'a' }, /^backends: must be an array$/],
      ['backends null', { backends: null }, /^backends: must be an array$/],
      ['backends false', { backends: false }, /^backends: must be an array$/],
      ['backends an object', { backends: { a: 1 } }, /^backends: must be an array$/],
      ['removed a string', { removed: 'a' }, /^removed: must be an array$/],
      ['removed null', { removed: null }, /^removed: must be an array$/],
      ['removed an object', { removed: { a: 1 } }, /^removed: must be an array$/],
      ['removed a number', { removed: ['a', 5] }, /^removed\[1\]: must be a backend name/],
      ['removed upper case', { removed: ['A'] }, /^removed\[0\]: must be a backend name/],
      ['removed empty name', { removed: [''] }, /^removed\[0\]: must be a backend name/],
      ['removed with a colon', { removed: ['b:a'] }, /^removed\[0\]: must be a backend name/],
      ['removed twice', { removed: ['a', 'b', 'a'] }, /^removed\[2\]: duplicate of removed\[0\] \("a"\)$/],
      [
        'removed and patched',
        { backends: [ok({ name: 'q' }), ok({ name: 'b' })], removed: ['a', 'b'] },
        /^removed\[1\]: also in backends\[1\] \("b"\)$/,
      ],
      ['too many removed', { removed: many20001 }, /^removed: more than 20000 names$/],
      [
        'too many backends',
        { backends: many20001.map((name) => ({ name, endpoints: [] })) },
        /^backends: more than 20000 backends$/,
      ],
      [
        'duplicate backend',
        { backends: [ok(), ok({ name: 'y' }), ok()] },
        /^backends\[2\]\.name: duplicate of backends\[0\]/,
      ],
      [
        'a bad removal after valid changes',
        { backends: [{ name: 'a', endpoints: [pod(2).endpoint] }], removed: ['b', '-x'] },
        /^removed\[1\]: must be a backend name/,
      ],
    ];
    for (const [what, body, error] of cases) {
      const reply = await patchBackends(nginx, body);
      assert.equal(reply.status, 400, `${what}: ${reply.status} ${reply.body}`);
      assert.equal(reply.headers['content-type'], 'application/json');
      assert.match((JSON.parse(reply.body) as { error: string }).error, error, what);
    }
    assert.deepEqual(await nginx.current(), before, 'version and set untouched');
    assert.deepEqual((await served('/a/', 6)).bodies, new Set([pod(0).name]));
    assert.deepEqual((await served('/b/', 6)).bodies, new Set([pod(1).name]));
  });

  it('refuses an invalid backend alone (207): the rest of the patch (changes, removals) lands, the refused one keeps what is stored', async () => {
    const ep = { address: '127.0.0.1', port: 8080 };
    const cases: [string, unknown, string][] = [
      [
        'a bad address',
        { name: 'a', endpoints: [{ address: 'nope', port: 1 }] },
        'backends[0].endpoints[0].address: not an IP address',
      ],
      [
        'a canary to an unknown backend',
        { name: 'a', endpoints: [ep], canary: { backend: 'nowhere' } },
        'backends[0].canary.backend: no backend "nowhere" in this patch or stored',
      ],
      [
        'a canary to a backend this patch removes',
        { name: 'a', endpoints: [ep], canary: { backend: 'c' } },
        'backends[0].canary.backend: "c" is removed by this patch (removed[0])',
      ],
    ];
    for (const [what, invalid, error] of cases) {
      await nginx.push([
        { name: 'a', endpoints: [pod(0).endpoint] },
        { name: 'b', endpoints: [pod(1).endpoint] },
        { name: 'c', endpoints: [pod(2).endpoint] },
      ]);
      const before = await byName();
      const reply = await patchBackends(nginx, {
        backends: [invalid, { name: 'b', endpoints: [pod(2).endpoint] }],
        removed: ['c'],
      });
      assert.equal(reply.status, 207, `${what}: ${reply.body}`);
      const answer = JSON.parse(reply.body) as { changed: number; removed: number; refused: unknown[] };
      assert.deepEqual([answer.changed, answer.removed, answer.refused], [1, 1, [{ name: 'a', error }]], what);
      const after = await byName();
      assert.deepEqual(after.get('a'), before.get('a'), `${what}: a as stored before`);
      assert.equal(after.has('c'), false, `${what}: c removed`);
      assert.deepEqual((await served('/a/')).bodies, new Set([pod(0).name]), what);
      assert.deepEqual((await served('/b/')).bodies, new Set([pod(2).name]), what);
    }
  });

  it('a canary may name a stored backend the patch keeps; its traffic then goes there', async () => {
    await nginx.push([
      { name: 'main', endpoints: [pod(0).endpoint] },
      { name: 'alt', endpoints: [pod(2).endpoint] },
      { name: 'other', endpoints: [] },
    ]);
    // alt is only stored, not in the patch; removing another backend in the same patch is fine
    const res = await applyPatch(nginx, {
      backends: [{ name: 'main', endpoints: [pod(0).endpoint], canary: { backend: 'alt', weight: 100 } }],
      removed: ['other'],
    });
    assert.deepEqual([res.changed, res.removed], [1, 1]);
    assert.deepEqual((await served('/main/')).bodies, new Set([pod(2).name]));
    assert.deepEqual((await byName()).get('main')!.canary, { backend: 'alt', weight: 100, weightTotal: 100 });

    // the canary rule of a patch is checked against the set as stored now
    const refused = await patchBackends(nginx, {
      backends: [{ name: 'main', endpoints: [pod(0).endpoint], canary: { backend: 'other' } }],
    });
    assert.equal(refused.status, 207, refused.body);
    assert.deepEqual(JSON.parse(refused.body).refused, [
      { name: 'main', error: 'backends[0].canary.backend: no backend "other" in this patch or stored' },
    ]);
    assert.deepEqual((await served('/main/')).bodies, new Set([pod(2).name]), 'main keeps its stored canary');
    // in the same patch is fine too
    await applyPatch(nginx, {
      backends: [
        { name: 'main', endpoints: [pod(0).endpoint], canary: { backend: 'alt2', weight: 100 } },
        { name: 'alt2', endpoints: [pod(1).endpoint] },
      ],
    });
    assert.deepEqual((await served('/main/')).bodies, new Set([pod(1).name]));
  });

  it('a POST after patches deletes exactly the backends it omits', async () => {
    const eps = (i: number) => [{ address: `10.1.${i >> 8}.${i & 255}`, port: 80 }];
    // enough names that many share a bucket
    const first = Array.from({ length: 1500 }, (_, i) => ({ name: `s-${i}`, endpoints: eps(i) }));
    const { version: v0 } = await nginx.push(first);
    const gone = first.filter((_, i) => i % 3 === 0).map((b) => b.name);
    assert.equal((await applyPatch(nginx, { removed: gone })).removed, 500);
    const added = Array.from({ length: 700 }, (_, i) => ({ name: `p-${i}`, endpoints: eps(i) }));
    for (let i = 0; i < added.length; i += 100) await applyPatch(nginx, { backends: added.slice(i, i + 100) });
    await applyPatch(nginx, { backends: [{ name: 'a', endpoints: [pod(0).endpoint] }], removed: ['p-0', 's-1'] });

    const stored = new Set([
      ...first.map((b) => b.name).filter((n) => !gone.includes(n) && n !== 's-1'),
      ...added.map((b) => b.name).filter((n) => n !== 'p-0'),
      'a',
    ]);
    const cur = await nginx.current();
    assert.deepEqual(
      cur.backends.map((b) => b.name),
      [...stored].sort(),
      'GET lists exactly the patched set',
    );
    assert.equal(cur.version, v0 + 9);

    // keep every other stored name, plus one new one
    const keep = [...stored].filter((_, i) => i % 2 === 0);
    const res = await nginx.push([
      ...keep.map((name) => ({ name, endpoints: name === 'a' ? [pod(1).endpoint] : [] })),
      { name: 'c', endpoints: [pod(2).endpoint] },
    ]);
    assert.equal(res.removed, stored.size - keep.length);
    assert.deepEqual(
      (await nginx.current()).backends.map((b) => b.name),
      [...keep, 'c'].sort(),
    );
    // and the buckets are exact again: dropping everything removes exactly what is left
    assert.deepEqual(await nginx.push([]), { version: res.version + 1, changed: 0, removed: keep.length + 1 });
    assert.deepEqual((await nginx.current()).backends, []);
  });

  it('concurrent patches are applied one at a time, each with its own version', async () => {
    const { version: v0 } = await nginx.push([]);
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        patchBackends(nginx, {
          backends: [{ name: `con-${i}`, endpoints: [{ address: '127.0.0.1', port: 1000 + i }] }],
        }),
      ),
    );
    assert.deepEqual(
      replies.map((r) => r.status),
      Array(10).fill(201),
    );
    const versions = replies.map((r) => JSON.parse(r.body).version as number).sort((x, y) => x - y);
    assert.deepEqual(
      versions,
      Array.from({ length: 10 }, (_, i) => v0 + 1 + i),
    );
    assert.equal((await nginx.current()).backends.length, 10);
  });

  it('picks up a dict written by the one-string bookkeeping: GET shows it, PATCH and POST remove from it', async () => {
    await nginx.push([]);
    const reply = await nginx.get('/legacy-names');
    assert.equal(reply.status, 200);
    assert.deepEqual(
      (await nginx.current()).backends.map((b) => b.name),
      ['old1', 'old2'],
    );
    assert.deepEqual((await applyPatch(nginx, { removed: ['old1'] })).removed, 1);
    assert.deepEqual(
      (await nginx.current()).backends.map((b) => b.name),
      ['old2'],
    );
    assert.equal((await nginx.push([{ name: 'a', endpoints: [] }])).removed, 1);
    assert.deepEqual(
      (await nginx.current()).backends.map((b) => b.name),
      ['a'],
    );
  });

  it('answers 405 with Allow listing PATCH, and 403 to a PATCH with a foreign Host', async () => {
    for (const method of ['PUT', 'DELETE', 'OPTIONS']) {
      const reply = await nginx.post('{}', { method });
      assert.equal(reply.status, 405, method);
      assert.equal(reply.headers.allow, 'GET, HEAD, POST, PATCH');
    }
    const before = await nginx.current();
    const wrongHost = await patchBackends(nginx, { removed: ['a'] }, { headers: { host: 'evil.example.com' } });
    assert.equal(wrongHost.status, 403);
    const wrongOrigin = await patchBackends(
      nginx,
      { removed: ['a'] },
      { headers: { origin: 'http://evil.example.com' } },
    );
    assert.equal(wrongOrigin.status, 403);
    assert.deepEqual(await nginx.current(), before);
  });
});

describe('lua data plane: PATCH into a full shared dict (real nginx, 1m dict)', function () {
  this.timeout(60_000);
  let nginx: LuaNginx;
  let pods: EchoGroup;

  before(async () => {
    pods = await startEchoServers([{ name: 'pod-1', address: '127.0.0.104' }]);
    nginx = await startLuaNginx([{ path: '/tea/', backend: 'tea' }], { dictSize: '1m' });
  });

  after(async () => {
    await nginx?.stop();
    await pods?.close();
  });

  it('fails with 507, evicts nothing, and the next POST deletes what the patch half wrote', async () => {
    const tea = { name: 'tea', endpoints: pods.endpoints };
    await nginx.push([tea]);
    const big = bigBackends(3000);
    const reply = await patchBackends(nginx, { backends: big });
    assert.equal(reply.status, 507, reply.body);
    assert.match(
      JSON.parse(reply.body).error,
      /^shared dict ingress_templater is full or failing at big-\d+: no memory$/,
    );
    assert.equal((await nginx.get('/tea/')).body, 'pod-1');

    const written = (await nginx.current()).backends.filter((b) => b.name.startsWith('big-')).length;
    assert.ok(written > 0, 'some were written before the dict filled up');
    assert.equal((await nginx.push([tea])).removed, written);
    assert.deepEqual(
      (await nginx.current()).backends.map((b) => b.name),
      ['tea'],
    );
  });
});
