import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { childPids, waitRetired } from '../../src/nginx/workers.js';

describe('nginx/workers', () => {
  it('lists the children of a process and waits for them to go', async () => {
    const parent = spawn('sh', ['-c', 'sleep 30 & sleep 30 & wait'], { stdio: 'ignore' });
    try {
      let kids: number[] = [];
      for (let i = 0; i < 100 && kids.length < 2; i++) {
        kids = await childPids(parent.pid);
        if (kids.length < 2) await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(kids.length, 2);
      assert.equal(await waitRetired(kids, 50), false, 'live children that are not shutting down');
      for (const k of kids) process.kill(k, 'SIGKILL');
      assert.equal(await waitRetired(kids, 2000), true);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('returns no children for no master', async () => {
    assert.deepEqual(await childPids(undefined), []);
    assert.deepEqual(await childPids(1), []);
  });
});
