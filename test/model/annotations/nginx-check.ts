// For the annotation tests of proxy, headers, access, rate-limit and cors: render a model with the bundled
// templates (static and lua balancer) and have the real nginx check the result with `nginx -t`.
import fs from 'node:fs';
import nodePath from 'node:path';
import type { Model } from '../../../src/model/index.js';
import { probeBinary } from '../../../src/nginx/binary.js';
import { filesDir, LUA_DIR, loadTemplates } from '../../../src/render/index.js';
import type { BalancerMode, NginxFeatures, RenderOptions } from '../../../src/render/index.js';
import { NGINX, nginxConfigTest, numberedLines, tempNginxPrefix } from '../../helpers/nginx-configtest.js';
import { makeCert } from '../../helpers/resources.js';

export { NGINX };

export function renderOptions(
  prefix: string,
  balancer: BalancerMode = 'static',
  luaModules: string[] = [],
  features: NginxFeatures = { tempPaths: ['fastcgi', 'uwsgi', 'scgi'] },
): RenderOptions {
  return {
    prefix,
    listenAddress: '127.0.0.1',
    httpPort: 8080,
    httpsPort: 8443,
    internalPort: 10246,
    defaultCertificate: nodePath.join(prefix, 'ssl', 'default.pem'),
    features,
    version: '0.1.0',
    balancer,
    luaDir: LUA_DIR,
    luaModules,
  };
}

const renderer = loadTemplates();

/** The config text for a model (static mode unless told; without headers-more unless features say). */
export function renderText(model: Model, balancer: BalancerMode = 'static', features?: NginxFeatures): string {
  return renderer.render(model, renderOptions('/srv/it', balancer, [], features)).text;
}

/**
 * Render in both balancer modes and run `nginx -t` on each; throws with nginx's output and the config.
 * Static mode renders for an nginx without headers-more (add_header), lua mode with this nginx's features.
 */
export async function nginxAccepts(model: Model): Promise<void> {
  const bin = await probeBinary(NGINX);
  const prefix = tempNginxPrefix('itp-ann-nginx-');
  try {
    const cert = makeCert(['default.invalid']);
    fs.mkdirSync(filesDir(prefix), { recursive: true });
    for (const file of model.files)
      fs.writeFileSync(nodePath.join(filesDir(prefix), file.name), file.content, { mode: file.mode });
    const modes: [BalancerMode, string[], NginxFeatures][] = [['static', [], { tempPaths: bin.features.tempPaths }]];
    if (bin.lua) modes.push(['lua', bin.luaModules, bin.features]);
    for (const [mode, modules, features] of modes) {
      const options = renderOptions(prefix, mode, modules, features);
      fs.writeFileSync(options.defaultCertificate, cert.crt + cert.key, { mode: 0o600 });
      const { text } = renderer.render(model, options);
      const complaint = nginxConfigTest(prefix, text);
      if (complaint !== null)
        throw new Error(`nginx -t (${mode}) refused the config:\n${complaint}\n${numberedLines(text)}`);
    }
  } finally {
    fs.rmSync(prefix, { recursive: true, force: true });
  }
}

/** The lines of the location block for PATH (exact "= PATH" when exact) of the server for HOST. */
export function locationBlock(text: string, host: string, path: string, exact = false): string {
  const start = text.indexOf(`## start server ${host}\n`);
  const end = text.indexOf(`## end server ${host}\n`);
  if (start < 0 || end < start) throw new Error(`no server block for ${host}`);
  const block = text.slice(start, end);
  const head = `location ${exact ? '= ' : ''}"${path}" {`;
  const index = block.indexOf(head);
  if (index < 0) throw new Error(`no ${head} in server ${host}:\n${block}`);
  // up to the location's closing brace at its own indentation
  const close = block.indexOf('\n        }\n', index);
  return block.slice(index, close + 10);
}
