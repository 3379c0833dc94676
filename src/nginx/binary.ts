// Which nginx we drive and what it was built with.
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { NginxError } from '../errors.js';
import type { NginxFeatures } from '../render/index.js';

export interface NginxBinary {
  path: string;
  version: string; // e.g. 1.22.1
  features: NginxFeatures;
  lua: boolean; // ngx_lua is compiled in (OpenResty) or available as a dynamic module
  luaModules: string[]; // load_module paths when ngx_lua is a dynamic module (Debian), in load order
}

const OPENRESTY = '/usr/local/openresty/nginx/sbin/nginx';

export function defaultBinary(): string {
  return fs.existsSync(OPENRESTY) ? OPENRESTY : 'nginx';
}

export async function probeBinary(file: string): Promise<NginxBinary> {
  let out: string;
  try {
    // nginx prints -V to stderr
    const result = await execa(file, ['-V'], { all: true, reject: true, timeout: 10_000 });
    out = result.all ?? '';
  } catch (err) {
    throw new NginxError(`cannot run ${file} -V; is nginx installed?`, { cause: err });
  }
  const version = /nginx\/([0-9.]+)/.exec(out)?.[1] ?? '0';
  const tempPaths = ['fastcgi', 'uwsgi', 'scgi'].filter((m) => !out.includes(`--without-http_${m}_module`));
  const builtIn = /--add-module=\S*(ngx_lua|lua-nginx-module)/.test(out);
  // Debian ships ngx_lua as a dynamic module that needs the NDK loaded first
  const dir = /--modules-path=(\S+)/.exec(out)?.[1] ?? '/usr/lib/nginx/modules';
  const dynamic = ['ndk_http_module.so', 'ngx_http_lua_module.so'].map((m) => path.join(dir, m));
  const hasDynamic = !builtIn && dynamic.every((m) => fs.existsSync(m));
  return {
    path: file,
    version,
    features: { tempPaths, ...headersMore(out, dir) },
    lua: builtIn || hasDynamic,
    luaModules: hasDynamic ? dynamic : [],
  };
}

// Debian's libnginx-mod-http-headers-more-filter; OpenResty compiles headers-more in
const HEADERS_MORE_MODULE = 'ngx_http_headers_more_filter_module.so';

/**
 * headers-more (more_set_headers, more_clear_headers), which ingress-nginx used to replace response headers
 * rather than add a second copy: compiled in, or the dynamic module to load. Absent when nginx has neither.
 */
function headersMore(configureText: string, modulesDir: string): Pick<NginxFeatures, 'headersMore'> {
  if (/--add-module=\S*headers-more/.test(configureText)) return { headersMore: { module: null } };
  const module = path.join(modulesDir, HEADERS_MORE_MODULE);
  return fs.existsSync(module) ? { headersMore: { module } } : {};
}

export function versionAtLeast(version: string, min: string): boolean {
  const have = version.split('.').map(Number);
  const want = min.split('.').map(Number);
  for (let i = 0; i < Math.max(have.length, want.length); i++) {
    const difference = (have[i] ?? 0) - (want[i] ?? 0);
    if (difference !== 0) return difference > 0;
  }
  return true;
}
