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
const ANNOTATION = 'nginx.ingress.kubernetes.io/';

function cluster(ingresses: number, errors: boolean): Model {
  const res: Resource[] = [
    service({ name: 'web' }),
    endpoints({ name: 'web', subsets: [{ ready: ['127.16.0.1'] }] }),
    service({ name: 'errors' }),
    endpoints({ name: 'errors', subsets: [{ ready: ['127.16.0.2'] }] }),
  ];
  for (let i = 0; i < ingresses; i++) {
    res.push(
      ingress({
        name: `app-${i}`,
        annotations: errors
          ? { [`${ANNOTATION}custom-http-errors`]: '404,500,502,503', [`${ANNOTATION}default-backend`]: 'errors' }
          : {},
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
  for (const ingresses of sizes) {
    const result: Record<string, { bytes: number; ms: number }> = {};
    for (const [label, errors] of [
      ['baseline', false],
      ['errors', true],
    ] as const) {
      const prefix = tempNginxPrefix('itp-bench-errors-');
      try {
        const renderOptions = {
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
        fs.mkdirSync(path.dirname(renderOptions.defaultCertificate), { recursive: true });
        fs.writeFileSync(renderOptions.defaultCertificate, cert.crt + cert.key, { mode: 0o600 });
        const { text } = renderer.render(cluster(ingresses, errors), renderOptions);
        const conf = path.join(prefix, 'nginx.conf');
        fs.writeFileSync(conf, text);
        const times: number[] = [];
        for (let k = 0; k < 5; k++) {
          const started = performance.now();
          execFileSync(nginx, ['-t', '-q', '-p', prefix, '-c', conf, '-e', 'stderr'], {
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          times.push(performance.now() - started);
        }
        result[label] = { bytes: Buffer.byteLength(text), ms: median(times) };
      } finally {
        fs.rmSync(prefix, { recursive: true, force: true });
      }
    }
    const baseline = result.baseline!;
    const withErrors = result.errors!;
    const locations = ingresses * 5;
    process.stdout.write(
      `${ingresses}  ${locations}  ${baseline.bytes}  ${withErrors.bytes}  ${baseline.ms.toFixed(0)}  ${withErrors.ms.toFixed(0)}  ${(((withErrors.ms - baseline.ms) / locations) * 1000).toFixed(1)}\n`,
    );
  }
}

await main();
