import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import nodePath from 'node:path';
import { loadTemplates } from '../../src/render/index.js';
import type { RenderOptions } from '../../src/render/index.js';
import { serverNamesHash } from '../../src/render/names-hash.js';
import { buildView } from '../../src/render/view.js';
import { NGINX, tempNginxPrefix } from '../helpers/nginx-configtest.js';
import { build, configMap, CONFIG_MAP_OPTION, ingress, makeCert, path, rule, service } from '../helpers/resources.js';

const options = (prefix: string): RenderOptions => ({
  prefix,
  listenAddress: '127.0.0.1',
  httpPort: 8080,
  httpsPort: 8443,
  internalPort: 10246,
  defaultCertificate: nodePath.join(prefix, 'ssl', 'default.pem'),
  features: { tempPaths: ['fastcgi', 'uwsgi', 'scgi'] },
  version: '0.1.0',
  balancer: 'static',
  luaDir: '/srv/it/lua',
  luaModules: [],
});

// names spread the way real ones are, deterministic
const hosts = (n: number) =>
  Array.from({ length: n }, (_, i) => `${((i * 7919) % 100003).toString(36)}-svc.ns-${i % 37}.example.com`);

describe('render server_names_hash sizes', () => {
  it('keeps the ConfigMap values (defaults 64 / 1024) when nginx builds the hash with them', () => {
    assert.deepEqual(serverNamesHash(['_', 'a.example.com', 'b.example.com'], null, 1024), { bucket: 64, max: 1024 });
    assert.deepEqual(serverNamesHash(['_', 'a.example.com'], 128, 512), { bucket: 128, max: 512 });
  });

  it('takes a bucket that holds the longest name (nginx refuses a smaller one)', () => {
    // 47 characters: 8 + 56 bytes in a bucket, which also needs a pointer at its end
    assert.equal(serverNamesHash(['_', `${'a'.repeat(43)}.com`], null, 1024).bucket, 128);
    assert.equal(serverNamesHash(['_', `${'a'.repeat(38)}.com`], null, 1024).bucket, 64);
  });

  it('raises max (and the bucket when the table would get large) for thousands of names', () => {
    const sizes = serverNamesHash(['_', ...hosts(5000)], null, 1024);
    assert.ok(sizes.max > 1024 || sizes.bucket > 64, JSON.stringify(sizes));
    assert.ok(sizes.max <= 16 * 5001, JSON.stringify(sizes));
    const fixed = serverNamesHash(['_', ...hosts(5000)], 64, 1024);
    assert.equal(fixed.bucket, 64);
  });

  it('counts the catch-all, exact hosts and www aliases, not wildcards (nginx matches those as regexes)', () => {
    const built = build([
      service({ name: 'web' }),
      ingress({ name: 'a', rules: [rule('a.example.com', path('/', 'web')), rule('*.example.com', path('/', 'web'))] }),
      ingress({
        name: 'w',
        annotations: { 'nginx.ingress.kubernetes.io/from-to-www-redirect': 'true' },
        rules: [rule(`${'w'.repeat(43)}.com`, path('/', 'web'))],
      }),
    ]);
    // the alias, www. and 47 characters, needs the larger bucket
    assert.equal(buildView(built.model, options('/srv/it')).serverNamesHashBucketSize, 128);
    const configured = build(
      [
        service({ name: 'web' }),
        configMap({ 'server-name-hash-bucket-size': '256', 'server-name-hash-max-size': '2048' }),
      ],
      CONFIG_MAP_OPTION,
    );
    const view = buildView(configured.model, options('/srv/it'));
    assert.deepEqual([view.serverNamesHashBucketSize, view.serverNamesHashMaxSize], [256, 2048]);
  });

  it('nginx -t builds the hash of 3000 servers without a warning', function () {
    if (!fs.existsSync(NGINX)) this.skip();
    this.timeout(60_000);
    const names = [...hosts(3000), `${'l'.repeat(43)}.com`];
    const built = build([
      service({ name: 'web' }),
      ...names.map((h, i) => ingress({ name: `i${i}`, rules: [rule(h, path('/', 'web'))] })),
    ]);
    const prefix = tempNginxPrefix('itp-names-hash-');
    try {
      const renderOptions = options(prefix);
      const cert = makeCert(['default.invalid']);
      fs.writeFileSync(renderOptions.defaultCertificate, cert.crt + cert.key, { mode: 0o600 });
      const text = loadTemplates().render(built.model, renderOptions).text;
      assert.doesNotMatch(text, /server_names_hash_max_size 1024;/);
      const configTest = (name: string, config: string) => {
        fs.writeFileSync(nodePath.join(prefix, name), config);
        return spawnSync(NGINX, ['-t', '-q', '-p', prefix, '-c', nodePath.join(prefix, name), '-e', 'stderr'], {
          encoding: 'utf8',
        });
      };
      const result = configTest('nginx.conf', text);
      assert.equal(result.status, 0, result.stderr);
      assert.doesNotMatch(result.stderr, /server_names_hash/);
      // with nginx's default max, the same servers get the warning: the check above means something
      const old = configTest(
        'old.conf',
        text.replace(/server_names_hash_max_size \d+;/, 'server_names_hash_max_size 1024;'),
      );
      assert.match(old.stderr, /could not build optimal server_names_hash/);
    } finally {
      fs.rmSync(prefix, { recursive: true, force: true });
    }
  });
});
