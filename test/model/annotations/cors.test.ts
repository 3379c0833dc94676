import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  CORS_ALLOW_CREDENTIALS,
  CORS_ALLOW_HEADERS,
  CORS_ALLOW_METHODS,
  CORS_ALLOW_ORIGIN,
  CORS_EXPOSE_HEADERS,
  CORS_KEYS,
  CORS_MAX_AGE,
  DEFAULT_CORS_HEADERS,
  DEFAULT_CORS_METHODS,
  ENABLE_CORS,
  parseCors,
  parseOrigin,
} from '../../../src/model/annotations/cors.js';
import { SUPPORTED } from '../../../src/model/annotations/index.js';
import type { Problem } from '../../../src/resources.js';
import { build, endpoints, ingress, path, rule, service, show } from '../../helpers/resources.js';
import { locationBlock, NGINX, nginxAccepts, renderText } from './nginx-check.js';

const ing = (annotations: Record<string, string>) =>
  ingress({ name: 'web', namespace: 'shop', annotations, rules: [rule('a.example.com', path('/', 'web'))] });
const parse = (annotations: Record<string, string>) => {
  const problems: Problem[] = [];
  return { config: parseCors(ing(annotations), undefined, problems), problems };
};
const backend = [service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })];
const on = { [ENABLE_CORS]: 'true' };

describe('model/annotations/cors', () => {
  it('its keys are supported annotations', () => {
    for (const k of CORS_KEYS) assert.ok(SUPPORTED.has(k), k);
  });

  it('off unless enable-cors is "true"; the cors-* keys alone do nothing', () => {
    assert.deepEqual(parse({}), { config: undefined, problems: [] });
    assert.deepEqual(parse({ [ENABLE_CORS]: 'false', [CORS_ALLOW_ORIGIN]: 'https://a.example' }), {
      config: undefined,
      problems: [],
    });
  });

  it('has the ingress-nginx defaults', () => {
    assert.deepEqual(parse(on), {
      config: {
        anyOrigin: true,
        origins: [],
        methods: 'GET, PUT, POST, DELETE, PATCH, OPTIONS',
        headers: DEFAULT_CORS_HEADERS,
        expose: '',
        credentials: true,
        maxAge: 1728000,
      },
      problems: [],
    });
    assert.equal(DEFAULT_CORS_METHODS, 'GET, PUT, POST, DELETE, PATCH, OPTIONS');
  });

  it('parses origins, with ports and single-label wildcards', () => {
    assert.deepEqual(parseOrigin('https://App.Example.com'), {
      scheme: 'https',
      wildcard: false,
      labels: ['app', 'example', 'com'],
      port: null,
    });
    assert.deepEqual(parseOrigin('http://*.example.com:8080'), {
      scheme: 'http',
      wildcard: true,
      labels: ['example', 'com'],
      port: 8080,
    });
    assert.deepEqual(parseOrigin('http://127.0.0.1:3000'), {
      scheme: 'http',
      wildcard: false,
      labels: ['127', '0', '0', '1'],
      port: 3000,
    });
    for (const value of [
      'example.com',
      'ftp://a.com',
      'https://a.com/',
      'https://a.com/path',
      'https://a..com',
      'https://-a.com',
      'https://a.com:0',
      'https://a.com:65536',
      'https://a.com:080',
      'https://*.*.a.com',
      'https://a.*.com',
      'https://a_b.com',
      'https://a.com"',
      'https://a.com\n',
      'https://[::1]',
      'https://a.com;',
      '*',
    ]) {
      assert.equal(parseOrigin(value), undefined, JSON.stringify(value));
    }
  });

  it('reads every annotation', () => {
    const { config, problems } = parse({
      ...on,
      [CORS_ALLOW_ORIGIN]: 'https://app.example.com, http://*.example.org:8080',
      [CORS_ALLOW_METHODS]: 'GET,POST , OPTIONS',
      [CORS_ALLOW_HEADERS]: 'X-Api-Key, Content-Type',
      [CORS_EXPOSE_HEADERS]: '*, X-Total',
      [CORS_ALLOW_CREDENTIALS]: 'false',
      [CORS_MAX_AGE]: '600',
    });
    assert.deepEqual(problems, [], show(problems));
    assert.deepEqual(config, {
      anyOrigin: false,
      origins: [
        { scheme: 'https', wildcard: false, labels: ['app', 'example', 'com'], port: null },
        { scheme: 'http', wildcard: true, labels: ['example', 'org'], port: 8080 },
      ],
      methods: 'GET, POST, OPTIONS',
      headers: 'X-Api-Key, Content-Type',
      expose: '*, X-Total',
      credentials: false,
      maxAge: 600,
    });
    assert.equal(parse({ ...on, [CORS_ALLOW_ORIGIN]: '*' }).config?.anyOrigin, true);
    assert.equal(parse({ ...on, [CORS_ALLOW_HEADERS]: '*' }).config?.headers, '*');
  });

  for (const [key, value] of [
    [ENABLE_CORS, 'yes'],
    [CORS_ALLOW_ORIGIN, 'https://a.com, evil'],
    [CORS_ALLOW_ORIGIN, ''],
    [CORS_ALLOW_ORIGIN, '*, https://a.com'],
    [CORS_ALLOW_ORIGIN, 'https://a.com";'],
    [CORS_ALLOW_METHODS, 'GET, P0ST'],
    [CORS_ALLOW_METHODS, 'GET;'],
    [CORS_ALLOW_METHODS, ''],
    [CORS_ALLOW_HEADERS, 'X-A\nX-B'],
    [CORS_ALLOW_HEADERS, 'X-A, $http_x'],
    [CORS_ALLOW_HEADERS, 'X-A,,X-B'],
    [CORS_EXPOSE_HEADERS, 'X"'],
    [CORS_ALLOW_CREDENTIALS, 'True'],
    [CORS_MAX_AGE, '-1'],
    [CORS_MAX_AGE, '10m'],
  ] as const) {
    it(`refuses ${key.split('/')[1]}: ${JSON.stringify(value)} naming the Ingress, the annotation and the value`, () => {
      const { problems } = parse({ ...on, [key]: value });
      assert.equal(problems.length, 1, show(problems));
      assert.equal(problems[0]!.severity, 'error');
      assert.equal(problems[0]!.object, 'Ingress shop/web');
      assert.equal(problems[0]!.field, `metadata.annotations["${key}"]`);
      assert.ok(problems[0]!.message.includes(JSON.stringify(value)), problems[0]!.message);
    });
  }

  it('an invalid value is ignored with a warning and its default applies (as ingress-nginx); the paths serve', () => {
    const { model, problems } = build([
      ...backend,
      ingress({
        name: 'web',
        annotations: { ...on, [CORS_ALLOW_HEADERS]: 'X-A\nX-B' },
        rules: [rule('a.example.com', path('/', 'web'))],
      }),
    ]);
    assert.deepEqual(
      problems.map((p) => p.severity),
      ['warning'],
      show(problems),
    );
    const text = renderText(model);
    const block = locationBlock(text, 'a.example.com', '/');
    assert.doesNotMatch(block, /return 503;/);
    assert.match(block, /proxy_pass/);
    assert.doesNotMatch(text, /X-A\b|X-B\b/);
  });

  it('renders origin checks as anchored regexes built from validated labels, a 204 preflight and the headers', () => {
    const { model, problems } = build([
      ...backend,
      ingress({
        name: 'web',
        annotations: {
          ...on,
          [CORS_ALLOW_ORIGIN]: 'https://app.example.com,http://*.example.org:8080',
          [CORS_EXPOSE_HEADERS]: 'X-Total',
        },
        rules: [rule('a.example.com', path('/api', 'web'))],
      }),
      ingress({
        name: 'star',
        annotations: { ...on, [CORS_ALLOW_CREDENTIALS]: 'false' },
        rules: [rule('a.example.com', path('/star', 'web'))],
      }),
    ]);
    assert.deepEqual(problems, [], show(problems));
    const text = renderText(model);
    const api = locationBlock(text, 'a.example.com', '/api/');
    assert.ok(
      api.includes('if ($http_origin ~* "^https://app[.]example[.]com$") { set $ingress_templater_cors "true"; }'),
      api,
    );
    assert.ok(
      api.includes(
        'if ($http_origin ~* "^http://[a-z0-9-]+[.]example[.]org:8080$") { set $ingress_templater_cors "true"; }',
      ),
      api,
    );
    assert.match(api, /set \$ingress_templater_cors_origin \$http_origin;/);
    assert.match(api, /set \$ingress_templater_cors_credentials "true";/);
    assert.match(api, /set \$ingress_templater_cors_methods "GET, PUT, POST, DELETE, PATCH, OPTIONS";/);
    assert.match(api, /set \$ingress_templater_cors_expose "X-Total";/);
    assert.match(api, /set \$ingress_templater_cors_max_age 1728000;/);
    assert.match(api, /if \(\$ingress_templater_cors = "trueoptions"\) \{\n\s+return 204;/);
    for (const host of ['Origin', 'Credentials', 'Methods', 'Headers'])
      assert.match(api, new RegExp(`add_header Access-Control-Allow-${host} \\$ingress_templater_cors_\\w+ always;`));
    const star = locationBlock(text, 'a.example.com', '/star/');
    assert.match(star, /set \$ingress_templater_cors_origin "\*";/);
    assert.doesNotMatch(star, /http_origin ~\*|cors_credentials "true"|cors_expose "[^"]/);
  });

  it('nginx -t accepts the rendered CORS blocks', async function () {
    if (!fs.existsSync(NGINX)) this.skip();
    this.timeout(30_000);
    const { model } = build([
      ...backend,
      ingress({
        name: 'web',
        annotations: {
          ...on,
          [CORS_ALLOW_ORIGIN]: 'https://app.example.com,http://*.example.org:8080,http://127.0.0.1:3000',
          [CORS_ALLOW_HEADERS]: '*',
          [CORS_EXPOSE_HEADERS]: '*',
        },
        rules: [rule('a.example.com', path('/api', 'web'))],
      }),
      ingress({ name: 'star', annotations: on, rules: [rule('a.example.com', path('/star', 'web'))] }),
    ]);
    await nginxAccepts(model);
  });
});
