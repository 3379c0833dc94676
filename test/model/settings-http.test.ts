import assert from 'node:assert/strict';
import { DEFAULT_SETTINGS } from '../../src/model/settings.js';
import { parseHeaderBuffers } from '../../src/model/settings-http.js';
import { build, CONFIG_MAP_OPTION, configMap, endpoints, ingress, path, rule, service } from '../helpers/resources.js';
import { locationBlock, nginxAccepts, renderText } from './annotations/nginx-check.js';
import { toleratedCases, validCases } from './settings-cases.js';

describe('settings: client buffers and timeouts, retries, worker-shutdown-timeout (settings-http.ts)', () => {
  it("has ingress-nginx's defaults; those nginx shares are not written (null)", () => {
    assert.equal(DEFAULT_SETTINGS.largeClientHeaderBuffers, null, '4 8k');
    assert.equal(DEFAULT_SETTINGS.clientHeaderBufferSize, null, '1k');
    assert.equal(DEFAULT_SETTINGS.clientHeaderTimeout, null, '60');
    assert.equal(DEFAULT_SETTINGS.clientBodyBufferSize, '8k');
    assert.equal(DEFAULT_SETTINGS.clientBodyTimeout, null, '60');
    assert.deepEqual(DEFAULT_SETTINGS.proxyNextUpstream, ['error', 'timeout']);
    assert.equal(DEFAULT_SETTINGS.proxyNextUpstreamTimeout, 0);
    assert.equal(DEFAULT_SETTINGS.proxyNextUpstreamTries, 3);
    assert.equal(DEFAULT_SETTINGS.proxyRequestBuffering, true);
    assert.equal(DEFAULT_SETTINGS.workerShutdownTimeout, '240s');
  });

  it('large-client-header-buffers: NUMBER SIZE', () => {
    assert.deepEqual(parseHeaderBuffers('4 16K'), { number: 4, size: '16k' });
    assert.equal(parseHeaderBuffers('0 8k'), undefined);
    assert.equal(parseHeaderBuffers('4 0k'), undefined);
    assert.equal(parseHeaderBuffers('4'), undefined);
  });

  validCases([
    ['large-client-header-buffers', '8 16k', 'largeClientHeaderBuffers', { number: 8, size: '16k' }],
    ['client-header-buffer-size', '2k', 'clientHeaderBufferSize', '2k'],
    ['client-header-timeout', '30', 'clientHeaderTimeout', 30],
    ['client-body-buffer-size', '1M', 'clientBodyBufferSize', '1m'],
    ['client-body-timeout', '5', 'clientBodyTimeout', 5],
    ['proxy-next-upstream', 'error timeout http_502', 'proxyNextUpstream', ['error', 'timeout', 'http_502']],
    ['proxy-next-upstream', 'off', 'proxyNextUpstream', ['off']],
    ['proxy-next-upstream-timeout', '10', 'proxyNextUpstreamTimeout', 10],
    ['proxy-next-upstream-tries', '0', 'proxyNextUpstreamTries', 0],
    ['proxy-request-buffering', 'off', 'proxyRequestBuffering', false],
    ['worker-shutdown-timeout', '10s', 'workerShutdownTimeout', '10s'],
    ['worker-shutdown-timeout', '5m', 'workerShutdownTimeout', '5m'],
  ]);

  toleratedCases([
    ['large-client-header-buffers', '4 8k;'],
    ['large-client-header-buffers', '4x8k'],
    ['client-header-buffer-size', '0'],
    ['client-header-timeout', '60s'],
    ['client-body-buffer-size', '8 k'],
    ['client-body-timeout', '0'],
    ['proxy-next-upstream', 'error off'],
    ['proxy-next-upstream', 'error;timeout'],
    ['proxy-next-upstream-timeout', '1m'],
    ['proxy-next-upstream-tries', '-1'],
    ['proxy-request-buffering', 'true'],
    ['worker-shutdown-timeout', '240 s'],
    ['worker-shutdown-timeout', '1; daemon on'],
  ]);

  const resources = (data: Record<string, string>, annotations: Record<string, string> = {}) => [
    configMap(data),
    service({ name: 'app' }),
    endpoints({ name: 'app', subsets: [{ ready: ['10.0.0.1'] }] }),
    ingress({ name: 'web', annotations, rules: [rule('a.example.com', path('/', 'app'))] }),
  ];
  const model = (data: Record<string, string>, annotations?: Record<string, string>) =>
    build(resources(data, annotations), CONFIG_MAP_OPTION).model;

  it('renders the defaults as before, but client_body_buffer_size 8k and worker_shutdown_timeout 240s', () => {
    const text = renderText(model({}));
    assert.match(text, /\nworker_shutdown_timeout 240s;\n/);
    assert.match(text, /\n {4}client_body_buffer_size 8k;\n/);
    assert.match(text, /\n {4}proxy_next_upstream error timeout;\n {4}proxy_next_upstream_tries 3;\n/);
    assert.doesNotMatch(
      text,
      /client_header_buffer_size|large_client_header_buffers|client_header_timeout|client_body_timeout|proxy_next_upstream_timeout|proxy_request_buffering/,
    );
  });

  // the nginx.conf text of ingress-nginx's settings/proxy_next_upstream.go "should build proxy next upstream using configmap values"
  it('renders what the keys set at the http level, and nginx -t accepts it', async () => {
    const set = model({
      'large-client-header-buffers': '8 16k',
      'client-header-buffer-size': '2k',
      'client-header-timeout': '30',
      'client-body-buffer-size': '32k',
      'client-body-timeout': '31',
      'proxy-next-upstream': 'error timeout http_502',
      'proxy-next-upstream-timeout': '7',
      'proxy-next-upstream-tries': '5',
      'proxy-request-buffering': 'off',
      'worker-shutdown-timeout': '10s',
    });
    const text = renderText(set);
    assert.match(text, /\nworker_shutdown_timeout 10s;\n/);
    for (const line of [
      'client_body_buffer_size 32k;',
      'client_header_buffer_size 2k;',
      'large_client_header_buffers 8 16k;',
      'client_header_timeout 30s;',
      'client_body_timeout 31s;',
      'proxy_next_upstream error timeout http_502;',
      'proxy_next_upstream_timeout 7s;',
      'proxy_next_upstream_tries 5;',
      'proxy_request_buffering off;',
    ])
      assert.ok(text.includes(`\n    ${line}\n`), line);
    await nginxAccepts(set);
  });

  it("the annotations of the same names override the keys in their Ingress's locations", () => {
    const annotated = model(
      {
        'proxy-next-upstream': 'error timeout http_502',
        'proxy-next-upstream-tries': '5',
        'proxy-request-buffering': 'off',
      },
      {
        'nginx.ingress.kubernetes.io/proxy-next-upstream': 'off',
        'nginx.ingress.kubernetes.io/proxy-next-upstream-tries': '1',
        'nginx.ingress.kubernetes.io/proxy-request-buffering': 'on',
      },
    );
    const location = locationBlock(renderText(annotated), 'a.example.com', '/');
    assert.match(location, /proxy_next_upstream off;/);
    assert.match(location, /proxy_next_upstream_tries 1;/);
    assert.match(location, /proxy_request_buffering on;/);
  });
});
