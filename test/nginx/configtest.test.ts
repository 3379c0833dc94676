// nginx -t of a candidate config (src/nginx/configtest.ts), with the real nginx.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigTestError } from '../../src/errors.js';
import { probeBinary } from '../../src/nginx/binary.js';
import { testConfig } from '../../src/nginx/configtest.js';
import { NGINX, tempNginxPrefix } from '../helpers/nginx-configtest.js';

describe('nginx configtest', () => {
  let prefix: string;
  beforeEach(() => {
    prefix = tempNginxPrefix('itp-configtest-');
  });
  afterEach(() => fs.rmSync(prefix, { recursive: true, force: true }));

  // many locations: nginx -t takes a while over them, longer than the short limit given here
  const config = (locations: number) =>
    [
      `pid ${prefix}/nginx.pid;`,
      'events {}',
      'http {',
      `  client_body_temp_path ${prefix}/tmp; proxy_temp_path ${prefix}/tmp; fastcgi_temp_path ${prefix}/tmp; uwsgi_temp_path ${prefix}/tmp; scgi_temp_path ${prefix}/tmp;`,
      '  server { listen 127.0.0.1:9;',
      ...Array.from({ length: locations }, (_, i) => `    location = /p${i} { return 200; }`),
      '  }',
      '}',
      '',
    ].join('\n');

  it('passes a good config and names the line of a bad one', async () => {
    const bin = await probeBinary(NGINX);
    const file = path.join(prefix, 'nginx.conf');
    fs.writeFileSync(file, config(3));
    await testConfig(bin, prefix, file, config(3));
    const bad = config(3).replace('return 200;', 'return 200; no_such_directive;');
    fs.writeFileSync(file, bad);
    await assert.rejects(
      testConfig(bin, prefix, file, bad),
      (e: Error) =>
        e instanceof ConfigTestError &&
        /unknown directive "no_such_directive"/.test(e.message) &&
        /line \d+/.test(e.message),
    );
  });

  it('says so when nginx -t runs past its time (it said nothing before it was stopped)', async function () {
    this.timeout(60_000);
    const bin = await probeBinary(NGINX);
    const file = path.join(prefix, 'nginx.conf');
    const text = config(50_000);
    fs.writeFileSync(file, text);
    await assert.rejects(
      testConfig(bin, prefix, file, text, 20),
      (e: Error) =>
        e instanceof ConfigTestError &&
        e.message === `nginx -t did not finish within 0.02 s (${text.length} bytes of config); it was stopped`,
    );
  });
});
