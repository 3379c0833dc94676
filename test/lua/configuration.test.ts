// POST/GET /configuration/backends: validation (a malformed push refused whole, an invalid backend alone),
// the loopback Host check, methods, counters, the body limit, and how long a large push takes to be acknowledged.
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  type BackendSpec,
  bigBackends,
  type EchoGroup,
  type LuaNginx,
  startEchoServers,
  startLuaNginx,
} from '../helpers/lua-nginx.js';

describe('lua data plane: /configuration/backends (real nginx)', function () {
  this.timeout(120_000);
  let nginx: LuaNginx;
  let pods: EchoGroup; // 127.0.0.51..52
  let baseline: BackendSpec[];

  before(async () => {
    pods = await startEchoServers([1, 2].map((i) => ({ name: `pod-${i}`, address: `127.0.0.5${i}` })));
    nginx = await startLuaNginx([
      { path: '/tea/', backend: 'default_tea-svc_80' },
      ...Array.from({ length: 10 }, (_, i) => ({ path: `/push${i}/`, backend: `push${i}-b0` })),
    ]);
    baseline = [{ name: 'default_tea-svc_80', endpoints: [pods.servers[0]!.endpoint] }];
  });

  after(async () => {
    await nginx?.stop();
    await pods?.close();
  });

  const ep = { address: '127.0.0.1', port: 8080 };
  const ok = (over: Record<string, unknown> = {}) => ({ name: 'b', endpoints: [ep], ...over });
  const withBackends = (...backends: unknown[]) => ({ backends });
  type Case = [string, unknown, RegExp];

  // [what, body, expected error text]: a push nothing in which can be trusted, refused whole
  const malformed: Case[] = [
    ['bad JSON', '{"backends": [', /^body: not valid JSON/],
    ['trailing garbage', '{"backends": []} x', /^body: not valid JSON/],
    [
      'NaN',
      '{"backends": [{"name": "b", "endpoints": [{"address": "127.0.0.1", "port": NaN}]}]}',
      /^body: not valid JSON/,
    ],
    ['empty body', '', /^body: empty/],
    ['a JSON string', '"x"', /^body: must be a JSON object/],
    ['no backends', {}, /^backends: must be an array/],
    ['backends an object', { backends: { a: 1 } }, /^backends: must be an array/],
    ['backends null', { backends: null }, /^backends: must be an array/],
    ['unknown top-level field', { backends: [], extra: 1 }, /^extra: unknown field/],
    ['backend not an object', withBackends('b'), /^backends\[0\]: must be an object/],
    ['name a number', withBackends(ok({ name: 5 })), /^backends\[0\]\.name: /],
    ['name with upper case', withBackends(ok({ name: 'Tea' })), /^backends\[0\]\.name: /],
    ['name starting with -', withBackends(ok({ name: '-tea' })), /^backends\[0\]\.name: /],
    ['name ending with .', withBackends(ok({ name: 'tea.' })), /^backends\[0\]\.name: /],
    ['name with /', withBackends(ok({ name: 'tea/svc' })), /^backends\[0\]\.name: /],
    ['empty name', withBackends(ok({ name: '' })), /^backends\[0\]\.name: /],
    ['name of 254 characters', withBackends(ok({ name: 'a'.repeat(254) })), /^backends\[0\]\.name: /],
    ['name with a newline', withBackends(ok({ name: 'tea\n' })), /^backends\[0\]\.name: /],
    [
      'too many backends',
      { backends: Array.from({ length: 20001 }, (_, i) => ({ name: `b${i}`, endpoints: [] })) },
      /^backends: more than 20000 backends$/,
    ],
    ['duplicate name', withBackends(ok(), ok({ name: 'c' }), ok()), /^backends\[2\]\.name: duplicate of backends\[0\]/],
    ['too deep', `{"backends":${'['.repeat(100)}${']'.repeat(100)}}`, /^body: not valid JSON/],
  ];
  // [what, body, expected error text]: one named backend is invalid; it alone is refused (207)
  const invalidBackend: Case[] = [
    ['endpoints a string', withBackends(ok({ endpoints: 'x' })), /^backends\[0\]\.endpoints: must be an array/],
    ['endpoints missing', withBackends({ name: 'b' }), /^backends\[0\]\.endpoints: must be an array/],
    ['endpoint null', withBackends(ok({ endpoints: [null] })), /^backends\[0\]\.endpoints\[0\]: must be an object/],
    [
      'address null',
      withBackends(ok({ endpoints: [{ address: null, port: 80 }] })),
      /^backends\[0\]\.endpoints\[0\]\.address: must be a string/,
    ],
    ...[
      '127.0.0.256',
      '1.2.3',
      '01.2.3.4',
      '1.2.3.4 ',
      'localhost',
      '[::1]',
      '::1%lo',
      'fe80::1%eth0',
      '1:2:3:4:5:6:7:8:9',
      '12345::1',
      '1::2::3',
      ':1',
      '1:2:3:4:5:6:7::8',
      '::ffff:1.2.3',
      '',
    ].map(
      (address): Case => [
        `address ${JSON.stringify(address)}`,
        withBackends(ok({ endpoints: [{ address, port: 80 }] })),
        /^backends\[0\]\.endpoints\[0\]\.address: not an IP address$/,
      ],
    ),
    ...[0, 65536, -1, 80.5, '80', null, true].map(
      (port): Case => [
        `port ${JSON.stringify(port)}`,
        withBackends(ok({ endpoints: [{ address: '127.0.0.1', port }] })),
        /^backends\[0\]\.endpoints\[0\]\.port: must be an integer from 1 to 65535$/,
      ],
    ),
    [
      'too many endpoints',
      withBackends(
        ok({ endpoints: Array.from({ length: 10001 }, (_, i) => ({ address: '127.0.0.1', port: (i % 60000) + 1 })) }),
      ),
      /^backends\[0\]\.endpoints: more than 10000 endpoints$/,
    ],
    ['unknown backend field', withBackends(ok({ weight: 1 })), /^backends\[0\]\.weight: unknown field$/],
    [
      'unknown endpoint field',
      withBackends(ok({ endpoints: [{ ...ep, ready: true }] })),
      /^backends\[0\]\.endpoints\[0\]\.ready: unknown field$/,
    ],
    [
      'unknown affinity field',
      withBackends(ok({ affinity: { name: 'c', secure: true } })),
      /^backends\[0\]\.affinity\.secure: unknown field$/,
    ],
    ['loadBalance unknown', withBackends(ok({ loadBalance: 'least_conn' })), /^backends\[0\]\.loadBalance: /],
    ['loadBalance null', withBackends(ok({ loadBalance: null })), /^backends\[0\]\.loadBalance: /],
    ...['request_uri', '$Host', '$a b', '$', '$1abc', '$a-b', `$${'a'.repeat(128)}`, ''].map(
      (hashBy): Case => [
        `hashBy ${JSON.stringify(hashBy)}`,
        withBackends(ok({ loadBalance: 'chash', hashBy })),
        /^backends\[0\]\.hashBy: /,
      ],
    ),
    ['chash without hashBy', withBackends(ok({ loadBalance: 'chash' })), /^backends\[0\]\.hashBy: /],
    [
      'hashBy without chash',
      withBackends(ok({ hashBy: '$host' })),
      /^backends\[0\]\.hashBy: only allowed with loadBalance chash$/,
    ],
    ['affinity not an object', withBackends(ok({ affinity: 'c' })), /^backends\[0\]\.affinity: must be an object$/],
    ...['a b', 'a;b', 'a=b', '', 'a,b', 'é', 'x'.repeat(65)].map(
      (name): Case => [
        `cookie name ${JSON.stringify(name)}`,
        withBackends(ok({ affinity: { name } })),
        /^backends\[0\]\.affinity\.name: /,
      ],
    ),
    ...[0, 31536001, '10', 1.5].map(
      (maxAge): Case => [
        `maxAge ${JSON.stringify(maxAge)}`,
        withBackends(ok({ affinity: { name: 'c', maxAge } })),
        /^backends\[0\]\.affinity\.maxAge: /,
      ],
    ),
    ...['nopath', '/a;b', '/a b', '', `/${'a'.repeat(256)}`].map(
      (path): Case => [
        `cookie path ${JSON.stringify(path)}`,
        withBackends(ok({ affinity: { name: 'c', path } })),
        /^backends\[0\]\.affinity\.path: /,
      ],
    ),
  ];

  it('rejects each malformed payload with 400 and where/what, and keeps serving the previous set', async () => {
    await nginx.push(baseline);
    const before = await nginx.current();
    for (const [what, body, error] of malformed) {
      const reply = await nginx.post(body);
      assert.equal(reply.status, 400, `${what}: ${reply.status} ${reply.body}`);
      assert.equal(reply.headers['content-type'], 'application/json');
      const parsed = JSON.parse(reply.body) as { error: string };
      assert.match(parsed.error, error, what);
    }
    assert.deepEqual(await nginx.current(), before, 'version and set untouched');
    const served = await nginx.get('/tea/');
    assert.equal(served.status, 200);
    assert.equal(served.body, pods.servers[0]!.name);
  });

  it('refuses an invalid backend alone (207, where/what), applies the rest of the push, and keeps what was stored for it', async () => {
    const stored = { name: 'b', endpoints: [pods.servers[0]!.endpoint] };
    const tea = { name: 'default_tea-svc_80', endpoints: [pods.servers[1]!.endpoint] };
    for (const method of ['POST', 'PATCH']) {
      for (const [what, body, error] of invalidBackend) {
        await nginx.push([...baseline, stored]);
        const before = await nginx.current();
        // the invalid backend first (its error names backends[0]), then a valid change that must land
        const reply = await nginx.post({ backends: [...(body as { backends: unknown[] }).backends, tea] }, { method });
        assert.equal(reply.status, 207, `${method} ${what}: ${reply.status} ${reply.body}`);
        assert.equal(reply.headers['content-type'], 'application/json');
        const answer = JSON.parse(reply.body) as {
          version: number;
          changed: number;
          removed: number;
          refused: { name: string; error: string }[];
        };
        assert.deepEqual(
          [answer.version, answer.changed, answer.removed],
          [before.version + 1, 1, 0],
          `${method} ${what}: ${reply.body}`,
        );
        assert.deepEqual(
          answer.refused.map((x) => x.name),
          ['b'],
          what,
        );
        assert.match(answer.refused[0]!.error, error, `${method} ${what}`);
        const after = await nginx.current();
        assert.deepEqual(
          after.backends.find((x) => x.name === 'b'),
          before.backends.find((x) => x.name === 'b'),
          `${method} ${what}: b as stored before`,
        );
        assert.deepEqual(
          after.backends.find((x) => x.name === tea.name)!.endpoints,
          tea.endpoints,
          `${method} ${what}: the valid change landed`,
        );
        const served = await nginx.get('/tea/');
        assert.equal(served.body, pods.servers[1]!.name, `${method} ${what}`);
      }
    }
  });

  it('a refused backend that was not stored stays absent, every refused one is listed, and a valid push of it later is stored', async () => {
    await nginx.push(baseline);
    const before = await nginx.current();
    const bad = (name: string) => ({ name, endpoints: [{ address: 'nope', port: 1 }] });
    const reply = await nginx.post({ backends: [...baseline, bad('x'), { name: 'y', endpoints: [] }, bad('z')] });
    assert.equal(reply.status, 207, reply.body);
    assert.deepEqual(JSON.parse(reply.body), {
      version: before.version + 1,
      changed: 1,
      removed: 0,
      refused: [
        { name: 'x', error: 'backends[1].endpoints[0].address: not an IP address' },
        { name: 'z', error: 'backends[3].endpoints[0].address: not an IP address' },
      ],
    });
    assert.deepEqual(
      (await nginx.current()).backends.map((b) => b.name),
      ['default_tea-svc_80', 'y'],
    );
    assert.match(nginx.errorLog(), /backend x refused: backends\[1\]\.endpoints\[0\]\.address: not an IP address/);
    // a POST drops what it omits, also a backend refused before
    const ok = await nginx.push([...baseline, { name: 'x', endpoints: [] }]);
    assert.equal(ok.removed, 1);
    assert.deepEqual(
      (await nginx.current()).backends.map((b) => b.name),
      ['default_tea-svc_80', 'x'],
    );
  });

  it('accepts the edges of each limit', async () => {
    const edge = [
      { name: 'a', endpoints: [] },
      {
        name: `${'a'.repeat(251)}.b`,
        endpoints: [
          { address: '::', port: 1 },
          { address: 'FE80::A:0:0:1', port: 65535 },
        ],
      },
      {
        name: 'c',
        loadBalance: 'chash',
        hashBy: `$${'a'.repeat(127)}`,
        endpoints: [{ address: '::ffff:10.0.0.1', port: 80 }],
      },
      {
        name: 'd',
        loadBalance: 'chash',
        hashBy: '$host$request_uri',
        endpoints: [{ address: '1:2:3:4:5:6:1.2.3.4', port: 80 }],
      },
      {
        name: 'e',
        loadBalance: 'random',
        endpoints: Array.from({ length: 10000 }, (_, i) => ({ address: '127.0.0.1', port: i + 1 })),
      },
      {
        name: 'f',
        loadBalance: 'ewma',
        affinity: { name: "!#$%&'*+.^_`|~-Az09", maxAge: 31536000, path: '/a._~!&()*+,=:@%/-' },
        endpoints: [],
      },
      { name: 'g', affinity: { name: 'x'.repeat(64), maxAge: 1, path: `/${'p'.repeat(255)}` }, endpoints: [] },
    ];
    const reply = await nginx.post({ backends: edge });
    assert.equal(reply.status, 201, reply.body);
    const cur = await nginx.current();
    const byName = new Map(cur.backends.map((b) => [b.name, b]));
    assert.deepEqual(byName.get(edge[1]!.name)!.endpoints, [
      { address: '::', port: 1 },
      { address: 'fe80::a:0:0:1', port: 65535 },
    ]);
    assert.deepEqual(byName.get('c')!.endpoints, [{ address: '::ffff:10.0.0.1', port: 80 }]);
    assert.deepEqual(byName.get('d')!.endpoints, [{ address: '1:2:3:4:5:6:102:304', port: 80 }]);
    assert.equal(byName.get('e')!.endpoints.length, 10000);
    assert.deepEqual(byName.get('f')!.affinity, edge[5]!.affinity);
    assert.equal(byName.get('g')!.affinity!.path, `/${'p'.repeat(255)}`);
    assert.deepEqual(byName.get('a')!.endpoints, [], 'an empty list stays a JSON array');
    assert.equal(byName.get('a')!.loadBalance, 'round_robin', 'default filled in');
  });

  it('answers with version, changed and removed counts; GET returns the set', async () => {
    const e1 = pods.servers[0]!.endpoint;
    const e2 = pods.servers[1]!.endpoint;
    const r0 = await nginx.post({ backends: [] });
    assert.equal(r0.status, 201);
    const v0 = JSON.parse(r0.body).version as number;

    const first = await nginx.push([
      { name: 'one', endpoints: [e1] },
      { name: 'two', endpoints: [e1, e2], loadBalance: 'chash', hashBy: '$request_uri' },
    ]);
    assert.deepEqual(first, { version: v0 + 1, changed: 2, removed: 0 });

    // the same set again, endpoints reordered and one repeated: nothing changed
    const same = await nginx.push([
      { name: 'two', endpoints: [e2, e1, e2], loadBalance: 'chash', hashBy: '$request_uri' },
      { name: 'one', endpoints: [e1] },
    ]);
    assert.deepEqual(same, { version: v0 + 2, changed: 0, removed: 0 });

    const next = await nginx.push([
      { name: 'one', endpoints: [e2] },
      { name: 'three', endpoints: [] },
    ]);
    assert.deepEqual(next, { version: v0 + 3, changed: 2, removed: 1 });

    const cur = await nginx.current();
    assert.equal(cur.version, v0 + 3);
    assert.deepEqual(cur.backends, [
      { version: v0 + 3, name: 'one', loadBalance: 'round_robin', endpoints: [e2] },
      { version: v0 + 3, name: 'three', loadBalance: 'round_robin', endpoints: [] },
    ]);
    const head = await nginx.post('', { method: 'HEAD', headers: { host: 'localhost' } });
    assert.equal(head.status, 200);
  });

  it('concurrent pushes are applied one at a time: the result is one whole push, never a mix', async () => {
    const { version: v0 } = await nginx.push(baseline);
    const sets = Array.from({ length: 10 }, (_, i) =>
      Array.from({ length: 200 }, (_, j) => ({
        // nothing listens there: a request is refused (502)
        name: `push${i}-b${j}`,
        endpoints: [{ address: `127.0.${i + 100}.${(j % 250) + 1}`, port: 1000 + i }],
      })),
    );
    const replies = await Promise.all(sets.map((backends) => nginx.post({ backends })));
    assert.deepEqual(
      replies.map((r) => r.status),
      Array(10).fill(201),
    );
    const versions = replies.map((r) => JSON.parse(r.body).version as number).sort((a, b) => a - b);
    assert.deepEqual(
      versions,
      Array.from({ length: 10 }, (_, i) => v0 + 1 + i),
      'each push got its own version',
    );
    const last = replies.findIndex((r) => JSON.parse(r.body).version === v0 + 10);
    const cur = await nginx.current();
    assert.equal(cur.version, v0 + 10);
    assert.deepEqual(
      cur.backends.map((b) => b.name),
      sets[last]!.map((b) => b.name).sort(),
    );
    assert.ok(cur.backends.every((b) => b.endpoints[0]!.port === 1000 + last && b.version <= v0 + 10));
    // no leftovers of the other pushes are still routable (they would answer 502, not 503)
    for (let i = 0; i < 10; i++) {
      const reply = await nginx.get(`/push${i}/`);
      assert.equal(reply.status, i === last ? 502 : 503, `push ${i} (last was ${last})`);
    }
  });

  it('refuses a Host or Origin that is not loopback (403), other methods (405), bodies over 64m (413)', async () => {
    await nginx.push(baseline);
    const before = await nginx.current();
    const changed = { backends: [{ name: 'default_tea-svc_80', endpoints: [pods.servers[1]!.endpoint] }] };
    for (const host of [
      'evil.example.com',
      '127.0.0.1.nip.io',
      'localhost.evil.com',
      'x127.0.0.1',
      '[::2]',
      `localhost:${nginx.internalPort}x`,
    ]) {
      const reply = await nginx.post(changed, { headers: { host } });
      assert.equal(reply.status, 403, `Host ${JSON.stringify(host)}: ${reply.status}`);
      const getReply = await nginx.post('', { method: 'GET', headers: { host } });
      assert.equal(getReply.status, 403, `GET with Host ${JSON.stringify(host)}`);
    }
    for (const origin of ['http://evil.example.com', 'null', 'http://localhost.evil.com:80']) {
      const reply = await nginx.post(changed, { headers: { origin } });
      assert.equal(reply.status, 403, `Origin ${origin}`);
    }
    assert.deepEqual(await nginx.current(), before, 'nothing changed');

    for (const host of [
      '127.0.0.1',
      'localhost',
      'LOCALHOST',
      `localhost:${nginx.internalPort}`,
      '[::1]',
      `[::1]:${nginx.internalPort}`,
    ]) {
      const reply = await nginx.post('', { method: 'GET', headers: { host } });
      assert.equal(reply.status, 200, `Host ${host}`);
    }
    const local = await nginx.post(changed, { headers: { origin: `http://127.0.0.1:${nginx.internalPort}` } });
    assert.equal(local.status, 201);

    for (const method of ['PUT', 'DELETE']) {
      const reply = await nginx.post(changed, { method });
      assert.equal(reply.status, 405, method);
      assert.equal(reply.headers.allow, 'GET, HEAD, POST, PATCH');
    }

    // nginx refuses from the Content-Length alone, before any of the body is read
    const status = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(nginx.internalPort, '127.0.0.1', () => {
        socket.write(
          `POST /configuration/backends HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${64 * 1024 * 1024 + 1}\r\n\r\n{`,
        );
      });
      let got = '';
      socket.on('data', (chunk) => {
        got += chunk.toString();
        if (got.includes('\r\n')) {
          resolve(got.slice(0, got.indexOf('\r\n')));
          socket.destroy();
        }
      });
      socket.on('error', reject);
      socket.setTimeout(5000, () => {
        socket.destroy();
        reject(new Error('no answer'));
      });
    });
    assert.match(status, /^HTTP\/1\.1 413 /);
  });

  it('acknowledges a push of 1000 backends x 10 endpoints quickly, and a worker then serves them', async () => {
    const backends = Array.from({ length: 1000 }, (_, i) => ({
      name: `ns-svc-${i}-80`,
      endpoints: Array.from({ length: 10 }, (_, j) => ({ address: `10.${i >> 8}.${i & 255}.${j + 1}`, port: 8080 })),
    }));
    // the tested location's backend too, so the serving check below has something to reach
    backends.push({ name: 'default_tea-svc_80', endpoints: [pods.servers[1]!.endpoint] });
    const body = JSON.stringify({ backends });
    const timings: number[] = [];
    for (let i = 0; i < 4; i++) {
      // every run changes every backend, so all of them are written each time
      const reply = await nginx.post(i % 2 === 0 ? body : body.replaceAll(':8080}', ':8081}'));
      assert.equal(reply.status, 201, reply.body);
      if (i > 0) assert.equal(JSON.parse(reply.body).changed, 1000, 'every backend written again');
      timings.push(reply.ms);
    }
    const served = await nginx.get('/tea/');
    assert.equal(served.body, pods.servers[1]!.name);
    console.log(
      `      push of 1001 backends (${(body.length / 1e6).toFixed(2)} MB): ${timings.map((t) => `${t.toFixed(0)} ms`).join(', ')}`,
    );
    assert.ok(Math.min(...timings) < 2000, `fastest push took ${Math.min(...timings)} ms`);
  });
});

describe('lua data plane: a full shared dict (real nginx, 1m dict)', function () {
  this.timeout(60_000);
  let nginx: LuaNginx;
  let pods: EchoGroup;

  before(async () => {
    pods = await startEchoServers([{ name: 'pod-1', address: '127.0.0.53' }]);
    nginx = await startLuaNginx([{ path: '/tea/', backend: 'tea' }], { dictSize: '1m' });
  });

  after(async () => {
    await nginx?.stop();
    await pods?.close();
  });

  it('fails the push with 507 instead of evicting, keeps unchanged backends, and the next push cleans up', async () => {
    const tea = { name: 'tea', endpoints: pods.endpoints };
    await nginx.push([tea]);
    const big = bigBackends(3000);
    const reply = await nginx.post({ backends: [tea, ...big] });
    assert.equal(reply.status, 507, reply.body);
    assert.match(
      JSON.parse(reply.body).error,
      /^shared dict ingress_templater is full or failing at big-\d+: no memory$/,
    );
    const served = await nginx.get('/tea/');
    assert.equal(served.status, 200);
    assert.equal(served.body, 'pod-1');

    // the half-written backends are tracked, so a push without them deletes every one
    const cur = await nginx.current();
    const written = cur.backends.filter((b) => b.name.startsWith('big-')).length;
    assert.ok(written > 0, 'some were written before the dict filled up');
    const clean = await nginx.push([tea]);
    assert.equal(clean.removed, written);
    assert.deepEqual(
      (await nginx.current()).backends.map((b) => b.name),
      ['tea'],
    );
  });
});
