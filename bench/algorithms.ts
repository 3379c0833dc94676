// Throughput of the Lua balancer against a static upstream, same nginx, same backends (nginx itself
// answering 200 on 127.0.0.71-73), measured with wrk. Not part of the test suite:
//   npx tsc -p tsconfig.json && node dist/bench/algorithms.js [seconds per run] [runs]
// Needs wrk (Debian package "wrk").
import { execFile } from 'node:child_process';
import { freePort } from '../test/helpers/ports.js';
import { type LuaNginx, startLuaNginx } from '../test/helpers/lua-nginx.js';

function wrk(url: string, seconds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('wrk', ['-t1', '-c32', `-d${seconds}s`, url], (err, stdout) => {
      if (err) return reject(err);
      const match = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
      const errors = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
      if (!match) return reject(new Error(stdout));
      if (errors) return reject(new Error(`${url}: ${errors[1]} errors`));
      resolve(Number(match[1]));
    });
  });
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5);
  const runs = Number(process.argv[3] ?? 3);
  const bp = await freePort('127.0.0.71');
  const addrs = ['127.0.0.71', '127.0.0.72', '127.0.0.73'];
  let nginx: LuaNginx | undefined;
  try {
    nginx = await startLuaNginx(
      [
        { path: '/lua-rr/', backend: 'rr' },
        { path: '/lua-random/', backend: 'random' },
        { path: '/lua-ewma/', backend: 'ewma', ewma: true },
        { path: '/lua-sticky/', backend: 'sticky', affinity: true },
      ],
      {
        workers: 1,
        extraServer: '        location /static/ { proxy_pass http://static_up; }',
        extraHttp: [
          `    upstream static_up { zone static_up 64k; ${addrs.map((a) => `server ${a}:${bp};`).join(' ')} keepalive 320; }`,
          `    server { ${addrs.map((a) => `listen ${a}:${bp};`).join(' ')} access_log off; location / { return 200 "ok"; } }`,
        ].join('\n'),
      },
    );
    const endpoints = addrs.map((address) => ({ address, port: bp }));
    await nginx.push([
      { name: 'rr', endpoints },
      { name: 'random', endpoints, loadBalance: 'random' },
      { name: 'ewma', endpoints, loadBalance: 'ewma' },
      { name: 'sticky', endpoints, affinity: { name: 'c' } },
    ]);
    const paths = ['/static/', '/lua-rr/', '/lua-random/', '/lua-ewma/', '/lua-sticky/'];
    const results = new Map<string, number[]>(paths.map((p) => [p, []]));
    for (const location of paths) await wrk(`http://127.0.0.1:${nginx.port}${location}`, 1); // warm up
    for (let i = 0; i < runs; i++) {
      for (const location of paths)
        results.get(location)!.push(await wrk(`http://127.0.0.1:${nginx.port}${location}`, seconds));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const base = median(results.get('/static/')!);
    for (const [location, xs] of results) {
      const rate = median(xs);
      console.log(
        `${location.padEnd(14)} ${rate.toFixed(0).padStart(7)} req/s  ${(rate / base).toFixed(3)} of static  (runs: ${xs.map((x) => x.toFixed(0)).join(', ')})`,
      );
    }
  } finally {
    await nginx?.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
