// Proxy settings whose effect ingress-nginx's e2e suite only looked for in nginx.conf, checked here by what
// they do to real requests through the controller and real nginx: the ConfigMap's proxy timeouts (valid, and
// invalid ones kept at their defaults), invalid timeout annotations falling back to the ConfigMap's value,
// proxy-buffering off (the first bytes before the backend has finished), proxy-next-upstream (a 502 retried
// on another endpoint, or not), limit-rate, client-body-buffer-size (a body above it goes to a temporary
// file), enable-rewrite-log, proxy-redirect off, an empty x-forwarded-prefix, the client keep-alive timeout,
// upstream keep-alive connections, server-tokens and disable-access-log.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, configMap, endpoints, ingress, service } from '../helpers/manifests.js';
import { freePort } from '../helpers/ports.js';
import { sleep, waitFor } from '../helpers/wait.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const NS = 'default';
const SETTINGS = 'proxy-settings';
const APP = '127.0.60.1'; // the application pod
const FAILING = '127.0.60.2'; // answers 502 to everything
const HEALTHY = '127.0.60.3'; // the failing pod's healthy sibling
const BIG = 200 * 1024;
const HUGE = 32 * 1024 * 1024; // more than loopback's socket buffers hold
/** /huge answers: milliseconds from the request to the last byte written by the pod, by Host */
const finishedAfter = new Map<string, number>();

/** What the application pod answers, by path. */
function appHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://pod');
  let received = 0;
  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
  });
  req.on('end', () => {
    switch (url.pathname) {
      case '/slow':
        setTimeout(() => {
          if (!res.destroyed) res.end('slow answer');
        }, 2500);
        return;
      case '/big':
        res.end(Buffer.alloc(BIG, 'x'));
        return;
      case '/huge': {
        // when the whole answer has left the pod: at once when nginx buffers it, only as fast as the client
        // reads when it does not
        const started = Date.now();
        res.on('finish', () => finishedAfter.set(String(req.headers.host), Date.now() - started));
        res.end(Buffer.alloc(HUGE, 'h'));
        return;
      }
      case '/redirect':
        res.writeHead(302, { location: 'http://internal.backend.local:8080/elsewhere' });
        res.end();
        return;
      default:
        res.setHeader('server', 'app-server');
        res.end(
          JSON.stringify({
            pod: 'app',
            path: req.url,
            received,
            remotePort: req.socket.remotePort,
            headers: req.headers,
          }),
        );
    }
  });
}

function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => resolve());
  });
}

/** Time to the first body byte and to the end of a GET. */
function timedGet(port: number, host: string, urlPath: string): Promise<{ firstByteMs: number; totalMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let firstByteMs = -1;
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, headers: { host }, agent: false }, (res) => {
      res.on('data', () => {
        if (firstByteMs < 0) firstByteMs = Date.now() - started;
      });
      res.on('end', () => resolve({ firstByteMs, totalMs: Date.now() - started }));
      res.on('aborted', () => reject(new Error(`${host}${urlPath}: answer cut after ${Date.now() - started} ms`)));
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('no answer within 20 s')));
  });
}

/** GET /huge, reading nothing for pauseMs after the headers; the number of body bytes received. */
function slowRead(port: number, host: string, pauseMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/huge', headers: { host }, agent: false }, (res) => {
      let received = 0;
      res.pause();
      setTimeout(() => {
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
        });
        res.resume();
      }, pauseMs);
      res.on('end', () => resolve(received));
      res.on('aborted', () => reject(new Error(`${host}: answer cut after ${received} bytes`)));
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('no answer within 20 s')));
  });
}

/** Two requests on one kept-alive client connection; the answers' bodies. */
async function twoOnOneConnection(port: number, host: string): Promise<{ remotePort: number }[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const once = () =>
      new Promise<{ remotePort: number }>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path: '/port', headers: { host }, agent }, (res) => {
            let body = '';
            res.on('data', (chunk) => {
              body += chunk;
            });
            res.on('end', () => resolve(JSON.parse(body)));
          })
          .on('error', reject);
      });
    return [await once(), await once()];
  } finally {
    agent.destroy();
  }
}

const errorLog = (ctl: RunningController) => fs.readFileSync(path.join(ctl.prefix, 'logs', 'error.log'), 'utf8');

describe('e2e: proxy settings by their effect (ingress-nginx settings and annotations cases)', function () {
  this.timeout(60_000);
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  const servers: http.Server[] = [];

  const writeSettings = (data: Record<string, string>) =>
    manifests.write('settings.yaml', configMap(SETTINGS, NS, data));

  /** Rewrites the ConfigMap and waits until nginx runs with it. */
  async function applySettings(data: Record<string, string>): Promise<void> {
    const reloads = await ctl!.metric('reloads_total');
    writeSettings(data);
    await ctl!.waitForReload(reloads);
  }

  before(async function () {
    manifests = new ManifestDir('proxy-settings');
    let port = 0;
    for (let attempt = 0; attempt < 10 && port === 0; attempt++) {
      const candidate = await freePort(APP);
      const started = [
        http.createServer(appHandler),
        http.createServer((_req, res) => {
          res.writeHead(502);
          res.end('bad gateway from the pod');
        }),
        http.createServer(appHandler),
      ];
      try {
        await listen(started[0]!, APP, candidate);
        await listen(started[1]!, FAILING, candidate);
        await listen(started[2]!, HEALTHY, candidate);
        servers.push(...started);
        port = candidate;
      } catch {
        for (const server of started) server.close();
      }
    }
    assert.ok(port > 0, 'a port free on every pod address');
    writeSettings({ 'proxy-read-timeout': '1' });
    manifests.write('services.yaml', [
      service('app', { ports: [{ port: 80, targetPort: port }] }),
      endpoints('app', { ready: [APP], port }),
      service('flaky', { ports: [{ port: 80, targetPort: port }] }),
      endpoints('flaky', { ready: [FAILING, HEALTHY], port }),
    ]);
    const on = (name: string, host: string, annotations: Record<string, string> = {}, service = 'app') =>
      ingress(name, { host, annotations, paths: [{ path: '/', service }] });
    manifests.write('ingresses.yaml', [
      on('plain', 'plain.settings.test'),
      on('read-3', 'read3.settings.test', { [`${ANNOTATION}proxy-read-timeout`]: '3' }),
      on('read-bad', 'readbad.settings.test', { [`${ANNOTATION}proxy-read-timeout`]: '50k' }),
      // the backend pauses 1.5 s in the middle of its answer: longer than the ConfigMap's read timeout
      on('unbuffered', 'unbuffered.settings.test', {
        [`${ANNOTATION}proxy-buffering`]: 'off',
        [`${ANNOTATION}proxy-read-timeout`]: '10',
      }),
      on('buffered', 'buffered.settings.test', {
        [`${ANNOTATION}proxy-buffering`]: 'on',
        [`${ANNOTATION}proxy-read-timeout`]: '10',
      }),
      on('retry', 'retry.settings.test', { [`${ANNOTATION}proxy-next-upstream`]: 'error timeout http_502' }, 'flaky'),
      on('no-retry', 'noretry.settings.test', { [`${ANNOTATION}proxy-next-upstream`]: 'off' }, 'flaky'),
      // limit_rate needs buffered answers (ingress-nginx's docs say so; its default, and ours, is off)
      on('rate', 'rate.settings.test', {
        [`${ANNOTATION}limit-rate`]: '50',
        [`${ANNOTATION}proxy-buffering`]: 'on',
      }),
      on('buffer-small', 'bodysmall.settings.test', { [`${ANNOTATION}client-body-buffer-size`]: '1k' }),
      on('buffer-small-upper', 'bodyupper.settings.test', { [`${ANNOTATION}client-body-buffer-size`]: '1K' }),
      on('buffer-large', 'bodylarge.settings.test', { [`${ANNOTATION}client-body-buffer-size`]: '1M' }),
      on('buffer-bad', 'bodybad.settings.test', { [`${ANNOTATION}client-body-buffer-size`]: '1b' }),
      on('redirect-off', 'redirectoff.settings.test', { [`${ANNOTATION}proxy-redirect-from`]: 'off' }),
      on('prefix-empty', 'prefixempty.settings.test', { [`${ANNOTATION}x-forwarded-prefix`]: '' }),
      ingress('rewrite-log', {
        host: 'rewritelog.settings.test',
        annotations: {
          [`${ANNOTATION}rewrite-target`]: '/$2',
          [`${ANNOTATION}enable-rewrite-log`]: 'true',
        },
        paths: [{ path: '/something(/|$)(.*)', pathType: 'ImplementationSpecific', service: 'app' }],
      }),
    ]);
    ctl = await startController({ manifests: manifests.dir, extraArgs: ['--configmap', `${NS}/${SETTINGS}`] });
  });

  stopAfter(
    () => ctl,
    async () => {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise((resolve) => {
              server.close(resolve);
              server.closeAllConnections();
            }),
        ),
      );
      manifests?.cleanup();
    },
  );

  // ingress-nginx test/e2e/settings/proxy_read_timeout.go "should set valid proxy read timeouts using configmap values"
  // ingress-nginx test/e2e/annotations/proxy.go "should not set invalid proxy timeouts"
  it('the ConfigMap proxy-read-timeout bounds a slow backend; an annotation overrides it; an invalid one falls back to it', async () => {
    assert.equal((await ctl!.http('plain.settings.test', '/slow', { timeoutMs: 10_000 })).status, 504);
    const overridden = await ctl!.http('read3.settings.test', '/slow', { timeoutMs: 10_000 });
    assert.equal(overridden.status, 200);
    assert.equal(overridden.body, 'slow answer');
    // "50k" is ignored (a warning naming the Ingress), and the default it falls back to is the ConfigMap's 1 s
    assert.equal((await ctl!.http('readbad.settings.test', '/slow', { timeoutMs: 10_000 })).status, 504);
    const status = await ctl!.status();
    const problem = status.problems.find((entry) => entry.includes('proxy-read-timeout'));
    assert.ok(problem, JSON.stringify(status.problems));
    assert.match(problem, /read-bad/);
  });

  // ingress-nginx test/e2e/annotations/proxy.go "should turn on proxy-buffering"
  it('proxy-buffering off: a large answer leaves the pod only as fast as a slow client reads it', async function () {
    this.timeout(30_000);
    const buffered = await slowRead(ctl!.ports.http, 'buffered.settings.test', 1500);
    const unbuffered = await slowRead(ctl!.ports.http, 'unbuffered.settings.test', 1500);
    assert.equal(buffered, HUGE);
    assert.equal(unbuffered, HUGE);
    // buffered (nginx's default; ingress-nginx's and ours is off): nginx took the whole answer into its buffers and a temporary file at once
    assert.ok(finishedAfter.get('buffered.settings.test')! < 1000, JSON.stringify([...finishedAfter]));
    assert.match(
      errorLog(ctl!),
      /an upstream response is buffered to a temporary file.*host: "buffered\.settings\.test"/,
    );
    // off: the pod waited for the client
    assert.ok(finishedAfter.get('unbuffered.settings.test')! >= 1400, JSON.stringify([...finishedAfter]));
    assert.doesNotMatch(errorLog(ctl!), /buffered to a temporary file.*host: "unbuffered\.settings\.test"/);
  });

  // ingress-nginx test/e2e/annotations/proxy.go "should build proxy next upstream"
  it('proxy-next-upstream "http_502" retries a 502 on the other endpoint; "off" passes it on', async () => {
    for (let i = 0; i < 6; i++) {
      const reply = await ctl!.http('retry.settings.test', '/');
      assert.equal(reply.status, 200, `request ${i}`);
    }
    const statuses = new Set<number>();
    for (let i = 0; i < 10; i++) statuses.add((await ctl!.http('noretry.settings.test', '/')).status);
    assert.deepEqual([...statuses].sort(), [200, 502]);
  });

  // ingress-nginx test/e2e/annotations/limitrate.go "Check limit-rate annotation"
  it('limit-rate 50 (KB/s) slows a 200 KB answer to seconds; without it, it comes at once', async () => {
    const free = await timedGet(ctl!.ports.http, 'plain.settings.test', '/big');
    assert.ok(free.totalMs < 1500, `unlimited: ${free.totalMs} ms`);
    const limited = await timedGet(ctl!.ports.http, 'rate.settings.test', '/big');
    assert.ok(limited.totalMs >= 2500, `limited to 50 KB/s: ${limited.totalMs} ms for 200 KB`);
  });

  // ingress-nginx test/e2e/annotations/clientbodybuffersize.go "should set client_body_buffer_size to 1k"
  // ingress-nginx test/e2e/annotations/clientbodybuffersize.go "should set client_body_buffer_size to 1K"
  // ingress-nginx test/e2e/annotations/clientbodybuffersize.go "should set client_body_buffer_size to 1M"
  // ingress-nginx test/e2e/annotations/clientbodybuffersize.go "should not set client_body_buffer_size to invalid 1b"
  it('client-body-buffer-size: a body above it is buffered to a temporary file, one below it is not', async () => {
    const body = 'b'.repeat(4096);
    const buffered = (host: string) =>
      errorLog(ctl!)
        .split('\n')
        .filter((line) => line.includes(`host: "${host}"`));
    for (const host of [
      'bodysmall.settings.test',
      'bodyupper.settings.test',
      'bodylarge.settings.test',
      'bodybad.settings.test',
    ]) {
      const reply = await ctl!.http(host, '/upload', { method: 'POST', body });
      assert.equal(reply.status, 200, host);
      assert.equal(JSON.parse(reply.body).received, body.length, host);
    }
    await waitFor(
      () => buffered('bodysmall.settings.test').length > 0 && buffered('bodyupper.settings.test').length > 0,
    );
    for (const host of ['bodysmall.settings.test', 'bodyupper.settings.test'])
      assert.match(buffered(host).join('\n'), /a client request body is buffered to a temporary file/, host);
    // 1M holds it in memory; "1b" is ignored and nginx's default (8k/16k) holds 4 KiB too
    assert.deepEqual(buffered('bodylarge.settings.test'), []);
    assert.deepEqual(buffered('bodybad.settings.test'), []);
    const status = await ctl!.status();
    const problems = status.problems.filter((entry) => entry.includes('client-body-buffer-size'));
    assert.equal(problems.length, 1, JSON.stringify(problems));
    assert.match(problems[0]!, /buffer-bad/);
  });

  // ingress-nginx test/e2e/annotations/log.go "set rewrite_log on"
  // ingress-nginx test/e2e/annotations/rewrite.go "should write rewrite logs"
  it('enable-rewrite-log: the rewrite of rewrite-target is logged at notice level', async () => {
    const reply = await ctl!.http('rewritelog.settings.test', '/something/else');
    assert.equal(reply.status, 200);
    assert.equal(JSON.parse(reply.body).path, '/else');
    const logged = await waitFor(() =>
      errorLog(ctl!)
        .split('\n')
        .find((line) => line.includes('rewritten data') && line.includes('rewritelog.settings.test')),
    );
    assert.match(logged, /\[notice\]/);
    assert.match(logged, /"\/else"/);
  });

  // ingress-nginx test/e2e/annotations/proxy.go "should set proxy_redirect to off"
  it("proxy-redirect-from off: the backend's Location reaches the client unchanged", async () => {
    const reply = await ctl!.http('redirectoff.settings.test', '/redirect');
    assert.equal(reply.status, 302);
    assert.equal(reply.headers.location, 'http://internal.backend.local:8080/elsewhere');
  });

  // ingress-nginx test/e2e/annotations/xforwardedprefix.go "should not add X-Forwarded-Prefix if the annotation value is empty"
  it('an empty x-forwarded-prefix sends no X-Forwarded-Prefix', async () => {
    const reply = await ctl!.http('prefixempty.settings.test', '/', { headers: { 'x-forwarded-prefix': '/forged' } });
    assert.equal(reply.status, 200);
    assert.equal(JSON.parse(reply.body).headers['x-forwarded-prefix'], undefined);
  });

  // ingress-nginx test/e2e/settings/keep-alive.go "should set keepalive connection to upstream server"
  it('upstream keep-alive: two requests on one client connection reach the pod over one connection; with 0, over two', async () => {
    const kept = await twoOnOneConnection(ctl!.ports.http, 'plain.settings.test');
    assert.equal(kept[0]!.remotePort, kept[1]!.remotePort);
    await applySettings({ 'proxy-read-timeout': '1', 'upstream-keepalive-connections': '0' });
    const fresh = await twoOnOneConnection(ctl!.ports.http, 'plain.settings.test');
    assert.notEqual(fresh[0]!.remotePort, fresh[1]!.remotePort);
  });

  // ingress-nginx test/e2e/settings/keep-alive.go "should set keepalive_timeout"
  it('keep-alive: an idle client connection is closed after that many seconds', async function () {
    this.timeout(30_000);
    await applySettings({ 'keep-alive': '1' });
    const socket = net.connect({ host: '127.0.0.1', port: ctl!.ports.http });
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
    socket.on('error', () => {});
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk;
    });
    await new Promise((resolve) => socket.on('connect', resolve));
    const sent = Date.now();
    socket.write('GET / HTTP/1.1\r\nHost: plain.settings.test\r\n\r\n');
    const closedAt = await Promise.race([closed, sleep(8000).then(() => 0)]);
    socket.destroy();
    assert.match(answer, /^HTTP\/1\.1 200/);
    assert.ok(closedAt > 0, 'nginx closed the idle connection');
    assert.ok(closedAt - sent >= 900, `closed ${closedAt - sent} ms after the request`);
  });

  // ingress-nginx test/e2e/settings/proxy_read_timeout.go "should not set invalid proxy read timeouts using configmap values"
  // ingress-nginx test/e2e/settings/server_tokens.go "should exists Server header in the response when is enabled"
  it('an invalid ConfigMap proxy-read-timeout keeps the default (60 s); server-tokens "true" sends Server', async () => {
    await applySettings({ 'proxy-read-timeout': '50k', 'server-tokens': 'true' });
    const slow = await ctl!.http('plain.settings.test', '/slow', { timeoutMs: 10_000 });
    assert.equal(slow.status, 200);
    const status = await ctl!.status();
    assert.ok(
      status.problems.some((entry) => entry.includes('proxy-read-timeout') && entry.includes('50k')),
      JSON.stringify(status.problems),
    );
    // nginx's own answer names nginx (with its version, as server_tokens on does)
    const missing = await ctl!.http('unknown.settings.test', '/');
    assert.match(String(missing.headers.server), /^nginx/);
  });

  // ingress-nginx test/e2e/annotations/disableaccesslog.go "disable-access-log set access_log off"
  it('disable-access-log "true": requests leave no access log line', async () => {
    const accessLog = path.join(ctl!.prefix, 'logs', 'access.log');
    await applySettings({ 'disable-access-log': 'true' });
    const before = fs.existsSync(accessLog) ? fs.statSync(accessLog).size : 0;
    for (let i = 0; i < 3; i++) assert.equal((await ctl!.http('plain.settings.test', '/quiet')).status, 200);
    await sleep(300);
    const after = fs.existsSync(accessLog) ? fs.statSync(accessLog).size : 0;
    assert.equal(after, before);
    // and the log is written again once the key is gone
    await applySettings({});
    assert.equal((await ctl!.http('plain.settings.test', '/loud')).status, 200);
    await waitFor(() => fs.readFileSync(accessLog, 'utf8').includes('/loud'));
  });
});
