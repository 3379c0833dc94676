// A backend without endpoints, or an unknown one, when nginx.conf names a loopback server for 503s in
// $ingress_templater_unavailable (as the rendered config does): the balancer sends the request there,
// once, and nowhere else; a location that sets the variable empty gets the old 500 for its error_page.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  type BackendSpec,
  type EchoGroup,
  type LuaNginx,
  many,
  startEchoServers,
  startLuaNginx,
} from '../helpers/lua-nginx.js';
import { freePorts } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const HEADER = 'x-ingress-templater';

describe('lua data plane: backends without endpoints answer 503 through a loopback server', function () {
  this.timeout(60_000);
  let nginx: LuaNginx;
  let pods: EchoGroup;

  before(async () => {
    pods = await startEchoServers([
      { name: 'pod-1', address: '127.0.0.81' },
      { name: 'pod-2', address: '127.0.0.82' },
    ]);
    const [port] = (await freePorts(1)) as [number];
    nginx = await startLuaNginx(
      [
        { path: '/app/', backend: 'app' },
        { path: '/empty/', backend: 'empty' },
        { path: '/unknown/', backend: 'never-pushed' },
        { path: '/ewma/', backend: 'ew-empty', ewma: true },
        { path: '/main/', backend: 'main' },
      ],
      {
        extraHttp: `
    map $https $ingress_templater_unavailable { default "127.0.0.1:${port}"; }
    server {
        listen 127.0.0.1:${port};
        access_log logs/unavailable.log;
        add_header X-Ingress-Templater backend-unavailable always;
        return 503;
    }`,
        extraServer: `
        location /handled/ {
            set $proxy_upstream_name "empty";
            set $ingress_templater_unavailable "";
            proxy_pass http://upstream_balancer;
        }`,
      },
    );
  });

  after(async () => {
    await nginx?.stop();
    await pods?.close();
  });

  const seenThere = () => {
    try {
      return fs
        .readFileSync(path.join(nginx.prefix, 'logs', 'unavailable.log'), 'utf8')
        .split('\n')
        .filter((l) => l !== '').length;
    } catch {
      return 0;
    }
  };

  it('an empty or unknown backend answers 503 from that server, one request there per client request', async () => {
    await nginx.push([
      { name: 'app', endpoints: pods.endpoints },
      { name: 'empty', endpoints: [] },
      { name: 'ew-empty', loadBalance: 'ewma', endpoints: [] },
    ]);
    for (const requestPath of ['/empty/x', '/unknown/x', '/ewma/x']) {
      const before = seenThere();
      const replies = await many(10, () => nginx.get(requestPath, { method: 'POST', body: 'payload' }));
      for (const reply of replies) {
        assert.equal(reply.status, 503, `${requestPath}: ${reply.status} ${reply.body}`);
        assert.equal(reply.headers[HEADER], 'backend-unavailable', requestPath);
      }
      // the access log is written after the answer: wait for the last lines
      await waitFor(async () => seenThere() >= before + 10, { what: `${requestPath}: 10 requests at the 503 server` });
      assert.equal(seenThere(), before + 10, `${requestPath}: one try each, no retry`);
    }
    assert.equal((await nginx.get('/app/x')).status, 200, 'other backends still served');
    assert.doesNotMatch(nginx.errorLog(), /0\.0\.0\.1|\[error\]/, 'no placeholder connect, no error');
  });

  it('a location that sets $ingress_templater_unavailable empty gets the 500 (its error_page answers)', async () => {
    await nginx.push([{ name: 'empty', endpoints: [] }]);
    const before = seenThere();
    const reply = await nginx.get('/handled/x');
    assert.equal(reply.status, 503, reply.body); // the harness's error_page 500 =503
    assert.equal(reply.headers[HEADER], undefined);
    assert.equal(seenThere(), before);
  });

  it("a main backend without endpoints still serves its canary's share; the rest gets the 503", async () => {
    await nginx.push([
      { name: 'main', endpoints: [], canary: { backend: 'alt', weight: 0, header: 'X-Canary' } },
      { name: 'alt', endpoints: pods.endpoints },
    ] as BackendSpec[]);
    const canary = await nginx.get('/main/x', { headers: { 'x-canary': 'always' } });
    assert.equal(canary.status, 200);
    assert.match(canary.body, /^pod-\d$/);
    const rest = await nginx.get('/main/x');
    assert.equal(rest.status, 503);
    assert.equal(rest.headers[HEADER], 'backend-unavailable');
  });
});
