// reflectorWatch: one kind's list/watch loop as the API source starts it, its problems logged, its counts in
// the metrics (api_lists_total, api_watches_total), against a scripted HTTP server standing in for the API.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Metrics } from '../../../src/metrics.js';
import type { KindWatch } from '../../../src/sources/kubernetes/api-source.js';
import type { ApiConfig } from '../../../src/sources/kubernetes/config.js';
import { reflectorWatch } from '../../../src/sources/kubernetes/reflector-watch.js';
import { plainConfig } from '../../helpers/api-config.js';
import { waitFor } from '../../helpers/wait.js';

const ignore = () => undefined;
const feed = { replace: ignore, upsert: ignore, remove: ignore };

describe('sources/kubernetes/reflector-watch', () => {
  let server: http.Server;
  let config: ApiConfig;
  const open = new Set<http.ServerResponse>();
  let listStatus = 200;
  const logged: Record<string, unknown>[] = [];
  const log = (_level: string, _msg: string, fields?: Record<string, unknown>) => logged.push(fields ?? {});

  before(async () => {
    // a list answers an empty collection; a watch stays open with no event until the test ends
    server = http.createServer((request, response) => {
      const url = new URL(request.url!, 'http://api');
      response.writeHead(url.searchParams.get('watch') === '1' ? 200 : listStatus, {
        'content-type': 'application/json',
      });
      if (url.searchParams.get('watch') === '1') {
        open.add(response);
        response.on('close', () => open.delete(response));
        return;
      }
      response.end(JSON.stringify({ kind: 'SecretList', metadata: { resourceVersion: '7' }, items: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    config = plainConfig(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });

  after(async () => {
    for (const response of open) response.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  const secretsNamed = (name: string) => ({
    kind: 'Secret' as const,
    apiVersion: 'v1',
    path: '/api/v1/namespaces/default/secrets',
    fieldSelector: `metadata.name=${name}`,
  });

  it("sums a kind's loops in the metrics and keeps a stopped loop's counts (counters never go down)", async () => {
    const metrics = new Metrics();
    const counted = (name: string) => {
      const line = metrics
        .render()
        .split('\n')
        .find((sample) => sample.startsWith(`ingress_templater_${name}{`));
      return line ? Number(line.split(' ').pop()) : undefined;
    };
    const watches: KindWatch[] = ['a', 'b'].map((name) => reflectorWatch(config, secretsNamed(name), log, metrics));
    for (const watch of watches) watch.start(feed);
    await waitFor(() => counted('api_watches_total') === 2 && open.size === 2, { what: 'both loops watching' });
    assert.match(metrics.render(), /^ingress_templater_api_lists_total\{kind="Secret"\} 2$/m);
    await watches[0]!.stop();
    assert.equal(metrics.apiWatches.size, 1);
    assert.equal(counted('api_lists_total'), 2);
    assert.equal(counted('api_watches_total'), 2);
    await watches[1]!.stop();
    await watches[1]!.stop(); // a second stop counts nothing twice
    assert.equal(metrics.apiWatches.size, 0);
    assert.equal(counted('api_lists_total'), 2);
    assert.equal(counted('api_watches_total'), 2);
  });

  it('logs a failed list once per failure with its kind, status and the wait before the next try', async () => {
    listStatus = 403;
    const watch = reflectorWatch(config, secretsNamed('c'), log);
    try {
      watch.start(feed);
      await waitFor(() => logged.some((fields) => fields.event === 'api_watch_failed'), { what: 'the failure logged' });
      const failure = logged.find((fields) => fields.event === 'api_watch_failed')!;
      assert.equal(failure.kind, 'Secret');
      assert.equal(failure.phase, 'list');
      assert.equal(failure.status, 403);
      assert.ok(Number(failure.retryInMs) > 0, JSON.stringify(failure));
    } finally {
      await watch.stop();
      listStatus = 200;
    }
  });
});
