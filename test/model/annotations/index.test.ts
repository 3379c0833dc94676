// parseAnnotations (src/model/annotations/index.ts): unsupported keys of the nginx.ingress.kubernetes.io
// prefix are reported, other prefixes ignored; each family's configs land under its name; an invalid value
// denies the Ingress's paths, naming the first family that refused one. SUPPORTED is every family's keys.
import assert from 'node:assert/strict';
import { BALANCE_KEYS, LOAD_BALANCE } from '../../../src/model/annotations/balance.js';
import type { AnnotationContext } from '../../../src/model/annotations/index.js';
import { FAMILIES, parseAnnotations, SUPPORTED } from '../../../src/model/annotations/index.js';
import { PROXY_BODY_SIZE } from '../../../src/model/annotations/proxy.js';
import { ALLOWLIST_SOURCE_RANGE } from '../../../src/model/annotations/access.js';
import { AUTH_TYPE } from '../../../src/model/annotations/auth.js';
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
      // a family of a ConfigMap key only (settings-dhparam.ts) has hooks and no annotation
      const settingsOnly = family.fromSettings && !family.location && !family.server && !family.http;
      assert.ok(family.keys.length > 0 || settingsOnly, family.name);
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

  it('a security-relevant invalid value denies the paths, naming the first such family; others are ignored', () => {
    // as ingress-nginx: an invalid proxy-body-size or redirect is ignored with a warning, the default applies
    const tolerated = parse({
      [PROXY_BODY_SIZE]: 'huge',
      [PERMANENT_REDIRECT]: 'not a url',
      [LOAD_BALANCE]: 'fastest',
    });
    assert.deepEqual(
      tolerated.problems.map((problem) => problem.severity),
      ['warning', 'warning', 'warning'],
      show(tolerated.problems),
    );
    assert.equal(tolerated.parsed.denied, null);
    // an allow list or an authentication that cannot be read denies, as ingress-nginx's LocationDenied
    const denied = parse({ [PROXY_BODY_SIZE]: 'huge', [ALLOWLIST_SOURCE_RANGE]: '10.0.0.0/33', [AUTH_TYPE]: 'digest' });
    assert.equal(denied.parsed.denied, 'invalid access annotation', show(denied.problems));
    assert.ok(denied.problems.filter((problem) => problem.severity === 'error').length >= 2, show(denied.problems));
    // which families fail closed (Family.failClosed), as the README's table says
    assert.deepEqual(
      FAMILIES.filter((family) => family.failClosed)
        .map((family) => family.name)
        .sort(),
      [
        'access',
        'auth',
        'auth-tls',
        'backend-protocol',
        'canary',
        'external-auth',
        'proxy-ssl',
        'response-headers',
        'snippet',
      ],
    );
  });
});
