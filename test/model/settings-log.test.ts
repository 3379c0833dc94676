import assert from 'node:assert/strict';
import { DEFAULT_SETTINGS } from '../../src/model/settings.js';
import { NGINX_VARIABLES, parseLogFormat } from '../../src/model/settings-log.js';
import { build, CONFIG_MAP_OPTION, configMap } from '../helpers/resources.js';
import { nginxAccepts, renderText } from './annotations/nginx-check.js';
import { toleratedCases, validCases } from './settings-cases.js';

// ingress-nginx's default format (its config.go), less $proxy_alternative_upstream_name
const INGRESS_NGINX_FORMAT =
  '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" ' +
  '"$http_user_agent" $request_length $request_time [$proxy_upstream_name] $upstream_addr ' +
  '$upstream_response_length $upstream_response_time $upstream_status $req_id';

describe('settings: the access log format (settings-log.ts)', () => {
  it("defaults to the controller's own format, no escape parameter", () => {
    assert.equal(DEFAULT_SETTINGS.logFormatUpstream, null);
    assert.equal(DEFAULT_SETTINGS.logFormatEscapeJson, false);
    assert.equal(DEFAULT_SETTINGS.logFormatEscapeNone, false);
  });

  it('keeps the text, checks each variable, renames $req_id to the request id the controller keeps', () => {
    assert.equal(
      parseLogFormat(INGRESS_NGINX_FORMAT),
      INGRESS_NGINX_FORMAT.replace('$req_id', '$ingress_templater_request_id'),
    );
    assert.equal(parseLogFormat('${req_id}x ${status}'), '${ingress_templater_request_id}x ${status}');
    assert.equal(
      parseLogFormat('$http_x_custom $cookie_a $arg_q $upstream_http_x'),
      '$http_x_custom $cookie_a $arg_q $upstream_http_x',
    );
    for (const bad of [
      '$namespace',
      '$proxy_alternative_upstream_name',
      'cost: 5$',
      '${unclosed',
      '$',
      'a\nb',
      '$ingress_templater_x',
    ])
      assert.equal(parseLogFormat(bad), undefined, bad);
  });

  validCases([
    ['log-format-upstream', '{"status": "$status"}', 'logFormatUpstream', '{"status": "$status"}'],
    ['log-format-escape-json', 'true', 'logFormatEscapeJson', true],
    ['log-format-escape-none', 'true', 'logFormatEscapeNone', true],
  ]);

  toleratedCases([
    ['log-format-upstream', '$remote_addr $unknown_variable'],
    ['log-format-upstream', 'line\nbreak'],
    ['log-format-escape-json', 'yes'],
    ['log-format-escape-none', '1'],
  ]);

  const model = (data: Record<string, string>) => build([configMap(data)], CONFIG_MAP_OPTION).model;

  // the nginx.conf text of ingress-nginx's settings/log-format.go "should not configure log-format escape by default",
  // "should enable the log-format-escape-json", "should disable the log-format-escape-json",
  // "should enable the log-format-escape-none", "should disable the log-format-escape-none"
  it('renders the escape parameter only when a key asks for it; escape-none wins', async () => {
    assert.doesNotMatch(renderText(model({})), /log_format upstreaminfo escape/);
    assert.match(renderText(model({ 'log-format-escape-json': 'true' })), /log_format upstreaminfo escape=json '/);
    assert.doesNotMatch(renderText(model({ 'log-format-escape-json': 'false' })), /escape=json/);
    assert.match(renderText(model({ 'log-format-escape-none': 'true' })), /log_format upstreaminfo escape=none '/);
    assert.doesNotMatch(renderText(model({ 'log-format-escape-none': 'false' })), /escape=none/);
    assert.match(
      renderText(model({ 'log-format-escape-none': 'true', 'log-format-escape-json': 'true' })),
      /log_format upstreaminfo escape=none '/,
    );
    await nginxAccepts(model({ 'log-format-escape-json': 'true' }));
  });

  it('renders a format as one quoted string whose quotes and backslashes cannot end it; nginx -t accepts it', async () => {
    const value = '"{"h":"$http_header1"}" \\"; access_log off; ${status}';
    const set = model({ 'log-format-upstream': value, 'log-format-escape-json': 'true' });
    const text = renderText(set);
    assert.ok(
      text.includes(
        '\n    log_format upstreaminfo escape=json "\\"{\\"h\\":\\"$http_header1\\"}\\" \\\\\\"; access_log off; ${status}";\n',
      ),
      text,
    );
    await nginxAccepts(set);
  });

  it('every variable the format may name is known to this nginx (nginx -t)', async () => {
    const names = [...NGINX_VARIABLES, 'req_id'];
    const format = names.map((name) => `$${name}`).join(' ');
    assert.notEqual(parseLogFormat(format), undefined);
    await nginxAccepts(model({ 'log-format-upstream': format }));
  });
});
