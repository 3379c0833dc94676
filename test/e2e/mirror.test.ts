// Request mirroring through the controller and real nginx: a backend and mirror targets on loopback. Each
// request reaches the backend, which answers the client, and a copy reaches the mirror target, with the
// body unless mirror-request-body is off, under mirror-host or the target's name; a target written
// with a host name and $request_uri works without any resolver (nginx resolves it at load, annotations/mirror.ts).
import assert from 'node:assert/strict';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, endpoints, ingress, service } from '../helpers/manifests.js';
import { json, serve, type Recorder, type Seen } from '../helpers/recorder.js';
import { waitFor } from '../helpers/wait.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const APP = '127.0.113.1';
const MIRROR = '127.0.113.2';

describe('e2e: mirror-target, mirror-request-body, mirror-host', function () {
  this.timeout(60_000);
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let app: Recorder;
  let mirror: Recorder;
  let named: Recorder; // reached as "localhost"

  /** the copy the target got of the request whose URL carries this marker */
  const copyOf = (target: Recorder, marker: string) =>
    waitFor(() => target.seen.find((seen: Seen) => seen.url.includes(marker)), { what: `the mirror of ${marker}` });

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('mirror');
    app = await serve(APP, (_req, res) => json(res, 200, { from: 'app' }));
    // a mirror's answer never reaches the client: answer something a client would notice
    mirror = await serve(MIRROR, (_req, res) => json(res, 500, { from: 'mirror' }));
    named = await serve('127.0.0.1', (_req, res) => json(res, 200, { from: 'named' }));
    manifests.write('services.yaml', [
      service('app', { ports: [{ port: 80, targetPort: app.port }] }),
      endpoints('app', { ready: [APP], port: app.port }),
    ]);
    manifests.write('ingresses.yaml', [
      ingress('body', {
        host: 'body.test',
        paths: [{ path: '/', service: 'app' }],
        annotations: { [`${ANNOTATION}mirror-target`]: `http://${MIRROR}:${mirror.port}/mirror` },
      }),
      ingress('nobody', {
        host: 'nobody.test',
        paths: [{ path: '/', service: 'app' }],
        annotations: {
          [`${ANNOTATION}mirror-target`]: `http://${MIRROR}:${mirror.port}/copy$request_uri`,
          [`${ANNOTATION}mirror-request-body`]: 'off',
          [`${ANNOTATION}mirror-host`]: 'shadow.test',
        },
      }),
      ingress('named', {
        host: 'named.test',
        paths: [{ path: '/', service: 'app' }],
        annotations: { [`${ANNOTATION}mirror-target`]: `http://localhost:${named.port}$request_uri` },
      }),
    ]);
    ctl = await startController({ manifests: manifests.dir });
  });

  stopAfter(
    () => ctl,
    async () => {
      await app?.close();
      await mirror?.close();
      await named?.close();
      manifests?.cleanup();
    },
  );

  it('the client gets the backend answer; the target gets a copy with the body (mirror-request-body on by default)', async () => {
    // ingress-nginx test/e2e/annotations/mirror.go "should set mirror-target to http://localhost/mirror"
    const reply = await ctl!.http('body.test', '/orders?marker=with-body', {
      method: 'POST',
      body: '{"order":1}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.body), { from: 'app' });
    assert.equal(app.seen.at(-1)!.body, '{"order":1}');
    const copy = await copyOf(mirror, 'marker=with-body');
    assert.equal(copy.method, 'POST');
    assert.equal(copy.body, '{"order":1}');
    // the internal location's URI replaced by the target's path, the query kept, as nginx's proxy_pass does
    assert.equal(copy.url, '/mirror?marker=with-body');
    assert.equal(copy.headers.host, MIRROR, "the target's host name, without the port (as ingress-nginx)");
    assert.equal(copy.headers['x-real-ip'], '127.0.0.1', "the backends' request headers");
  });

  it('mirror-request-body off: the copy has no body and no Content-Length; mirror-host is its Host', async () => {
    // ingress-nginx test/e2e/annotations/mirror.go "should disable mirror-request-body"
    const reply = await ctl!.http('nobody.test', '/upload?marker=no-body', { method: 'POST', body: 'secret payload' });
    assert.equal(reply.status, 200);
    assert.equal(app.seen.at(-1)!.body, 'secret payload', 'the backend still gets the body');
    const copy = await copyOf(mirror, 'marker=no-body');
    // ingress-nginx test/e2e/annotations/mirror.go "should set mirror-target to https://test.env.com/$request_uri"
    assert.equal(copy.url, '/copy/upload?marker=no-body');
    assert.equal(copy.body, '');
    assert.equal(copy.headers['content-length'], undefined);
    assert.equal(copy.headers.host, 'shadow.test');
  });

  it('a target named by a host name with $request_uri: nginx needs no resolver at request time', async () => {
    const reply = await ctl!.http('named.test', '/a/b?marker=named');
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.body), { from: 'app' });
    const copy = await copyOf(named, 'marker=named');
    assert.equal(copy.url, '/a/b?marker=named');
    assert.equal(copy.headers.host, 'localhost');
  });

  it('a mirror target that is down changes nothing for the client', async () => {
    await mirror.close();
    const started = Date.now();
    const reply = await ctl!.http('body.test', '/?marker=down');
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.body), { from: 'app' });
    assert.ok(Date.now() - started < 2000, `${Date.now() - started} ms`);
  });
});
