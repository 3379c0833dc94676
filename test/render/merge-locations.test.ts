import assert from 'node:assert/strict';
import type { Model } from '../../src/model/index.js';
import { buildView } from '../../src/render/view.js';
import type { RenderOptions } from '../../src/render/view.js';
import type { Resource } from '../../src/resources.js';
import {
  build,
  configMap,
  CONFIG_MAP_OPTION,
  endpoints,
  exact,
  ingress,
  path,
  rule,
  service,
} from '../helpers/resources.js';

const OPTS: RenderOptions = {
  prefix: '/srv/it',
  listenAddress: '*',
  httpPort: 80,
  httpsPort: 443,
  internalPort: 10246,
  defaultCertificate: '/srv/it/ssl/default.pem',
  features: { tempPaths: [] },
  version: '0.1.0',
  balancer: 'lua',
  luaDir: '/srv/it/lua',
  luaModules: [],
};
const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const apps = (...names: string[]): Resource[] =>
  names.flatMap((name) => [service({ name }), endpoints({ name, subsets: [{ ready: ['10.0.0.1'] }] })]);

/** "= /x" or "/x/" -> the path of the location serving it ("" when it has a block of its own). */
function served(resources: Resource[], host = 'h.example.com', opts = {}): Record<string, string> {
  const model: Model = build(resources, opts).model;
  const server = buildView(model, OPTS).servers.find((x) => x.host === host)!;
  return Object.fromEntries(server.locations.map((l) => [`${l.exact ? '= ' : ''}${l.path}`, l.servedBy ?? '']));
}

describe('render merge: locations served alike by an enclosing one need no block', () => {
  it('a Prefix path of an Ingress whose "/" goes to the same Service: served by "/"', () => {
    assert.deepEqual(
      served([
        ...apps('web'),
        ingress({ name: 'a', rules: [rule('h.example.com', path('/api', 'web'), path('/', 'web'))] }),
      ]),
      {
        '= /api': '/',
        '/api/': '/',
        '/': '',
      },
    );
  });

  it('another Service, another Ingress with other annotations, or a redirect of its own keeps the block', () => {
    assert.deepEqual(
      served([
        ...apps('web', 'api'),
        ingress({ name: 'a', rules: [rule('h.example.com', path('/api', 'api'), path('/', 'web'))] }),
      ]),
      {
        '= /api': '',
        '/api/': '',
        '/': '',
      },
    );
    assert.deepEqual(
      served([
        ...apps('web'),
        ingress({ name: 'a', rules: [rule('h.example.com', path('/', 'web'))] }),
        ingress({
          name: 'b',
          annotations: { [`${ANNOTATION}proxy-body-size`]: '8m' },
          rules: [rule('h.example.com', path('/api', 'web'))],
        }),
      ]),
      { '= /api': '', '/api/': '', '/': '' },
    );
    // another Ingress, same Service, no annotations: the same configuration
    assert.deepEqual(
      served([
        ...apps('web'),
        ingress({ name: 'a', rules: [rule('h.example.com', path('/', 'web'))] }),
        ingress({ name: 'b', rules: [rule('h.example.com', path('/api', 'web'))] }),
      ]),
      { '= /api': '/', '/api/': '/', '/': '' },
    );
    assert.deepEqual(
      served([
        ...apps('web'),
        ingress({ name: 'a', rules: [rule('h.example.com', path('/', 'web'))] }),
        ingress({
          name: 'b',
          annotations: { [`${ANNOTATION}force-ssl-redirect`]: 'true' },
          rules: [rule('h.example.com', path('/api', 'web'))],
        }),
      ]),
      { '= /api': '', '/api/': '', '/': '' },
    );
  });

  it('follows the nearest enclosing prefix, and a chain of alike ones up to the first that differs', () => {
    assert.deepEqual(
      served([
        ...apps('web', 'api'),
        ingress({
          name: 'a',
          rules: [
            rule('h.example.com', path('/a', 'api'), path('/a/b', 'api'), path('/a/b/c', 'api'), path('/', 'web')),
          ],
        }),
      ]),
      {
        '= /a': '',
        '/a/': '',
        '= /a/b': '/a/',
        '/a/b/': '/a/',
        '= /a/b/c': '/a/',
        '/a/b/c/': '/a/',
        '/': '',
      },
    );
    // "/ab" is not inside "/a": element-wise prefixes only
    assert.deepEqual(
      served([
        ...apps('web', 'api'),
        ingress({ name: 'a', rules: [rule('h.example.com', path('/a', 'api'), path('/ab', 'api'), path('/', 'web'))] }),
      ]),
      {
        '= /a': '',
        '/a/': '',
        '= /ab': '',
        '/ab/': '',
        '/': '',
      },
    );
  });

  it('Exact paths: served by the prefix location matching them; kept when "/x/" keeps its block (nginx would answer /x with a 301)', () => {
    assert.deepEqual(
      served([
        ...apps('web'),
        ingress({
          name: 'a',
          rules: [rule('h.example.com', exact('/x', 'web'), exact('/y/', 'web'), path('/', 'web'))],
        }),
      ]),
      {
        '= /x': '/',
        '= /y/': '/',
        '/': '',
      },
    );
    assert.deepEqual(
      served([
        ...apps('web', 'api'),
        ingress({ name: 'a', rules: [rule('h.example.com', exact('/x', 'web'), path('/x', 'api'), path('/', 'web'))] }),
      ]),
      {
        '= /x': '',
        '/x/': '',
        '/': '',
      },
    );
  });

  it('nothing without an enclosing prefix location (the fallback is not one), on regex hosts, or with snippets', () => {
    assert.deepEqual(
      served([
        ...apps('web'),
        ingress({ name: 'a', rules: [rule('h.example.com', path('/a', 'web'), exact('/b', 'web'))] }),
      ]),
      {
        '= /a': '',
        '/a/': '',
        '= /b': '',
      },
    );
    const regex = served([
      ...apps('web'),
      ingress({
        name: 'a',
        annotations: { [`${ANNOTATION}use-regex`]: 'true' },
        rules: [rule('h.example.com', path('/api', 'web'), path('/', 'web'))],
      }),
    ]);
    assert.ok(
      Object.values(regex).every((v) => v === ''),
      JSON.stringify(regex),
    );
    const snippet = served(
      [
        configMap({ 'allow-snippet-annotations': 'true' }),
        ...apps('web'),
        ingress({ name: 'a', rules: [rule('h.example.com', path('/api', 'web'), path('/', 'web'))] }),
        ingress({
          name: 's',
          annotations: { [`${ANNOTATION}server-snippet`]: 'location = /ping { return 200; }' },
          rules: [rule('h.example.com', path('/other', 'web'))],
        }),
      ],
      'h.example.com',
      CONFIG_MAP_OPTION,
    );
    assert.ok(
      Object.values(snippet).every((v) => v === ''),
      JSON.stringify(snippet),
    );
  });
});
