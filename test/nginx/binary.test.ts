// What nginx we drive and what it was built with (src/nginx/binary.ts): the real nginx -V, and fake
// binaries (shell scripts printing a chosen -V text) for builds this machine does not have.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NginxError } from '../../src/errors.js';
import { defaultBinary, probeBinary, versionAtLeast } from '../../src/nginx/binary.js';
import { NGINX } from '../helpers/nginx-configtest.js';

describe('nginx/binary', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-binary-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** An executable that prints text to stderr (as nginx -V does) and exits with code. */
  function fakeNginx(text: string, code = 0): string {
    const file = path.join(dir, 'nginx');
    fs.writeFileSync(path.join(dir, 'v.txt'), text);
    fs.writeFileSync(file, `#!/bin/sh\ncat '${dir}/v.txt' >&2\nexit ${code}\n`, { mode: 0o755 });
    return file;
  }
  const vText = (args: string) =>
    `nginx version: nginx/1.25.3\nbuilt by gcc 12\nconfigure arguments: --prefix=/etc/nginx ${args}\n`;

  it('probes the installed nginx: its version and the Debian dynamic ngx_lua modules, NDK first', async () => {
    const stderr = execFileSync('sh', ['-c', `${NGINX} -V 2>&1`], { encoding: 'utf8' });
    const binary = await probeBinary(NGINX);
    assert.equal(binary.path, NGINX);
    assert.equal(binary.version, /nginx\/([0-9.]+)/.exec(stderr)![1]);
    assert.match(binary.version, /^\d+\.\d+\.\d+$/);
    assert.deepEqual(binary.features.tempPaths, ['fastcgi', 'uwsgi', 'scgi'], 'Debian builds all three');
    const dirOf = /--modules-path=(\S+)/.exec(stderr)?.[1] ?? '/usr/lib/nginx/modules';
    assert.equal(binary.lua, true, 'libnginx-mod-http-lua is installed on this machine');
    assert.deepEqual(binary.luaModules, [
      path.join(dirOf, 'ndk_http_module.so'),
      path.join(dirOf, 'ngx_http_lua_module.so'),
    ]);
  });

  it('a build without Lua and without some modules: no lua, no load_module lines, no temp paths for the missing modules', async () => {
    const modules = path.join(dir, 'modules');
    fs.mkdirSync(modules);
    const binary = await probeBinary(
      fakeNginx(vText(`--modules-path=${modules} --without-http_fastcgi_module --without-http_scgi_module`)),
    );
    assert.equal(binary.version, '1.25.3');
    assert.deepEqual(binary.features.tempPaths, ['uwsgi']);
    assert.equal(binary.lua, false);
    assert.deepEqual(binary.luaModules, []);
  });

  it('dynamic ngx_lua counts only when both the NDK and the lua module are in the modules path', async () => {
    const modules = path.join(dir, 'modules');
    fs.mkdirSync(modules);
    fs.writeFileSync(path.join(modules, 'ngx_http_lua_module.so'), '');
    const bin = fakeNginx(vText(`--modules-path=${modules}`));
    assert.equal((await probeBinary(bin)).lua, false, 'lua module without the NDK it needs');
    fs.writeFileSync(path.join(modules, 'ndk_http_module.so'), '');
    const binary = await probeBinary(bin);
    assert.equal(binary.lua, true);
    assert.deepEqual(binary.luaModules, [
      path.join(modules, 'ndk_http_module.so'),
      path.join(modules, 'ngx_http_lua_module.so'),
    ]);
  });

  it('ngx_lua compiled in (OpenResty): lua without load_module lines, even with the .so files beside it', async () => {
    const modules = path.join(dir, 'modules');
    fs.mkdirSync(modules);
    for (const module of ['ndk_http_module.so', 'ngx_http_lua_module.so'])
      fs.writeFileSync(path.join(modules, module), '');
    const binary = await probeBinary(fakeNginx(vText(`--modules-path=${modules} --add-module=../ngx_lua-0.10.26`)));
    assert.equal(binary.lua, true);
    assert.deepEqual(binary.luaModules, []);
    const b2 = await probeBinary(fakeNginx(vText('--add-module=/build/lua-nginx-module')));
    assert.equal(b2.lua, true);
  });

  it('headers-more: the installed Debian module, a dynamic module in the modules path, or compiled in (OpenResty)', async () => {
    const stderr = execFileSync('sh', ['-c', `${NGINX} -V 2>&1`], { encoding: 'utf8' });
    const dirOf = /--modules-path=(\S+)/.exec(stderr)?.[1] ?? '/usr/lib/nginx/modules';
    assert.deepEqual(
      (await probeBinary(NGINX)).features.headersMore,
      { module: path.join(dirOf, 'ngx_http_headers_more_filter_module.so') },
      'libnginx-mod-http-headers-more-filter is installed on this machine (scripts/setup.sh)',
    );
    const modules = path.join(dir, 'modules');
    fs.mkdirSync(modules);
    const bin = fakeNginx(vText(`--modules-path=${modules}`));
    assert.equal((await probeBinary(bin)).features.headersMore, undefined, 'no module: plain nginx');
    fs.writeFileSync(path.join(modules, 'ngx_http_headers_more_filter_module.so'), '');
    assert.deepEqual((await probeBinary(bin)).features.headersMore, {
      module: path.join(modules, 'ngx_http_headers_more_filter_module.so'),
    });
    const openresty = fakeNginx(
      vText('--add-module=../headers-more-nginx-module-0.37 --add-module=../ngx_lua-0.10.26'),
    );
    assert.deepEqual((await probeBinary(openresty)).features.headersMore, { module: null });
  });

  it('an unreadable version is 0, which is older than anything', async () => {
    const binary = await probeBinary(fakeNginx('something that is not nginx\n'));
    assert.equal(binary.version, '0');
    assert.equal(versionAtLeast(binary.version, '1.19.5'), false);
  });

  it('a binary that is missing or fails -V is an NginxError naming it', async () => {
    const missing = path.join(dir, 'no-nginx');
    await assert.rejects(
      probeBinary(missing),
      (e: Error) => e instanceof NginxError && e.message === `cannot run ${missing} -V; is nginx installed?`,
    );
    const failing = fakeNginx(vText(''), 1);
    await assert.rejects(probeBinary(failing), (e: Error) => e instanceof NginxError && e.message.includes(failing));
  });

  it('versionAtLeast compares numerically, part by part, missing parts as 0', () => {
    const cases: [string, string, boolean][] = [
      ['1.22.1', '1.19.5', true],
      ['1.19.5', '1.19.5', true],
      ['1.19.4', '1.19.5', false],
      ['1.9.0', '1.19.0', false],
      ['1.100', '1.99.9', true],
      ['2', '1.99.99', true],
      ['1.19', '1.19.0', true],
      ['1.19', '1.19.1', false],
      ['0', '0.0.1', false],
    ];
    for (const [version, min, want] of cases) assert.equal(versionAtLeast(version, min), want, `${version} >= ${min}`);
  });

  it("defaultBinary is OpenResty's nginx where installed, else nginx from PATH", () => {
    const openresty = '/usr/local/openresty/nginx/sbin/nginx';
    assert.equal(defaultBinary(), fs.existsSync(openresty) ? openresty : 'nginx');
  });
});
