import assert from 'node:assert/strict';
import { DEFAULT_SETTINGS } from '../../src/model/settings.js';
import { DEFAULT_SSL_CIPHERS, parseSslProtocols } from '../../src/model/settings-tls.js';
import { build, CONFIG_MAP_OPTION, configMap } from '../helpers/resources.js';
import { nginxAccepts, renderText } from './annotations/nginx-check.js';
import { toleratedCases, validCases } from './settings-cases.js';

describe('settings: TLS keys (settings-tls.ts)', () => {
  it("has ingress-nginx's defaults (its config.go)", () => {
    assert.deepEqual(DEFAULT_SETTINGS.sslProtocols, ['TLSv1.2', 'TLSv1.3']);
    assert.equal(DEFAULT_SETTINGS.sslCiphers, DEFAULT_SSL_CIPHERS);
    assert.equal(DEFAULT_SSL_CIPHERS.split(':').length, 8);
    assert.equal(DEFAULT_SETTINGS.sslSessionCache, true);
    assert.equal(DEFAULT_SETTINGS.sslSessionCacheSize, '10m');
    assert.equal(DEFAULT_SETTINGS.sslSessionTimeout, '10m');
    assert.equal(DEFAULT_SETTINGS.sslSessionTickets, false);
    assert.equal(DEFAULT_SETTINGS.sslBufferSize, '4k');
    assert.equal(DEFAULT_SETTINGS.sslEcdhCurve, null, "nginx's own auto, not written");
  });

  it('ssl-protocols: in nginx order, each once', () => {
    assert.deepEqual(parseSslProtocols('TLSv1.3  TLSv1.2 TLSv1.3'), ['TLSv1.2', 'TLSv1.3']);
    assert.equal(parseSslProtocols('TLSv1.2;'), undefined);
    assert.equal(parseSslProtocols(''), undefined);
  });

  validCases([
    ['ssl-protocols', 'TLSv1.2', 'sslProtocols', ['TLSv1.2']],
    ['ssl-protocols', 'TLSv1.3', 'sslProtocols', ['TLSv1.3']],
    [
      'ssl-ciphers',
      'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-SHA',
      'sslCiphers',
      'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-SHA',
    ],
    ['ssl-ciphers', 'HIGH:!aNULL:!MD5:@SECLEVEL=1', 'sslCiphers', 'HIGH:!aNULL:!MD5:@SECLEVEL=1'],
    ['ssl-prefer-server-ciphers', 'false', 'sslPreferServerCiphers', false],
    ['ssl-session-cache', 'false', 'sslSessionCache', false],
    ['ssl-session-cache-size', '20M', 'sslSessionCacheSize', '20m'],
    ['ssl-session-cache-size', '32k', 'sslSessionCacheSize', '32k'],
    ['ssl-session-tickets', 'true', 'sslSessionTickets', true],
    ['ssl-session-timeout', '1h30m', 'sslSessionTimeout', '1h30m'],
    ['ssl-session-timeout', '600', 'sslSessionTimeout', '600'],
    ['ssl-ecdh-curve', 'X25519:prime256v1', 'sslEcdhCurve', 'X25519:prime256v1'],
    ['ssl-ecdh-curve', 'auto', 'sslEcdhCurve', 'auto'],
    ['ssl-buffer-size', '16k', 'sslBufferSize', '16k'],
  ]);

  toleratedCases([
    ['ssl-protocols', 'TLSv1.4'],
    ['ssl-protocols', 'TLSv1.2; return 200'],
    ['ssl-ciphers', "HIGH'; return 200 '"],
    ['ssl-ciphers', 'HIGH MEDIUM'],
    ['ssl-ciphers', ''],
    ['ssl-prefer-server-ciphers', 'on'],
    ['ssl-session-cache', 'yes'],
    ['ssl-session-cache-size', '16k'],
    ['ssl-session-cache-size', '10000'],
    ['ssl-session-tickets', 'off'],
    ['ssl-session-timeout', '10 m'],
    ['ssl-session-timeout', '10x'],
    ['ssl-ecdh-curve', 'X25519 prime256v1'],
    ['ssl-ecdh-curve', 'a;b'],
    ['ssl-buffer-size', '0'],
    ['ssl-buffer-size', '1g'],
  ]);

  const model = (data: Record<string, string>) => build([configMap(data)], CONFIG_MAP_OPTION).model;

  it('renders the defaults: the protocols and session cache as before, then ingress-nginx where nginx differs', () => {
    const text = renderText(model({}));
    for (const line of [
      'ssl_protocols TLSv1.2 TLSv1.3;',
      'ssl_session_cache shared:SSL:10m;',
      'ssl_session_timeout 10m;',
      'ssl_session_tickets off;',
      'ssl_buffer_size 4k;',
      `ssl_ciphers "${DEFAULT_SSL_CIPHERS}";`,
      'ssl_prefer_server_ciphers on;',
    ])
      assert.ok(text.includes(`\n    ${line}\n`), line);
    assert.doesNotMatch(text, /ssl_ecdh_curve/);
  });

  // the nginx.conf text of ingress-nginx's settings/ssl_session_cache.go "should disable ssl_session_cache",
  // "should set ssl_session_cache value", "should set ssl_session_timeout value";
  // ssl_session_tickets.go "should set ssl_session_tickets value"
  it('renders what the keys set, and nginx -t accepts it', async () => {
    const set = model({
      'ssl-protocols': 'TLSv1.3',
      'ssl-ciphers': 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-SHA',
      'ssl-prefer-server-ciphers': 'false',
      'ssl-session-cache-size': '20m',
      'ssl-session-timeout': '1h',
      'ssl-session-tickets': 'true',
      'ssl-ecdh-curve': 'X25519:prime256v1',
      'ssl-buffer-size': '16k',
    });
    const text = renderText(set);
    for (const line of [
      'ssl_protocols TLSv1.3;',
      'ssl_session_cache shared:SSL:20m;',
      'ssl_session_timeout 1h;',
      'ssl_session_tickets on;',
      'ssl_buffer_size 16k;',
      'ssl_ciphers "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-SHA";',
      'ssl_prefer_server_ciphers off;',
      'ssl_ecdh_curve X25519:prime256v1;',
    ])
      assert.ok(text.includes(`\n    ${line}\n`), line);
    await nginxAccepts(set);
    const noCache = renderText(model({ 'ssl-session-cache': 'false', 'ssl-session-timeout': '1h' }));
    assert.doesNotMatch(noCache, /ssl_session_cache|ssl_session_timeout/);
  });
});
