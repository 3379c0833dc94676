// Error pages: what their request-header lists cost nginx. N Ingresses on N hosts, each with
// custom-http-errors (4 codes) and a default-backend (5 named error locations per Ingress, each proxying
// with its own proxy_set_header list), against the same N Ingresses without the annotations (the
// baseline, measured in the same run). Prints config bytes and the median of 5 `nginx -t` runs for both,
// and the cost per error location. In-process render (lua balancer when the nginx has ngx_lua).
//   node dist/bench/error-pages.js [--sizes 100,1000]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultBinary, probeBinary } from '../src/nginx/binary.js';
import { loadTemplates, LUA_DIR } from '../src/render/index.js';
import type { Model } from '../src/model/index.js';
import type { Resource } from '../src/resources.js';
import { tempNginxPrefix } from '../test/helpers/nginx-configtest.js';
import { build, endpoints, ingress, makeCert, path as ingPath, rule, service } from '../test/helpers/resources.js';
import { machine, median } from './lib.js';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '100,1000' } } });
const sizes = values.sizes!.split(',').map(Number);
const A = 'nginx.ingress.kubernetes.io/';

function cluster(n: number, errors: boolean): Model {
  const res: Resource[] = [
    service({ name: 'web' }),
    endpoints({ name: 'web', subsets: [{ ready: ['127.16.0.1'] }] }),
    service({ name: 'errors' }),
    endpoints({ name: 'errors', subsets: [{ ready: ['127.16.0.2'] }] }),
  ];
  for (let i = 0; i < n; i++) {
    res.push(
      ingress({
        name: `app-${i}`,
        annotations: errors ? { [`${A}custom-http-errors`]: '404,500,502,503', [`${A}default-backend`]: 'errors' } : {},
        rules: [rule(`app-${i}.bench.example`, ingPath('/', 'web'), ingPath('/api', 'web'))],
      }),
    );
  }
  return build(res).model;
}

async function main(): Promise<void> {
  const nginx = defaultBinary();
  const bin = await probeBinary(nginx);
  const renderer = loadTemplates();
  const cert = makeCert(['default.invalid']);
  process.stdout.write(
    `# error pages: nginx -t and config size (${machine()}; ${bin.lua ? 'lua' : 'static'} balancer)\n`,
  );
  process.stdout.write(
    'ingresses  error-locations  baseline-bytes  errors-bytes  baseline-nginx-t-ms  errors-nginx-t-ms  ms-per-1000-error-locations\n',
  );
  for (const n of sizes) {
    const result: Record<string, { bytes: number; ms: number }> = {};
    for (const [label, errors] of [
      ['baseline', false],
      ['errors', true],
    ] as const) {
      const prefix = tempNginxPrefix('itp-bench-errors-');
      try {
        const o = {
          prefix,
          listenAddress: '127.0.0.1',
          httpPort: 18080,
          httpsPort: 18443,
          internalPort: 10246,
          defaultCertificate: path.join(prefix, 'ssl', 'default.pem'),
          features: { tempPaths: ['fastcgi', 'uwsgi', 'scgi'] },
          version: 'bench',
          balancer: bin.lua ? ('lua' as const) : ('static' as const),
          luaDir: LUA_DIR,
          luaModules: bin.luaModules,
        };
        fs.mkdirSync(path.dirname(o.defaultCertificate), { recursive: true });
        fs.writeFileSync(o.defaultCertificate, cert.crt + cert.key, { mode: 0o600 });
        const { text } = renderer.render(cluster(n, errors), o);
        const conf = path.join(prefix, 'nginx.conf');
        fs.writeFileSync(conf, text);
        const times: number[] = [];
        for (let k = 0; k < 5; k++) {
          const t = performance.now();
          execFileSync(nginx, ['-t', '-q', '-p', prefix, '-c', conf, '-e', 'stderr'], {
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          times.push(performance.now() - t);
        }
        result[label] = { bytes: Buffer.byteLength(text), ms: median(times) };
      } finally {
        fs.rmSync(prefix, { recursive: true, force: true });
      }
    }
    const b = result.baseline!;
    const e = result.errors!;
    const locations = n * 5;
    process.stdout.write(
      `${n}  ${locations}  ${b.bytes}  ${e.bytes}  ${b.ms.toFixed(0)}  ${e.ms.toFixed(0)}  ${(((e.ms - b.ms) / locations) * 1000).toFixed(1)}\n`,
    );
  }
}

await main();
