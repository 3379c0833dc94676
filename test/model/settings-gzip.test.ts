import assert from 'node:assert/strict';
import { DEFAULT_SETTINGS } from '../../src/model/settings.js';
import { DEFAULT_GZIP_TYPES, parseGzipTypes, parseUserAgentRegex } from '../../src/model/settings-gzip.js';
import { build, CONFIG_MAP_OPTION, configMap } from '../helpers/resources.js';
import { nginxAccepts, renderText } from './annotations/nginx-check.js';
import { parseData, toleratedCases, validCases } from './settings-cases.js';

describe('settings: gzip keys (settings-gzip.ts)', () => {
  it("has ingress-nginx's defaults: off, level 1, 256 bytes, its type list, no gzip_disable", () => {
    assert.equal(DEFAULT_SETTINGS.useGzip, false);
    assert.equal(DEFAULT_SETTINGS.gzipLevel, 1);
    assert.equal(DEFAULT_SETTINGS.gzipMinLength, 256);
    assert.equal(DEFAULT_GZIP_TYPES.length, 17);
    assert.ok(DEFAULT_GZIP_TYPES.includes('application/json') && !DEFAULT_GZIP_TYPES.includes('text/html'));
    assert.equal(DEFAULT_SETTINGS.gzipDisable, null);
  });

  it('gzip-types: blanks between types, duplicates once, "*" alone', () => {
    assert.deepEqual(parseGzipTypes(' text/css\ttext/css application/json '), ['text/css', 'application/json']);
    assert.deepEqual(parseGzipTypes('*'), ['*']);
    assert.equal(parseGzipTypes('* text/css'), undefined);
    assert.equal(parseGzipTypes('text/css;'), undefined);
  });

  it('gzip-disable: printable, and it must compile', () => {
    assert.equal(parseUserAgentRegex('MSIE [4-6]\\.'), 'MSIE [4-6]\\.');
    assert.equal(parseUserAgentRegex('MSIE ('), undefined);
    assert.equal(parseUserAgentRegex('a\nb'), undefined);
  });

  validCases([
    ['use-gzip', 'true', 'useGzip', true],
    ['gzip-level', '9', 'gzipLevel', 9],
    ['gzip-min-length', '0', 'gzipMinLength', 0],
    ['gzip-types', 'text/html', 'gzipTypes', ['text/html']],
    [
      'gzip-types',
      'application/vnd.api+json image/svg+xml',
      'gzipTypes',
      ['application/vnd.api+json', 'image/svg+xml'],
    ],
    ['gzip-disable', 'msie6', 'gzipDisable', 'msie6'],
    ['gzip-disable', '"quoted" \\d+ $', 'gzipDisable', '"quoted" \\d+ $'],
  ]);

  toleratedCases([
    ['use-gzip', 'yes'],
    ['gzip-level', '0'],
    ['gzip-level', '10'],
    ['gzip-min-length', '-1'],
    ['gzip-types', 'text'],
    ['gzip-types', 'text/html; gzip off'],
    ['gzip-types', ''],
    ['gzip-disable', '(unclosed'],
    ['gzip-disable', 'tab\there'],
  ]);

  it('says brotli is not available: its keys are unknown here', () => {
    const { problems } = parseData({ 'enable-brotli': 'true' });
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.severity, 'warning');
    assert.match(problems[0]!.message, /unknown or unsupported setting/);
  });

  const model = (data: Record<string, string>) => build([configMap(data)], CONFIG_MAP_OPTION).model;

  // the nginx.conf text of ingress-nginx's settings/gzip.go "should be disabled by default"
  it('renders nothing by default', () => {
    assert.doesNotMatch(renderText(model({})), /gzip/);
  });

  // the nginx.conf text of ingress-nginx's settings/gzip.go "should be enabled with default settings"
  it('use-gzip renders gzip on with the defaults, no gzip_disable, and nginx -t accepts it', async () => {
    const on = model({ 'use-gzip': 'true' });
    const text = renderText(on);
    for (const line of [
      'gzip on;',
      'gzip_comp_level 1;',
      'gzip_http_version 1.1;',
      'gzip_min_length 256;',
      `gzip_types ${DEFAULT_GZIP_TYPES.join(' ')};`,
      'gzip_proxied any;',
      'gzip_vary on;',
    ])
      assert.ok(text.includes(`\n    ${line}\n`), line);
    assert.doesNotMatch(text, /gzip_disable/);
    await nginxAccepts(on);
  });

  // the nginx.conf text of ingress-nginx's settings/gzip.go "should set gzip_comp_level to 4", "should set gzip_disable to
  // msie6", "should set gzip_min_length to 100", "should set gzip_types to text/html" (the config text)
  it('renders what the keys set, a regex quoted, and nginx -t accepts it', async () => {
    const set = model({
      'use-gzip': 'true',
      'gzip-level': '4',
      'gzip-disable': 'MSIE [1-6]\\."x',
      'gzip-min-length': '100',
      'gzip-types': 'text/html application/octet-stream',
    });
    const text = renderText(set);
    for (const line of [
      'gzip_comp_level 4;',
      'gzip_disable "MSIE [1-6]\\\\.\\"x";',
      'gzip_min_length 100;',
      'gzip_types text/html application/octet-stream;',
    ])
      assert.ok(text.includes(`\n    ${line}\n`), line);
    await nginxAccepts(set);
    await nginxAccepts(model({ 'use-gzip': 'true', 'gzip-types': '*', 'gzip-disable': 'msie6' }));
  });
});
