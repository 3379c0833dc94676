// The PATCH fast path of the Lua balancer: with 10000 backends x 10 endpoints stored, the round trip of a
// PATCH of one backend, of one backend plus one invalid backend (refused alone, 207), and, as the baseline
// measured in the same run, the POST of the whole set. Real nginx (2 workers), Node on the same machine.
//   node dist/bench/patch.js [--rounds 50] [--lua DIR]   (--lua: another copy of nginx/lua, to compare versions)
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bigBackends, patchBackends, startLuaNginx } from '../test/helpers/lua-nginx.js';
import { machine, median } from './lib.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '50' }, lua: { type: 'string' } } });
const rounds = Number(values.rounds);
const nginx = await startLuaNginx([], values.lua ? { luaDir: path.resolve(values.lua) } : {});
try {
  const stored = bigBackends(10000);
  const body = JSON.stringify({ backends: stored });
  const post: number[] = [];
  for (let i = 0; i < 3; i++) {
    // every other run changes every backend, so the POST writes them all
    const reply = await nginx.post(i % 2 ? body.replaceAll('"port":1}', '"port":11}') : body);
    if (reply.status !== 201) throw new Error(`POST answered ${reply.status}: ${reply.body.slice(0, 200)}`);
    post.push(reply.ms);
  }
  const one = (i: number) => ({
    name: 'big-5000',
    endpoints: Array.from({ length: 10 }, (_, j) => ({ address: `10.9.${i & 255}.${j + 1}`, port: 80 })),
  });
  const time = async (make: (round: number) => unknown, want: number[]) => {
    const ms: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const reply = await patchBackends(nginx, make(i));
      if (!want.includes(reply.status)) throw new Error(`PATCH answered ${reply.status}: ${reply.body.slice(0, 200)}`);
      ms.push(reply.ms);
    }
    return ms;
  };
  const single = await time((i) => ({ backends: [one(i)] }), [201]);
  const withRefused = await time(
    (i) => ({ backends: [one(i), { name: 'big-7', endpoints: [{ address: 'nope', port: 1 }] }] }),
    [207, 400],
  );
  const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.9) - 1]!;
  console.log(`machine: ${machine()}`);
  console.log(
    `Lua code: ${values.lua ?? 'this checkout'}; 10000 backends x 10 endpoints stored; ${rounds} PATCHes each\n`,
  );
  console.log('| request | median ms | p90 ms |');
  console.log('| --- | ---: | ---: |');
  console.log(
    `| POST of the whole set (${(body.length / 1e6).toFixed(1)} MB, baseline, 3 runs) | ${median(post).toFixed(1)} | - |`,
  );
  console.log(`| PATCH of one backend (10 endpoints) | ${median(single).toFixed(2)} | ${p90(single).toFixed(2)} |`);
  console.log(
    `| PATCH of one backend + one invalid backend | ${median(withRefused).toFixed(2)} | ${p90(withRefused).toFixed(2)} |`,
  );
} finally {
  await nginx.stop();
}
