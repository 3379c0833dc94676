import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  ALLOWLIST_SOURCE_RANGE,
  ACCESS_KEYS,
  DENYLIST_SOURCE_RANGE,
  parseAccess,
  parseCidr,
  parseCidrList,
  WHITELIST_SOURCE_RANGE,
} from '../../../src/model/annotations/access.js';
import { SUPPORTED } from '../../../src/model/annotations/index.js';
import type { Problem } from '../../../src/resources.js';
import { build, endpoints, ingress, path, rule, service, show } from '../../helpers/resources.js';
import { locationBlock, NGINX, nginxAccepts, renderText } from './nginx-check.js';

const ing = (annotations: Record<string, string>) =>
  ingress({ name: 'web', namespace: 'shop', annotations, rules: [rule('a.example.com', path('/', 'web'))] });
const parse = (annotations: Record<string, string>) => {
  const problems: Problem[] = [];
  return { config: parseAccess(ing(annotations), undefined, problems), problems };
};
const backend = [service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })];

describe('model/annotations/access', () => {
  it('all three names are supported annotations', () => {
    for (const k of ACCESS_KEYS) assert.ok(SUPPORTED.has(k), k);
  });

  it('parses IPv4 and IPv6 CIDRs and addresses into canonical networks', () => {
    const cases: [string, string][] = [
      ['10.0.0.0/8', '10.0.0.0/8'],
      ['192.0.2.1', '192.0.2.1/32'],
      [' 127.0.0.1/32 ', '127.0.0.1/32'],
      ['0.0.0.0/0', '0.0.0.0/0'],
      ['10.1.2.3/8', '10.0.0.0/8'],
      ['192.168.1.130/25', '192.168.1.128/25'],
      ['fd00::/8', 'fd00::/8'],
      ['::1', '::1/128'],
      ['2001:DB8:0:0:0:0:0:1/64', '2001:db8::/64'],
      ['2001:db8::ffff/120', '2001:db8::ff00/120'],
      ['::/0', '::/0'],
      ['::ffff:192.0.2.1', '::ffff:c000:201/128'],
      ['fe80::1:0:0:1/128', 'fe80::1:0:0:1/128'],
    ];
    for (const [input, want] of cases) assert.equal(parseCidr(input), want, input);
  });

  it('refuses anything that is not a CIDR', () => {
    for (const value of [
      '',
      '10.0.0.0/33',
      '::/129',
      '10.0.0/8',
      '256.0.0.1',
      '10.0.0.1/',
      '10.0.0.1/08',
      '10.0.0.1/-1',
      'localhost',
      '10.0.0.1 /8',
      '10.0.0.1;',
      '10.0.0.0/8\nallow all',
      'fd00::zz',
      '1.2.3.4/8/8',
      '01.2.3.4',
      'all',
    ]) {
      assert.equal(parseCidr(value), undefined, JSON.stringify(value));
    }
  });

  it('lists are comma separated, deduplicated; an empty entry or a bad one fails the whole list', () => {
    assert.deepEqual(parseCidrList('10.0.0.0/8, 192.0.2.1,fd00::/8,10.0.0.0/8'), [
      '10.0.0.0/8',
      '192.0.2.1/32',
      'fd00::/8',
    ]);
    for (const value of ['', '10.0.0.0/8,', '10.0.0.0/8,,192.0.2.1', '10.0.0.0/8,bogus', '10.0.0.0/8 192.0.2.1'])
      assert.equal(parseCidrList(value), undefined, value);
  });

  it('reads the allowlist (either name) and the denylist', () => {
    assert.deepEqual(parse({ [WHITELIST_SOURCE_RANGE]: '127.0.0.1/32' }), {
      config: { allow: ['127.0.0.1/32'], deny: [] },
      problems: [],
    });
    assert.deepEqual(parse({ [ALLOWLIST_SOURCE_RANGE]: '10.0.0.0/8' }), {
      config: { allow: ['10.0.0.0/8'], deny: [] },
      problems: [],
    });
    assert.deepEqual(parse({ [DENYLIST_SOURCE_RANGE]: '127.0.0.0/8,::1' }), {
      config: { allow: [], deny: ['127.0.0.0/8', '::1/128'] },
      problems: [],
    });
    assert.deepEqual(parse({}), { config: undefined, problems: [] });
  });

  it('allowlist-source-range wins over whitelist-source-range; a different whitelist value is a warning', () => {
    const { config, problems } = parse({
      [ALLOWLIST_SOURCE_RANGE]: '10.0.0.0/8',
      [WHITELIST_SOURCE_RANGE]: '192.0.2.0/24',
    });
    assert.deepEqual(config, { allow: ['10.0.0.0/8'], deny: [] });
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.severity, 'warning');
    assert.equal(
      parse({ [ALLOWLIST_SOURCE_RANGE]: '10.0.0.0/8', [WHITELIST_SOURCE_RANGE]: '10.0.0.0/8' }).problems.length,
      0,
    );
  });

  for (const key of [WHITELIST_SOURCE_RANGE, DENYLIST_SOURCE_RANGE]) {
    it(`an invalid ${key.split('/')[1]} is an error naming the Ingress, annotation and value, and denies the paths`, () => {
      const { config, problems } = parse({ [key]: '10.0.0.0/8,300.1.1.1' });
      assert.equal(config, undefined);
      assert.equal(problems.length, 1, show(problems));
      assert.equal(problems[0]!.severity, 'error');
      assert.equal(problems[0]!.object, 'Ingress shop/web');
      assert.equal(problems[0]!.field, `metadata.annotations["${key}"]`);
      assert.match(problems[0]!.message, /"10\.0\.0\.0\/8,300\.1\.1\.1"/);
      const { model } = build([
        ...backend,
        ingress({ name: 'web', annotations: { [key]: 'bogus' }, rules: [rule('a.example.com', path('/', 'web'))] }),
      ]);
      const text = renderText(model);
      const block = locationBlock(text, 'a.example.com', '/');
      assert.match(block, /return 503;/);
      assert.doesNotMatch(block, /^\s*(allow|deny|proxy_pass) /m);
    });
  }

  it('renders deny lines, then allow lines and "deny all", in each location of the Ingress only', () => {
    const { model, problems } = build([
      ...backend,
      ingress({
        name: 'web',
        annotations: { [WHITELIST_SOURCE_RANGE]: '10.0.0.0/8,fd00::/8', [DENYLIST_SOURCE_RANGE]: '10.1.0.0/16' },
        rules: [rule('a.example.com', path('/app', 'web'))],
      }),
      ingress({
        name: 'deny',
        annotations: { [DENYLIST_SOURCE_RANGE]: '192.0.2.0/24' },
        rules: [rule('a.example.com', path('/d', 'web'))],
      }),
      ingress({ name: 'open', rules: [rule('a.example.com', path('/open', 'web'))] }),
    ]);
    assert.deepEqual(problems, [], show(problems));
    const text = renderText(model);
    for (const [pattern, exact] of [
      ['/app', true],
      ['/app/', false],
    ] as const) {
      const block = locationBlock(text, 'a.example.com', pattern, exact);
      const lines = block
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => /^(allow|deny) /.test(l));
      assert.deepEqual(lines, ['deny 10.1.0.0/16;', 'allow 10.0.0.0/8;', 'allow fd00::/8;', 'deny all;']);
    }
    const deny = locationBlock(text, 'a.example.com', '/d/')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^(allow|deny) /.test(l));
    assert.deepEqual(deny, ['deny 192.0.2.0/24;']);
    assert.doesNotMatch(locationBlock(text, 'a.example.com', '/open/'), /allow|deny/);
  });

  it('nginx -t accepts the rendered rules', async function () {
    if (!fs.existsSync(NGINX)) this.skip();
    this.timeout(30_000);
    const { model } = build([
      ...backend,
      ingress({
        name: 'web',
        annotations: {
          [ALLOWLIST_SOURCE_RANGE]: '10.0.0.0/8,fd00::/8,::ffff:192.0.2.1,0.0.0.0/0',
          [DENYLIST_SOURCE_RANGE]: '10.1.0.0/16,::1',
        },
        rules: [rule('a.example.com', path('/app', 'web'))],
      }),
    ]);
    await nginxAccepts(model);
  });
});
