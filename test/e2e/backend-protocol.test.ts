// backend-protocol FCGI and AUTO_HTTP through real nginx: a FastCGI responder (test/helpers/fastcgi.ts)
// receives the CGI parameters, fastcgi-index and the parameters of fastcgi-params-configmap as ingress-nginx
// sent them; AUTO_HTTP proxies with the client's scheme. A FastCGI Ingress whose ConfigMap is missing is
// denied (503) while the rest serves.
import assert from 'node:assert/strict';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { type FastCgiServer, startFastCgi } from '../helpers/fastcgi.js';
import { ManifestDir, backend, configMap, endpoints, ingress, service } from '../helpers/manifests.js';
import { closeAll, startPods, type Pods } from '../helpers/pods.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const PHP = 'php.example.com';
const AUTO = 'auto.example.com';
const BROKEN = 'broken.example.com';

describe('e2e: backend-protocol FCGI and AUTO_HTTP', function () {
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let fpm: FastCgiServer;
  let pods: Pods;

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('backend-protocol');
    fpm = await startFastCgi('127.0.0.121');
    pods = await startPods([{ name: 'web-pod', address: '127.0.0.122' }]);
    manifests.write('backends.yaml', [
      service('php', { ports: [{ port: 9000, targetPort: fpm.port }] }),
      endpoints('php', { ready: ['127.0.0.121'], port: fpm.port }),
      ...backend('web', pods),
      configMap('php-params', 'default', {
        SCRIPT_FILENAME: '/var/www/html$fastcgi_script_name',
        APP_ENV: 'production',
      }),
    ]);
    const fcgi = {
      [`${ANNOTATION}backend-protocol`]: 'FCGI',
      [`${ANNOTATION}fastcgi-index`]: 'index.php',
      [`${ANNOTATION}fastcgi-params-configmap`]: 'php-params',
    };
    manifests.write('ingresses.yaml', [
      ingress('php', { host: PHP, annotations: fcgi, paths: [{ path: '/', service: 'php', port: 9000 }] }),
      ingress('auto', {
        host: AUTO,
        annotations: { [`${ANNOTATION}backend-protocol`]: 'AUTO_HTTP' },
        paths: [{ path: '/', service: 'web' }],
      }),
      ingress('broken', {
        host: BROKEN,
        annotations: { ...fcgi, [`${ANNOTATION}fastcgi-params-configmap`]: 'not-there' },
        paths: [{ path: '/', service: 'php', port: 9000 }],
      }),
    ]);
    ctl = await startController({ manifests: manifests.dir });
  });

  stopAfter(
    () => ctl,
    async () => {
      await closeAll(pods);
      await fpm?.close();
      manifests?.cleanup();
    },
  );

  it('FCGI: the FastCGI server gets the CGI parameters, the ConfigMap parameters, and its answer reaches the client', async () => {
    const reply = await ctl!.http(PHP, '/app/hello.php?name=x', { method: 'POST', body: 'a=1&b=2' });
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reply.headers['x-answered-by'], 'fastcgi');
    const { params, bodyLength } = JSON.parse(reply.body) as { params: Record<string, string>; bodyLength: number };
    assert.equal(params.REQUEST_METHOD, 'POST');
    assert.equal(params.REQUEST_URI, '/app/hello.php?name=x');
    assert.equal(params.QUERY_STRING, 'name=x');
    assert.equal(params.SCRIPT_NAME, '/app/hello.php');
    assert.equal(params.SCRIPT_FILENAME, '/var/www/html/app/hello.php', 'a ConfigMap value with its variable');
    assert.equal(params.APP_ENV, 'production');
    assert.equal(params.SERVER_NAME, PHP);
    assert.equal(params.HTTP_HOST, PHP);
    assert.equal(bodyLength, 7);
  });

  it('FCGI: fastcgi-index names the script of a path ending in "/"', async () => {
    const reply = await ctl!.http(PHP, '/dir/');
    const { params } = JSON.parse(reply.body) as { params: Record<string, string> };
    assert.equal(params.SCRIPT_NAME, '/dir/index.php');
    assert.equal(params.SCRIPT_FILENAME, '/var/www/html/dir/index.php');
  });

  it("AUTO_HTTP proxies with the client's scheme: plain HTTP reaches the HTTP backend", async () => {
    const reply = await ctl!.http(AUTO, '/x');
    assert.equal(reply.pod?.pod, 'web-pod');
    assert.match(ctl!.nginxConf(), /proxy_pass \$scheme:\/\/upstream_balancer;/);
  });

  it('a missing fastcgi-params-configmap denies its Ingress (503), as ingress-nginx; the others serve', async () => {
    assert.equal((await ctl!.http(BROKEN, '/index.php')).status, 503);
    assert.equal((await ctl!.http(PHP, '/index.php')).status, 200);
  });
});
