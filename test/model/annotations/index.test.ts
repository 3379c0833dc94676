// parseAnnotations (src/model/annotations/index.ts): unsupported keys of the nginx.ingress.kubernetes.io
// prefix are reported, other prefixes ignored; each family's configs land under its name; an invalid value
// denies the Ingress's paths, naming the first family that refused one. SUPPORTED is every family's keys.
import assert from 'node:assert/strict';
import { BALANCE_KEYS, LOAD_BALANCE } from '../../../src/model/annotations/balance.js';
import type { AnnotationContext } from '../../../src/model/annotations/index.js';
import { FAMILIES, parseAnnotations, SUPPORTED } from '../../../src/model/annotations/index.js';
import { PROXY_BODY_SIZE } from '../../../src/model/annotations/proxy.js';
import { LIMIT_RPS } from '../../../src/model/annotations/rate-limit.js';
import { FROM_TO_WWW, PERMANENT_REDIRECT } from '../../../src/model/annotations/redirect.js';
import { SSL_REDIRECT } from '../../../src/model/annotations/ssl.js';
import { PREFIX } from '../../../src/model/annotations/values.js';
import { DEFAULT_SETTINGS } from '../../../src/model/settings.js';
import type { Problem } from '../../../src/resources.js';
import { ingress, show } from '../../helpers/resources.js';

const CONTEXT: AnnotationContext = {
  settings: DEFAULT_SETTINGS,
  secret: () => undefined,
  configMap: () => undefined,
  file: (name) => name,
};

const parse = (annotations: Record<string, string>) => {
  const problems: Problem[] = [];
  const ing = ingress({ name: 'web', namespace: 'shop', annotations, file: 'shop.yaml' });
  return { ing, problems, parsed: parseAnnotations(ing, CONTEXT, problems) };
};

describe('model/annotations/index', () => {
  it('SUPPORTED: every key of every family, ssl-redirect and the balance keys, nothing else', () => {
    const expected = new Set([SSL_REDIRECT, ...BALANCE_KEYS, ...FAMILIES.flatMap((family) => family.keys)]);
    assert.deepEqual([...SUPPORTED].sort(), [...expected].sort());
    for (const family of FAMILIES) {
      assert.ok(family.keys.length > 0, family.name);
      for (const key of family.keys) assert.ok(key.startsWith(PREFIX), `${family.name}: ${key}`);
    }
  });

  it('an unsupported nginx.ingress.kubernetes.io key: a warning naming the key and the Ingress; other prefixes ignored', () => {
    const { ing, problems, parsed } = parse({
      [`${PREFIX}no-such-annotation`]: '/',
      [`${PREFIX}another-unknown`]: 'x',
      'kubernetes.io/ingress.class': 'nginx',
      'example.com/owner': 'me',
      'nginx.ingress.kubernetes.io.example.com/x': 'y',
    });
    assert.deepEqual(
      problems.map((problem) => [problem.severity, problem.object, problem.field, problem.file, problem.line]),
      [
        [
          'warning',
          'Ingress shop/web',
          `metadata.annotations["${PREFIX}another-unknown"]`,
          'shop.yaml',
          ing.source.line,
        ],
        [
          'warning',
          'Ingress shop/web',
          `metadata.annotations["${PREFIX}no-such-annotation"]`,
          'shop.yaml',
          ing.source.line,
        ],
      ],
      show(problems),
    );
    for (const problem of problems) assert.match(problem.message, /not supported/);
    assert.equal(parsed.denied, null, 'an unsupported key is ignored, not a denial');
  });

  it('no supported key is reported as unsupported', () => {
    for (const key of SUPPORTED) {
      const { problems } = parse({ [key]: 'x' });
      assert.ok(!problems.some((problem) => problem.message.includes('not supported')), `${key}: ${show(problems)}`);
    }
  });

  it("without annotations: the defaults, no family's entry, nothing denied", () => {
    const { problems, parsed } = parse({});
    assert.deepEqual(problems, []);
    assert.equal(parsed.sslRedirect, DEFAULT_SETTINGS.sslRedirect);
    assert.equal(parsed.balance.loadBalance, DEFAULT_SETTINGS.loadBalance);
    assert.deepEqual([parsed.location, parsed.server, parsed.http, parsed.denied], [{}, {}, {}, null]);
  });

  it("each family's location, server and http configs are kept under the family's name", () => {
    const { problems, parsed } = parse({
      [PERMANENT_REDIRECT]: 'https://elsewhere.example.com/',
      [FROM_TO_WWW]: 'true',
      [LIMIT_RPS]: '5',
    });
    assert.deepEqual(problems, [], show(problems));
    assert.deepEqual(Object.keys(parsed.location).sort(), ['rate-limit', 'redirect']);
    assert.deepEqual(Object.keys(parsed.server), ['redirect']);
    assert.deepEqual(Object.keys(parsed.http), ['rate-limit']);
    assert.equal(parsed.http['rate-limit']?.length, 1);
    assert.equal(parsed.denied, null);
  });

  it('an invalid value denies the paths, naming the first family (in FAMILIES order) that refused one', () => {
    const bad = parse({ [PROXY_BODY_SIZE]: 'huge', [PERMANENT_REDIRECT]: 'not a url' });
    assert.equal(bad.problems.filter((problem) => problem.severity === 'error').length, 2, show(bad.problems));
    assert.equal(bad.parsed.denied, 'invalid proxy annotation');
    assert.equal(parse({ [PERMANENT_REDIRECT]: 'not a url' }).parsed.denied, 'invalid redirect annotation');
    // ssl-redirect and the balance keys come before the families
    const balance = parse({ [LOAD_BALANCE]: 'fastest', [PROXY_BODY_SIZE]: 'huge' });
    assert.equal(balance.parsed.denied, 'invalid annotation', show(balance.problems));
  });
});
