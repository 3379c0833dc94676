// Canary routing in the Lua data plane (nginx/lua/ingress_templater/canary.lua), through a real nginx
// with 2 workers and real backends: the "canary" field's validation and canonical form, the decision
// (header -> cookie -> weight), retries that stay within the chosen backend, an empty canary, cookie
// affinity stickiness, and backends without a canary untouched.
import assert from 'node:assert/strict';
import { patternProblem } from '../../src/model/annotations/canary.js';
import {
  type BackendSpec,
  countBy,
  type EchoGroup,
  type Endpoint,
  type LuaNginx,
  many,
  refusedEndpoint,
  startEchoServers,
  startLuaNginx,
} from '../helpers/lua-nginx.js';

interface CanarySpec {
  backend: string;
  weight?: number;
  weightTotal?: number;
  header?: string;
  headerValue?: string;
  headerPattern?: string;
  cookie?: string;
}

type Spec = BackendSpec & { canary?: CanarySpec };

describe('lua data plane: canary backends (real nginx, 2 workers)', function () {
  this.timeout(60_000);
  let nginx: LuaNginx;
  let mainPods: EchoGroup; // 127.0.0.61..62
  let canaryPods: EchoGroup; // 127.0.0.65

  before(async () => {
    mainPods = await startEchoServers([1, 2].map((i) => ({ name: `main-${i}`, address: `127.0.0.6${i}` })));
    canaryPods = await startEchoServers([{ name: 'canary-1', address: '127.0.0.65' }]);
    nginx = await startLuaNginx([
      { path: '/app/', backend: 'main' },
      { path: '/sticky/', backend: 'smain', affinity: true },
      { path: '/plain/', backend: 'plain' },
    ]);
  });

  after(async () => {
    await nginx?.stop();
    await mainPods?.close();
    await canaryPods?.close();
  });

  const push = (backends: Spec[]) => nginx.push(backends as BackendSpec[]);
  const withCanary = (canary: CanarySpec, over: Partial<Spec> = {}, canaryEndpoints?: Endpoint[]): Spec[] => [
    { name: 'main', endpoints: mainPods.endpoints, canary, ...over },
    { name: 'alt', endpoints: canaryEndpoints ?? canaryPods.endpoints },
  ];
  const side = (body: string) => (body.startsWith('canary') ? 'canary' : body.startsWith('main') ? 'main' : body);
  const sides = async (n: number, headers: Record<string, string> = {}, urlPath = '/app/x') =>
    countBy(
      (await many(n, () => nginx.get(urlPath, { headers }), 4)).map((r) =>
        r.status === 200 ? side(r.body) : `status ${r.status}`,
      ),
    );

  describe('validation', () => {
    const ep = { address: '127.0.0.1', port: 8080 };
    const body = (canary: unknown, extra: unknown[] = [{ name: 'alt', endpoints: [ep] }]) => ({
      backends: [{ name: 'main', endpoints: [ep], canary }, ...extra],
    });
    const cases: [string, unknown, RegExp][] = [
      ['not an object', body('alt'), /^backends\[0\]\.canary: must be an object/],
      ['unknown field', body({ backend: 'alt', share: 3 }), /^backends\[0\]\.canary\.share: unknown field/],
      ['no backend', body({ weight: 10 }), /^backends\[0\]\.canary\.backend: /],
      ['bad backend name', body({ backend: 'Alt' }), /^backends\[0\]\.canary\.backend: /],
      ['itself', body({ backend: 'main' }), /^backends\[0\]\.canary\.backend: must be another backend/],
      [
        'a backend not in the push',
        body({ backend: 'elsewhere' }),
        /^backends\[0\]\.canary\.backend: no backend "elsewhere" in this push/,
      ],
      ['weight above the total', body({ backend: 'alt', weight: 101 }), /^backends\[0\]\.canary\.weight: /],
      [
        'weight above a given total',
        body({ backend: 'alt', weight: 11, weightTotal: 10 }),
        /^backends\[0\]\.canary\.weight: .*\(10\)/,
      ],
      ['negative weight', body({ backend: 'alt', weight: -1 }), /^backends\[0\]\.canary\.weight: /],
      ['fractional weight', body({ backend: 'alt', weight: 2.5 }), /^backends\[0\]\.canary\.weight: /],
      ['weight a string', body({ backend: 'alt', weight: '30' }), /^backends\[0\]\.canary\.weight: /],
      ['weightTotal 0', body({ backend: 'alt', weightTotal: 0 }), /^backends\[0\]\.canary\.weightTotal: /],
      [
        'weightTotal too large',
        body({ backend: 'alt', weightTotal: 1_000_001 }),
        /^backends\[0\]\.canary\.weightTotal: /,
      ],
      ['header with _', body({ backend: 'alt', header: 'x_canary' }), /^backends\[0\]\.canary\.header: /],
      ['header with a space', body({ backend: 'alt', header: 'x canary' }), /^backends\[0\]\.canary\.header: /],
      [
        'headerValue without header',
        body({ backend: 'alt', headerValue: 'v2' }),
        /^backends\[0\]\.canary\.headerValue: only allowed with header/,
      ],
      [
        'headerValue with a newline',
        body({ backend: 'alt', header: 'x-c', headerValue: 'a\nb' }),
        /^backends\[0\]\.canary\.headerValue: /,
      ],
      [
        'headerValue with a trailing space',
        body({ backend: 'alt', header: 'x-c', headerValue: 'v2 ' }),
        /^backends\[0\]\.canary\.headerValue: /,
      ],
      [
        'headerPattern without header',
        body({ backend: 'alt', headerPattern: 'v' }),
        /^backends\[0\]\.canary\.headerPattern: only allowed with header/,
      ],
      [
        'headerPattern with headerValue',
        body({ backend: 'alt', header: 'x-c', headerValue: 'v', headerPattern: 'v' }),
        /^backends\[0\]\.canary\.headerPattern: not allowed with headerValue/,
      ],
      [
        'headerPattern that does not compile',
        body({ backend: 'alt', header: 'x-c', headerPattern: 'a(' }),
        /^backends\[0\]\.canary\.headerPattern: does not compile/,
      ],
      [
        'headerPattern with a control character',
        body({ backend: 'alt', header: 'x-c', headerPattern: 'a\tb' }),
        /^backends\[0\]\.canary\.headerPattern: /,
      ],
      [
        'headerPattern too long',
        body({ backend: 'alt', header: 'x-c', headerPattern: 'a'.repeat(257) }),
        /^backends\[0\]\.canary\.headerPattern: /,
      ],
      ['cookie with ;', body({ backend: 'alt', cookie: 'a;b' }), /^backends\[0\]\.canary\.cookie: /],
    ];
    for (const [what, payload, re] of cases) {
      it(`refuses a canary: ${what}`, async () => {
        await push([
          { name: 'main', endpoints: [ep] },
          { name: 'alt', endpoints: [ep] },
        ]);
        const before = await nginx.current();
        const reply = await nginx.post(payload);
        // the backend with the invalid canary is refused alone and keeps what was stored for it
        assert.equal(reply.status, 207, reply.body);
        const refused = JSON.parse(reply.body).refused as { name: string; error: string }[];
        assert.deepEqual(
          refused.map((x) => x.name),
          ['main'],
        );
        assert.match(refused[0]!.error, re);
        const after = await nginx.current();
        assert.equal(after.version, before.version + 1);
        assert.deepEqual(
          after.backends.find((x) => x.name === 'main'),
          before.backends.find((x) => x.name === 'main'),
        );
      });
    }

    it('PCRE compiles every header pattern the controller accepts', async () => {
      const patterns = [
        '^v2$',
        '^(beta|qa)-[0-9]+$',
        'a.*b',
        '^[a-z0-9._-]{3,16}$',
        '(?:x|y)+?z',
        '\\d{2}\\.\\d',
        '[^,]+',
        'foo(?!bar)',
        '\\bword\\b',
        'a{2,}',
        '[\\]\\-]',
        'semi;colon',
        '"quoted"',
        '$x',
        '[a-]',
        '[-a]',
        '(?=a)(b)+',
        '((a)|b)*',
        '\\/\\ \\#\\<\\>\\_',
        '[\\w.\\s]*?',
        '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==)?$',
        'x{0}',
        '()',
        '(|a)',
        '[{}()*+?.|^$]',
        '\\{\\}',
      ];
      for (const pattern of patterns) {
        assert.equal(patternProblem(pattern), null, `the controller refuses ${pattern}`);
        const reply = await nginx.post({
          backends: [
            { name: 'main', endpoints: [ep], canary: { backend: 'alt', header: 'x-c', headerPattern: pattern } },
            { name: 'alt', endpoints: [ep] },
          ],
        });
        assert.equal(reply.status, 201, `${pattern}: ${reply.body}`);
      }
    });

    it('stores the canonical form: defaults filled in, fields in a fixed order', async () => {
      await push([
        {
          name: 'main',
          endpoints: [ep],
          canary: { cookie: 'c', headerValue: 'v 2', header: 'X-Canary', backend: 'alt' },
        },
        { name: 'alt', endpoints: [ep] },
      ]);
      const main = (await nginx.current()).backends.find((b) => b.name === 'main') as unknown as Spec;
      assert.deepEqual(main.canary, {
        backend: 'alt',
        weight: 0,
        weightTotal: 100,
        header: 'X-Canary',
        headerValue: 'v 2',
        cookie: 'c',
      });
      const reply = await nginx.post({
        backends: [
          {
            name: 'main',
            endpoints: [ep],
            canary: {
              backend: 'alt',
              header: 'X-Canary',
              headerValue: 'v 2',
              cookie: 'c',
              weightTotal: 100,
              weight: 0,
            },
          },
          { name: 'alt', endpoints: [ep] },
        ],
      });
      assert.equal(reply.status, 201);
      assert.equal(JSON.parse(reply.body).changed, 0, 'the same canary spelled differently is no change');
    });
  });

  describe('routing', () => {
    it('weight 0 sends everything to the main backend, weight 100 everything to the canary', async () => {
      await push(withCanary({ backend: 'alt', weight: 0 }));
      assert.deepEqual([...(await sides(60))], [['main', 60]]);
      await push(withCanary({ backend: 'alt', weight: 100 }));
      assert.deepEqual([...(await sides(60))], [['canary', 60]]);
    });

    it('weight 30 sends about 30% to the canary (300 requests: 20-40%); weightTotal scales it', async () => {
      await push(withCanary({ backend: 'alt', weight: 30 }));
      const weighted = (await sides(300)).get('canary') ?? 0;
      assert.ok(weighted >= 60 && weighted <= 120, `${weighted} of 300 reached the canary`);
      await push(withCanary({ backend: 'alt', weight: 300, weightTotal: 1000 }));
      const scaled = (await sides(300)).get('canary') ?? 0;
      assert.ok(scaled >= 60 && scaled <= 120, `${scaled} of 300 reached the canary with 300/1000`);
    });

    it('header: "always" -> canary, "never" -> main, anything else falls through to the weight', async () => {
      await push(withCanary({ backend: 'alt', weight: 0, header: 'X-Canary' }));
      assert.deepEqual([...(await sides(20, { 'x-canary': 'always' }))], [['canary', 20]]);
      assert.deepEqual(
        [...(await sides(20, { 'X-CANARY': 'always' }))],
        [['canary', 20]],
        'header names are case-insensitive',
      );
      assert.deepEqual([...(await sides(20, { 'x-canary': 'maybe' }))], [['main', 20]]);
      await push(withCanary({ backend: 'alt', weight: 100, header: 'X-Canary' }));
      assert.deepEqual([...(await sides(20, { 'x-canary': 'never' }))], [['main', 20]]);
      assert.deepEqual([...(await sides(20, { 'x-canary': 'maybe' }))], [['canary', 20]]);
      assert.deepEqual([...(await sides(20))], [['canary', 20]]);
    });

    it('headerValue: that exact value -> canary; "always" is then an ordinary value', async () => {
      await push(withCanary({ backend: 'alt', weight: 0, header: 'X-Version', headerValue: 'v2' }));
      assert.deepEqual([...(await sides(20, { 'x-version': 'v2' }))], [['canary', 20]]);
      assert.deepEqual([...(await sides(20, { 'x-version': 'v2x' }))], [['main', 20]]);
      assert.deepEqual([...(await sides(20, { 'x-version': 'always' }))], [['main', 20]]);
      await push(withCanary({ backend: 'alt', weight: 100, header: 'X-Version', headerValue: 'v2' }));
      assert.deepEqual(
        [...(await sides(20, { 'x-version': 'never' }))],
        [['canary', 20]],
        '"never" is not special either: the weight decides',
      );
    });

    it('headerPattern: a PCRE match -> canary, anything else falls through', async () => {
      await push(withCanary({ backend: 'alt', weight: 0, header: 'X-User', headerPattern: '^(beta|qa)-[0-9]+$' }));
      assert.deepEqual([...(await sides(20, { 'x-user': 'beta-42' }))], [['canary', 20]]);
      assert.deepEqual([...(await sides(20, { 'x-user': 'qa-7' }))], [['canary', 20]]);
      assert.deepEqual([...(await sides(20, { 'x-user': 'beta-x' }))], [['main', 20]]);
      assert.deepEqual([...(await sides(20, { 'x-user': 'xbeta-1' }))], [['main', 20]]);
    });

    it('cookie: "always" -> canary, "never" -> main; the header is decided first', async () => {
      await push(withCanary({ backend: 'alt', weight: 0, header: 'X-Canary', cookie: 'canary_on' }));
      assert.deepEqual([...(await sides(20, { cookie: 'a=1; canary_on=always' }))], [['canary', 20]]);
      assert.deepEqual([...(await sides(20, { cookie: 'canary_on=other' }))], [['main', 20]]);
      assert.deepEqual([...(await sides(20, { cookie: 'canary_on=always', 'x-canary': 'never' }))], [['main', 20]]);
      await push(withCanary({ backend: 'alt', weight: 100, header: 'X-Canary', cookie: 'canary_on' }));
      assert.deepEqual([...(await sides(20, { cookie: 'canary_on=never' }))], [['main', 20]]);
      assert.deepEqual([...(await sides(20, { cookie: 'canary_on=never', 'x-canary': 'always' }))], [['canary', 20]]);
    });

    it('retries stay within the chosen backend: a dead endpoint of the canary fails over to the canary', async () => {
      const dead = await refusedEndpoint('127.0.0.66');
      await push(withCanary({ backend: 'alt', weight: 100 }, {}, [dead, ...canaryPods.endpoints]));
      const replies = await many(40, () => nginx.get('/app/x'), 4);
      assert.deepEqual(
        [...countBy(replies.map((r) => (r.status === 200 ? side(r.body) : `status ${r.status}`)))],
        [['canary', 40]],
      );
      // and the other way round: the main backend's dead endpoint fails over within main
      const deadMain = await refusedEndpoint('127.0.0.67');
      await push([
        { name: 'main', endpoints: [deadMain, mainPods.endpoints[0]!], canary: { backend: 'alt', weight: 0 } },
        { name: 'alt', endpoints: canaryPods.endpoints },
      ]);
      assert.deepEqual([...(await sides(40))], [['main', 40]]);
    });

    it('a canary without endpoints leaves everything on the main backend; a main without endpoints still serves the canary share', async () => {
      await push(withCanary({ backend: 'alt', weight: 100 }, {}, []));
      assert.deepEqual([...(await sides(20))], [['main', 20]]);
      await push(withCanary({ backend: 'alt', weight: 100 }, { endpoints: [] }));
      assert.deepEqual([...(await sides(20))], [['canary', 20]]);
      await push(withCanary({ backend: 'alt', weight: 0 }, { endpoints: [] }));
      assert.deepEqual([...(await sides(10))], [['status 503', 10]]);
    });

    it('cookie affinity on both sides: a client pinned to one side stays there when no header or cookie rule decides', async () => {
      const affinity = { name: 'route' };
      await push([
        {
          name: 'smain',
          endpoints: mainPods.endpoints,
          affinity,
          canary: { backend: 'salt', weight: 50, header: 'X-Canary' },
        },
        { name: 'salt', endpoints: canaryPods.endpoints, affinity },
      ]);
      const firsts = await many(30, () => nginx.get('/sticky/x'), 2);
      const seen = new Set(firsts.map((r) => side(r.body)));
      assert.deepEqual([...seen].sort(), ['canary', 'main'], 'the weight split fresh clients');
      for (const first of firsts.slice(0, 10)) {
        const cookie = String(first.headers['set-cookie']?.[0] ?? '').split(';')[0]!;
        assert.match(cookie, /^route=[0-9a-f]{32}$/);
        const again = await many(10, () => nginx.get('/sticky/x', { headers: { cookie } }), 2);
        assert.deepEqual([...new Set(again.map((r) => r.body))], [first.body], `${cookie} stays on ${first.body}`);
        assert.ok(
          again.every((r) => r.headers['set-cookie'] === undefined),
          'no new cookie for a pinned client',
        );
        // an explicit header still wins over the pin
        const forced = await nginx.get('/sticky/x', {
          headers: { cookie, 'x-canary': side(first.body) === 'main' ? 'always' : 'never' },
        });
        assert.notEqual(side(forced.body), side(first.body));
      }
    });

    it('leaves backends without a canary alone: no decision, plain round robin', async () => {
      await push([...withCanary({ backend: 'alt', weight: 100 }), { name: 'plain', endpoints: mainPods.endpoints }]);
      const replies = await many(20, () => nginx.get('/plain/x', { headers: { 'x-canary': 'always' } }));
      assert.deepEqual([...countBy(replies.map((r) => r.body))].sort(), [
        ['main-1', 10],
        ['main-2', 10],
      ]);
    });

    it('logged no errors', () => {
      assert.doesNotMatch(nginx.errorLog(), /\[(error|crit|alert|emerg)\][^\n]*(lua|canary)/);
    });
  });
});
