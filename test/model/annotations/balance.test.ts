import assert from 'node:assert/strict';
import type { Problem } from '../../../src/resources.js';
import {
  AFFINITY,
  COOKIE_EXPIRES,
  COOKIE_MAX_AGE,
  COOKIE_NAME,
  COOKIE_PATH,
  HASH_BY,
  LOAD_BALANCE,
  parseBalance,
} from '../../../src/model/annotations/balance.js';
import {
  backend,
  build,
  configMap,
  CONFIG_MAP_OPTION,
  endpoints,
  ingress,
  path,
  rule,
  service,
  show,
} from '../../helpers/resources.js';

const ing = (annotations: Record<string, string>) =>
  ingress({ name: 'web', annotations, rules: [rule('a.example.com', path('/', 'web'))] });

describe('model/annotations/balance', () => {
  it('defaults to the given algorithm and no affinity', () => {
    const problems: Problem[] = [];
    assert.deepEqual(parseBalance(ing({}), 'round_robin', problems), { loadBalance: 'round_robin' });
    assert.deepEqual(parseBalance(ing({}), 'ewma', problems), { loadBalance: 'ewma' });
    assert.equal(problems.length, 0);
  });

  it('accepts round_robin, random and ewma; reports anything else naming the annotation and the value', () => {
    for (const value of ['round_robin', 'random', 'ewma'])
      assert.equal(parseBalance(ing({ [LOAD_BALANCE]: value }), 'round_robin', []).loadBalance, value);
    for (const raw of ['fastest', 'chash', 'ROUND_ROBIN', 'round_robin;', '']) {
      const problems: Problem[] = [];
      assert.equal(parseBalance(ing({ [LOAD_BALANCE]: raw }), 'random', problems).loadBalance, 'random');
      assert.equal(problems.length, 1, raw);
      assert.match(problems[0]!.field!, /load-balance/);
      assert.match(problems[0]!.message, new RegExp(JSON.stringify(raw).replace(/[[\]().*+?^$|\\]/g, '\\$&')));
      assert.equal(problems[0]!.object, 'Ingress default/web');
    }
  });

  it('upstream-hash-by switches to consistent hashing on nginx variables only', () => {
    assert.deepEqual(parseBalance(ing({ [HASH_BY]: '$request_uri' }), 'round_robin', []), {
      loadBalance: 'chash',
      hashBy: '$request_uri',
    });
    assert.deepEqual(parseBalance(ing({ [HASH_BY]: '$host$request_uri' }), 'round_robin', []), {
      loadBalance: 'chash',
      hashBy: '$host$request_uri',
    });
    for (const value of [
      'request_uri',
      '$request_uri;',
      '${request_uri}',
      '$a b',
      '$Host',
      'x$host',
      '$host"',
      `$a\nb`,
      `$${'a'.repeat(3)}$b$c$d$e$f$g$h$i`,
    ]) {
      const problems: Problem[] = [];
      assert.deepEqual(
        parseBalance(ing({ [HASH_BY]: value }), 'round_robin', problems),
        { loadBalance: 'round_robin' },
        value,
      );
      assert.equal(problems.length, 1, value);
    }
  });

  it('cookie affinity with name, path and max-age (max-age wins over expires)', () => {
    assert.deepEqual(parseBalance(ing({ [AFFINITY]: 'cookie' }), 'round_robin', []).affinity, {
      name: 'INGRESSCOOKIE',
      path: '/',
    });
    const full = parseBalance(
      ing({
        [AFFINITY]: 'cookie',
        [COOKIE_NAME]: 'route',
        [COOKIE_PATH]: '/app',
        [COOKIE_EXPIRES]: '60',
        [COOKIE_MAX_AGE]: '3600',
      }),
      'round_robin',
      [],
    );
    assert.deepEqual(full.affinity, { name: 'route', path: '/app', maxAge: 3600 });
    assert.equal(
      parseBalance(ing({ [AFFINITY]: 'cookie', [COOKIE_EXPIRES]: '120' }), 'round_robin', []).affinity?.maxAge,
      120,
    );
  });

  it('rejects bad affinity values and keeps the defaults', () => {
    const problems: Problem[] = [];
    const balance = parseBalance(
      ing({ [AFFINITY]: 'cookie', [COOKIE_NAME]: 'a b', [COOKIE_PATH]: 'app', [COOKIE_MAX_AGE]: '-1' }),
      'round_robin',
      problems,
    );
    assert.deepEqual(balance.affinity, { name: 'INGRESSCOOKIE', path: '/' });
    assert.equal(problems.length, 3, show(problems));
    const other: Problem[] = [];
    assert.equal(parseBalance(ing({ [AFFINITY]: 'ip' }), 'round_robin', other).affinity, undefined);
    assert.equal(other.length, 1);
  });

  it('reaches the backend through buildModel; the ConfigMap sets the default; the oldest Ingress decides a shared backend', () => {
    const res = [
      service({ name: 'web' }),
      endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] }),
      ingress({
        name: 'old',
        created: '2024-01-01T00:00:00Z',
        annotations: { [LOAD_BALANCE]: 'ewma' },
        rules: [rule('a.example.com', path('/', 'web'))],
      }),
      ingress({
        name: 'new',
        created: '2025-01-01T00:00:00Z',
        annotations: { [LOAD_BALANCE]: 'random' },
        rules: [rule('b.example.com', path('/', 'web'))],
      }),
    ];
    const result = build(res);
    assert.deepEqual(
      result.model.backends.map((b) => [b.name, b.balance.loadBalance]),
      [['default_web_80', 'ewma']],
    );
    assert.ok(
      result.problems.some(
        (p) => p.object === 'Ingress default/new' && /balanced as an older Ingress says/.test(p.message),
      ),
      show(result.problems),
    );
    const byMap = build(
      [
        service({ name: 'web' }),
        ingress({ name: 'x', rules: [rule('a.example.com', path('/', 'web'))] }),
        configMap({ 'load-balance': 'random' }),
      ],
      CONFIG_MAP_OPTION,
    );
    assert.equal(byMap.model.backends[0]!.balance.loadBalance, 'random');
    void backend;
  });
});
