// canListIngressClasses against a scripted API server on loopback: only a 403 means "go on without
// IngressClasses"; a server error or no server at all leaves the kind to its own list/watch and retries.
// (The real API server's 403, with RBAC lacking ingressclasses, is in test/e2e/kubernetes-class.test.ts.)
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiConfig } from '../../../src/sources/kubernetes/config.js';
import { INGRESS_CLASSES_PATH, canListIngressClasses } from '../../../src/sources/kubernetes/ingress-class-access.js';
import { plainConfig } from '../../helpers/api-config.js';
import { freePort } from '../../helpers/ports.js';

describe('sources/kubernetes/ingress-class-access', () => {
  let server: http.Server;
  let config: ApiConfig;
  let status = 200;
  const asked: string[] = [];

  before(async () => {
    server = http.createServer((request, response) => {
      asked.push(request.url ?? '');
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(
        status === 200
          ? JSON.stringify({ kind: 'IngressClassList', metadata: { resourceVersion: '1' }, items: [] })
          : JSON.stringify({ kind: 'Status', code: status, message: `answered ${status}` }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    config = plainConfig(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });

  after(() => new Promise((resolve) => server.close(resolve)));

  it('lists one IngressClass, and is true when the API answers it', async () => {
    status = 200;
    asked.length = 0;
    assert.equal(await canListIngressClasses(config), true);
    assert.deepEqual(asked, [`${INGRESS_CLASSES_PATH}?limit=1`]);
  });

  it('is false when the API refuses the list (403)', async () => {
    status = 403;
    assert.equal(await canListIngressClasses(config), false);
  });

  it('is true on other errors: the kind retries on its own, as every kind does', async () => {
    for (const code of [401, 404, 500, 503]) {
      status = code;
      assert.equal(await canListIngressClasses(config), true, String(code));
    }
  });

  it('is true when no server answers at all', async () => {
    const port = await freePort();
    assert.equal(await canListIngressClasses(plainConfig(`http://127.0.0.1:${port}`), 2000), true);
  });
});
