// Shared by the TLS annotation unit tests (ssl, backend-protocol, proxy-ssl, auth-tls): a CA and
// certificates made with openssl, Ingresses with annotations, and rendering a model (with `nginx -t`).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import type { AnnotationContext } from '../../../src/model/annotations/index.js';
import type { Model } from '../../../src/model/index.js';
import { DEFAULT_SETTINGS } from '../../../src/model/settings.js';
import type { Settings } from '../../../src/model/settings.js';
import { certificateFile, filesDir, loadTemplates } from '../../../src/render/index.js';
import type { BalancerMode, RenderOptions } from '../../../src/render/index.js';
import type { ConfigMap, Secret } from '../../../src/resources.js';
import { NGINX, nginxConfigTest, tempNginxPrefix } from '../../helpers/nginx-configtest.js';
import { b64, makeCert, secret } from '../../helpers/resources.js';

export const ANNOTATION_PREFIX = 'nginx.ingress.kubernetes.io/';
export { NGINX };

export interface Pem {
  cert: string;
  key: string;
}

let pkiDir: string | undefined;
let serial = 0;

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: pkiDir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function dir(): string {
  pkiDir ??= fs.mkdtempSync(nodePath.join(os.tmpdir(), 'it-pki-'));
  return pkiDir;
}

/** A CA certificate (id names its files for issue()). */
export function makeCa(cn: string): Pem & { id: string } {
  const workDir = dir();
  const id = `ca${++serial}`;
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${cn}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-keyout',
    `${id}.key`,
    '-out',
    `${id}.crt`,
  ]);
  return {
    id,
    cert: fs.readFileSync(nodePath.join(workDir, `${id}.crt`), 'utf8'),
    key: fs.readFileSync(nodePath.join(workDir, `${id}.key`), 'utf8'),
  };
}

/** A client certificate signed by the CA. */
export function issueClient(ca: { id: string }, cn: string): Pem {
  const workDir = dir();
  const id = `leaf${++serial}`;
  openssl([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    `/CN=${cn}`,
    '-keyout',
    `${id}.key`,
    '-out',
    `${id}.csr`,
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    `${id}.csr`,
    '-CA',
    `${ca.id}.crt`,
    '-CAkey',
    `${ca.id}.key`,
    '-set_serial',
    String(100 + serial),
    '-days',
    '2',
    '-out',
    `${id}.crt`,
  ]);
  return {
    cert: fs.readFileSync(nodePath.join(workDir, `${id}.crt`), 'utf8'),
    key: fs.readFileSync(nodePath.join(workDir, `${id}.key`), 'utf8'),
  };
}

export function cleanupPki(): void {
  if (pkiDir) fs.rmSync(pkiDir, { recursive: true, force: true });
  pkiDir = undefined;
}

/** An Opaque Secret with the given data (PEM text, encoded here). */
export function dataSecret(name: string, data: Record<string, string>, namespace = 'default'): Secret {
  return secret({
    name,
    namespace,
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  });
}

/** An AnnotationContext over a list of Secrets, recording the files registered. */
export function context(
  secrets: Secret[] = [],
  settings: Partial<Settings> = {},
  configMaps: ConfigMap[] = [],
): AnnotationContext & { files: Map<string, string> } {
  const files = new Map<string, string>();
  return {
    files,
    settings: { ...DEFAULT_SETTINGS, ...settings },
    secret: (ns, name) => secrets.find((s) => s.meta.namespace === ns && s.meta.name === name),
    configMap: (ns, name) => configMaps.find((cm) => cm.meta.namespace === ns && cm.meta.name === name),
    file: (name, content) => {
      files.set(name, content);
      return `${name}-hash`;
    },
  };
}

const renderer = loadTemplates();

export function renderOptions(prefix: string, balancer: BalancerMode = 'lua'): RenderOptions {
  return {
    prefix,
    listenAddress: '127.0.0.1',
    httpPort: 8080,
    httpsPort: 8443,
    internalPort: 10246,
    defaultCertificate: nodePath.join(prefix, 'ssl', 'default.pem'),
    features: { tempPaths: ['fastcgi', 'uwsgi', 'scgi'] },
    version: '0.1.0',
    balancer,
    luaDir: nodePath.resolve('nginx/lua'),
    luaModules: [],
  };
}

export function render(model: Model, balancer: BalancerMode = 'lua', prefix = '/srv/it'): string {
  return renderer.render(model, renderOptions(prefix, balancer)).text;
}

/**
 * Render into a temporary prefix with every file the config names (certificates, managed files) and run
 * `nginx -t` on it; returns nginx's complaint, or null when it accepts the config. Lua mode needs the
 * modules Debian loads from /etc/nginx/modules-enabled.
 */
export function nginxTest(model: Model, balancer: BalancerMode = 'static'): string | null {
  const prefix = tempNginxPrefix('it-nginx-tls-');
  try {
    fs.mkdirSync(filesDir(prefix));
    const def = makeCert(['default.invalid']);
    const options = renderOptions(prefix, balancer);
    if (balancer === 'lua') {
      options.luaModules = [
        '/usr/lib/nginx/modules/ndk_http_module.so',
        '/usr/lib/nginx/modules/ngx_http_lua_module.so',
      ];
    }
    fs.writeFileSync(options.defaultCertificate, def.crt + def.key, { mode: 0o600 });
    for (const cert of model.certificates) fs.writeFileSync(certificateFile(prefix, cert), cert.pem, { mode: 0o600 });
    for (const file of model.files)
      fs.writeFileSync(nodePath.join(filesDir(prefix), file.name), file.content, { mode: file.mode });
    const text = renderer.render(model, options).text;
    const complaint = nginxConfigTest(prefix, text);
    return complaint === null ? null : `${complaint}\n${text}`;
  } finally {
    fs.rmSync(prefix, { recursive: true, force: true });
  }
}

/** The lines of the location block for PATH ("location = PATH" or "location PATH") in the server for host. */
export function locationBlock(text: string, host: string, locationLine: string): string {
  const start = text.indexOf(`## start server ${host}\n`);
  const end = text.indexOf(`## end server ${host}\n`);
  if (start < 0 || end < 0) throw new Error(`no server ${host} in:\n${text}`);
  const server = text.slice(start, end);
  const index = server.indexOf(`${locationLine} {`);
  if (index < 0) throw new Error(`no "${locationLine}" in server ${host}:\n${server}`);
  return server.slice(index, server.indexOf('\n        }\n', index));
}

/** The server block of host, up to its first location. */
export function serverHead(text: string, host: string): string {
  const start = text.indexOf(`## start server ${host}\n`);
  if (start < 0) throw new Error(`no server ${host}`);
  const rest = text.slice(start);
  return rest.slice(0, rest.indexOf('location '));
}
