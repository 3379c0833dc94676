import assert from 'node:assert/strict';
import { SUPPORTED } from '../../../src/model/annotations/index.js';
import {
  isMirrorProxyUrl,
  MIRROR_HOST,
  MIRROR_REQUEST_BODY,
  MIRROR_TARGET,
  mirrorPathFor,
  parseMirrorTarget,
  upstreamFor,
} from '../../../src/model/annotations/mirror.js';
import type { MirrorConfig } from '../../../src/model/annotations/mirror.js';
import type { Model } from '../../../src/model/index.js';
import { mirrorUrl } from '../../../src/render/escape.js';
import { build, endpoints, ingress, path, rule, service, show } from '../../helpers/resources.js';
import { locationBlock, nginxAccepts, renderText } from './nginx-check.js';

const web = [service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })];
const ing = (annotations: Record<string, string>, name = 'site', host = 'a.example.com', paths = ['/']) =>
  ingress({ name, annotations, rules: [rule(host, ...paths.map((p) => path(p, 'web')))] });
const locations = (model: Model, host = 'a.example.com') => model.servers.find((s) => s.host === host)!.locations;
const configOf = (model: Model, host = 'a.example.com') => locations(model, host)[0]!.ann.mirror as MirrorConfig;

describe('model/annotations/mirror', () => {
  it('its annotations are supported', () => {
    for (const key of [MIRROR_TARGET, MIRROR_REQUEST_BODY, MIRROR_HOST]) assert.ok(SUPPORTED.has(key), key);
  });

  it('parseMirrorTarget: http(s) URL, literal host, path and query with the allowed variables as ${name}', () => {
    assert.deepEqual(parseMirrorTarget(' http://localhost/mirror '), {
      url: 'http://localhost/mirror',
      scheme: 'http',
      hostname: 'localhost',
      port: 80,
      uri: '/mirror',
    });
    // ingress-nginx test/e2e/annotations/mirror.go "should set mirror-target to https://test.env.com/$request_uri"
    assert.deepEqual(parseMirrorTarget('https://test.env.com/$request_uri'), {
      url: 'https://test.env.com/$request_uri',
      scheme: 'https',
      hostname: 'test.env.com',
      port: 443,
      uri: '/${request_uri}',
    });
    assert.equal(parseMirrorTarget('http://10.0.0.9:8080$request_uri')!.uri, '${request_uri}');
    assert.equal(parseMirrorTarget('http://[fd00::9]:81')!.hostname, 'fd00::9');
    assert.equal(
      parseMirrorTarget('http://m.example/a?x=${args}&m=$request_method')!.uri,
      '/a?x=${args}&m=${request_method}',
    );
    for (const bad of [
      'ftp://m.example/',
      'http://',
      'm.example/mirror',
      'http://$host/mirror', // the host must be written out
      'http://m.example/$uri', // decoded by nginx: %0d%0a would split the request line
      'http://m.example/$http_authorization',
      'http://m.example/a b',
      'http://m.example/a"b',
      'http://m.example/a;}',
      'http://m.example/a{b}',
      'http://m.example:0/',
      'http://m.example:70000/',
      'http://[not-v6]/',
      'http://1.2.3/',
      `http://m.example/${'a'.repeat(2100)}`,
    ])
      assert.equal(parseMirrorTarget(bad), undefined, bad);
  });

  it('the mirror location and the internal location that proxies to the target, through its upstream', async () => {
    // ingress-nginx test/e2e/annotations/mirror.go "should set mirror-target to http://localhost/mirror"
    const { model, problems } = build([...web, ing({ [MIRROR_TARGET]: 'http://localhost/mirror' })], {
      resolved: new Map([['localhost', ['127.0.0.1']]]),
    });
    assert.deepEqual(problems, [], show(problems));
    const mirrorPath = mirrorPathFor('default/site');
    assert.equal(configOf(model).path, mirrorPath);
    const text = renderText(model);
    const loc = locationBlock(text, 'a.example.com', '/');
    assert.match(loc, new RegExp(`mirror "${mirrorPath}";\\n\\s+mirror_request_body on;`));
    const internal = locationBlock(text, 'a.example.com', mirrorPath, true);
    const upstream = upstreamFor({ hostname: 'localhost', port: 80 });
    assert.match(internal, /internal;/);
    assert.match(internal, new RegExp(`proxy_pass "http://${upstream}/mirror";`));
    assert.match(internal, /proxy_set_header Host "localhost";/);
    // the whole list, or nginx would drop the http level's protected headers here
    assert.match(internal, /proxy_set_header X-Real-IP \$remote_addr;/);
    assert.doesNotMatch(internal, /proxy_pass_request_body off|Content-Length/);
    assert.match(
      text,
      new RegExp(`upstream ${upstream} \\{\\n\\s+# addresses: 127\\.0\\.0\\.1\\n\\s+server localhost:80;`),
    );
    await nginxAccepts(model);
  });

  it('mirror-request-body off: no body and no Content-Length for the target', async () => {
    // ingress-nginx test/e2e/annotations/mirror.go "should disable mirror-request-body"
    const { model, problems } = build([
      ...web,
      ing({ [MIRROR_TARGET]: 'https://10.0.0.9:8443/copy$is_args$args', [MIRROR_REQUEST_BODY]: 'off' }),
    ]);
    assert.deepEqual(problems, [], show(problems));
    const text = renderText(model);
    assert.match(locationBlock(text, 'a.example.com', '/'), /mirror_request_body off;/);
    const internal = locationBlock(text, 'a.example.com', mirrorPathFor('default/site'), true);
    assert.match(internal, /proxy_pass_request_body off;/);
    assert.match(internal, /proxy_set_header Content-Length "";/);
    assert.match(internal, /proxy_set_header Host "10\.0\.0\.9";/);
    assert.match(internal, /proxy_ssl_server_name on;\n\s+proxy_ssl_name "10\.0\.0\.9";/);
    const upstream = upstreamFor({ hostname: '10.0.0.9', port: 8443 });
    assert.match(internal, new RegExp(`proxy_pass "https://${upstream}/copy\\$\\{is_args\\}\\$\\{args\\}";`));
    assert.match(text, /server 10\.0\.0\.9:8443;/);
    await nginxAccepts(model);
  });

  it('mirror-host sets the Host header; Ingresses sharing a host and a target share the upstream', () => {
    const { model, problems } = build(
      [
        ...web,
        ing({ [MIRROR_TARGET]: 'http://m.example:8080$request_uri', [MIRROR_HOST]: 'shadow.example' }, 'one'),
        ing({ [MIRROR_TARGET]: 'http://M.example:8080/x' }, 'two', 'a.example.com', ['/two']),
      ],
      {
        resolved: new Map([
          ['m.example', ['10.0.0.5', '10.0.0.4']],
          ['M.example', ['10.0.0.5', '10.0.0.4']],
        ]),
      },
    );
    assert.deepEqual(problems, [], show(problems));
    const text = renderText(model);
    assert.match(locationBlock(text, 'a.example.com', mirrorPathFor('default/one'), true), /Host "shadow\.example"/);
    assert.match(locationBlock(text, 'a.example.com', mirrorPathFor('default/two'), true), /Host "M\.example"/);
    assert.equal(text.match(/upstream ingress_templater_mirror_/g)!.length, 1);
    assert.match(text, /# addresses: 10\.0\.0\.4 10\.0\.0\.5/);
  });

  it('invalid values are ignored with a warning (ingress-nginx ignored them): the paths are served', () => {
    const bad = build([...web, ing({ [MIRROR_TARGET]: 'http://m.example/$uri' })]);
    assert.equal(bad.problems.length, 1, show(bad.problems));
    assert.equal(bad.problems[0]!.severity, 'warning');
    assert.match(bad.problems[0]!.message, /ignored, its default applies/);
    assert.equal(locations(bad.model)[0]!.denied, null);
    assert.equal(locations(bad.model)[0]!.ann.mirror, undefined);
    assert.doesNotMatch(renderText(bad.model), /mirror/);

    // a bad mirror-request-body or mirror-host: on, and the target's host
    const half = build([
      ...web,
      ing({ [MIRROR_TARGET]: 'http://10.0.0.9/', [MIRROR_REQUEST_BODY]: 'no', [MIRROR_HOST]: 'a"b' }),
    ]);
    assert.equal(half.problems.length, 2, show(half.problems));
    assert.ok(half.problems.every((problem) => problem.severity === 'warning'));
    assert.equal(configOf(half.model).requestBody, true);
    assert.equal(configOf(half.model).host, '10.0.0.9');

    const alone = build([...web, ing({ [MIRROR_HOST]: 'x.example' })]);
    assert.equal(alone.problems.length, 1, show(alone.problems));
    assert.match(alone.problems[0]!.message, /without .*mirror-target has no effect/);
  });

  it("a target that does not resolve or is the controller's own listener is dropped, the paths served", () => {
    const unresolved = build([...web, ing({ [MIRROR_TARGET]: 'http://gone.invalid/' })], {
      resolved: new Map([['gone.invalid', []]]),
    });
    assert.equal(unresolved.problems.length, 1, show(unresolved.problems));
    assert.equal(unresolved.problems[0]!.severity, 'warning');
    assert.match(unresolved.problems[0]!.message, /gone\.invalid does not resolve; requests are not mirrored/);
    assert.equal(locations(unresolved.model)[0]!.ann.mirror, undefined);
    assert.equal(locations(unresolved.model)[0]!.denied, null);
    assert.doesNotMatch(renderText(unresolved.model), /mirror/);

    const self = build([...web, ing({ [MIRROR_TARGET]: 'http://127.0.0.1:8080/' })], {
      endpointPolicy: { protectedPorts: [8080], localAddresses: [] },
    });
    assert.equal(self.problems.length, 1, show(self.problems));
    assert.match(self.problems[0]!.message, /loopback address on a port of the controller/);
    assert.doesNotMatch(renderText(self.model), /mirror/);
  });

  it('a change of the addresses a name resolves to changes the config (nginx resolves it at load)', () => {
    const res = [...web, ing({ [MIRROR_TARGET]: 'http://m.svc.local/' })];
    const one = renderText(build(res, { resolved: new Map([['m.svc.local', ['10.0.0.8']]]) }).model);
    const two = renderText(build(res, { resolved: new Map([['m.svc.local', ['10.0.0.9']]]) }).model);
    assert.notEqual(one, two);
  });

  it('mirrorUrl renders only the upstream and the allowed variables', () => {
    const upstream = upstreamFor({ hostname: 'm.example', port: 80 });
    assert.equal(mirrorUrl(`http://${upstream}/a\${request_uri}`), `"http://${upstream}/a\${request_uri}"`);
    for (const bad of [
      'http://m.example/',
      `http://${upstream}/$request_uri`,
      `http://${upstream}/\${uri}`,
      `http://${upstream}/"`,
      `http://${upstream}/ x`,
    ])
      assert.throws(() => mirrorUrl(bad), bad);
    assert.equal(isMirrorProxyUrl(`https://${upstream}`), true);
  });
});
