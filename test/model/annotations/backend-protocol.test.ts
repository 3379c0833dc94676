import assert from 'node:assert/strict';
import {
  BACKEND_PROTOCOL,
  backendProtocolFamily,
  FASTCGI_INDEX,
  FASTCGI_PARAMS,
  fastCgiValue,
  parseBackendProtocol,
  upstreamPass,
} from '../../../src/model/annotations/backend-protocol.js';
import type { Problem } from '../../../src/resources.js';
import { build, configMap, endpoints, ingress, path, rule, service, show } from '../../helpers/resources.js';
import { context, locationBlock, nginxTest, render } from './tls-fixtures.js';

const ing = (value?: string) =>
  ingress({ name: 'api', namespace: 'shop', annotations: value === undefined ? {} : { [BACKEND_PROTOCOL]: value } });
const app = [service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })];

describe('backend-protocol annotation', () => {
  it('is HTTP (no config) when absent or HTTP', () => {
    const problems: Problem[] = [];
    assert.equal(parseBackendProtocol(ing(), context(), problems), undefined);
    assert.equal(parseBackendProtocol(ing('HTTP'), context(), problems), undefined);
    assert.equal(parseBackendProtocol(ing('http'), context(), problems), undefined);
    assert.deepEqual(problems, []);
    assert.deepEqual(upstreamPass(undefined), { directive: 'proxy_pass', scheme: 'http' });
  });

  for (const [value, protocol, grpc, pass] of [
    ['HTTPS', 'HTTPS', false, ['proxy_pass', 'https']],
    ['https', 'HTTPS', false, ['proxy_pass', 'https']],
    [' GRPC ', 'GRPC', true, ['grpc_pass', 'grpc']],
    ['grpcs', 'GRPCS', true, ['grpc_pass', 'grpcs']],
    ['HTTPS\n', 'HTTPS', false, ['proxy_pass', 'https']],
    ['AUTO_HTTP', 'AUTO_HTTP', false, ['proxy_pass', '$scheme']],
  ] as const) {
    it(`reads ${JSON.stringify(value)} (case-insensitive, as ingress-nginx) as ${protocol}: ${pass.join(' ')}://`, () => {
      const problems: Problem[] = [];
      const config = parseBackendProtocol(ing(value), context(), problems);
      assert.deepEqual(config, { protocol, grpc });
      assert.deepEqual(problems, []);
      assert.deepEqual(upstreamPass(config!), { directive: pass[0], scheme: pass[1] });
    });
  }

  for (const value of ['AJP', 'HTTP2', 'h2c', '', 'https;', 'GRPC GRPCS', 'HTTPS\nGRPC']) {
    it(`refuses ${JSON.stringify(value)} with an error naming the Ingress, the annotation and the value`, () => {
      const problems: Problem[] = [];
      assert.equal(parseBackendProtocol(ing(value), context(), problems), undefined);
      assert.equal(problems.length, 1, show(problems));
      const problem = problems[0]!;
      assert.equal(problem.severity, 'error');
      assert.equal(problem.object, 'Ingress shop/api');
      assert.equal(problem.field, `metadata.annotations["${BACKEND_PROTOCOL}"]`);
      assert.ok(problem.message.includes(JSON.stringify(value)), problem.message);
      assert.match(problem.message, /HTTP, HTTPS, AUTO_HTTP, GRPC, GRPCS, FCGI/);
      if (value === 'AJP') assert.match(problem.message, /not supported by ingress-templater/);
    });
  }

  describe('FCGI', () => {
    const fcgi = (annotations: Record<string, string>) =>
      ingress({ name: 'php', namespace: 'shop', annotations: { [BACKEND_PROTOCOL]: 'FCGI', ...annotations } });
    const params = configMap(
      { SCRIPT_FILENAME: '/var/www/html$fastcgi_script_name', APP_ENV: 'prod', PATH_INFO: '${fastcgi_path_info}' },
      'php-params',
      'shop',
    );

    it('fastcgi_pass with fastcgi-index and the parameters of its ConfigMap, sorted, which it names for the sources', () => {
      const problems: Problem[] = [];
      const ingress = fcgi({ [FASTCGI_INDEX]: 'index.php', [FASTCGI_PARAMS]: 'php-params' });
      const config = parseBackendProtocol(ingress, context([], {}, [params]), problems);
      assert.deepEqual(problems, []);
      assert.deepEqual(config, {
        protocol: 'FCGI',
        grpc: false,
        fastcgi: {
          index: 'index.php',
          params: [
            { name: 'APP_ENV', value: 'prod' },
            { name: 'PATH_INFO', value: '${fastcgi_path_info}' },
            { name: 'SCRIPT_FILENAME', value: '/var/www/html$fastcgi_script_name' },
          ],
        },
      });
      assert.deepEqual(upstreamPass(config!), { directive: 'fastcgi_pass', scheme: null });
      assert.deepEqual(backendProtocolFamily.references!(ingress), [
        { kind: 'ConfigMap', namespace: 'shop', name: 'php-params' },
      ]);
    });

    it('a missing ConfigMap or one of another namespace denies (as ingress-nginx); a bad entry drops the parameters', () => {
      for (const value of ['gone', 'other/php-params']) {
        const problems: Problem[] = [];
        assert.equal(
          parseBackendProtocol(fcgi({ [FASTCGI_PARAMS]: value }), context([], {}, [params]), problems),
          undefined,
        );
        assert.equal(problems[0]?.severity, 'error', show(problems));
      }
      const bad: Record<string, string>[] = [
        { X: '$secret_variable' },
        { X: 'a b' },
        { 'BAD NAME': 'x' },
        { X: '"; include /etc/passwd' },
      ];
      for (const data of bad) {
        const problems: Problem[] = [];
        const config = parseBackendProtocol(
          fcgi({ [FASTCGI_PARAMS]: 'p' }),
          context([], {}, [configMap(data, 'p', 'shop')]),
          problems,
        );
        assert.deepEqual(config?.fastcgi?.params, [], JSON.stringify(data));
        assert.equal(problems[0]?.severity, 'warning');
      }
      assert.equal(fastCgiValue('$document_root$fastcgi_script_name'), '$document_root$fastcgi_script_name');
      assert.equal(fastCgiValue('$ingress_templater_host'), null);
      assert.equal(fastCgiValue('${uri'), null);
    });

    it('nginx -t accepts FCGI with its parameters in both balancer modes; the values are quoted', function () {
      this.timeout(30_000);
      const built = build([
        ...app,
        params,
        ingress({
          name: 'php',
          namespace: 'shop',
          annotations: { [BACKEND_PROTOCOL]: 'FCGI', [FASTCGI_INDEX]: 'index.php', [FASTCGI_PARAMS]: 'php-params' },
          rules: [rule('php.example.com', path('/', 'web'))],
        }),
        service({ name: 'web', namespace: 'shop' }),
        endpoints({ name: 'web', namespace: 'shop', subsets: [{ ready: ['10.0.0.2'] }] }),
      ]);
      assert.deepEqual(built.problems, [], show(built.problems));
      for (const balancer of ['lua', 'static'] as const) {
        const block = locationBlock(render(built.model, balancer), 'php.example.com', 'location "/"');
        assert.match(block, balancer === 'lua' ? /fastcgi_pass upstream_balancer;/ : /fastcgi_pass shop_web_80;/);
        assert.match(block, /fastcgi_param SCRIPT_FILENAME "\/var\/www\/html\$fastcgi_script_name";/);
        assert.match(block, /fastcgi_index "index\.php";/);
        assert.doesNotMatch(block, /proxy_pass/);
        assert.equal(nginxTest(built.model, balancer), null, balancer);
      }
    });
  });

  it('warns that gRPC needs HTTP/2 when the ConfigMap turns use-http2 off', () => {
    const problems: Problem[] = [];
    assert.deepEqual(parseBackendProtocol(ing('GRPC'), context([], { useHttp2: false }), problems), {
      protocol: 'GRPC',
      grpc: true,
    });
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.severity, 'warning');
    assert.match(problems[0]!.message, /HTTP\/2.*use-http2/);
  });

  describe('rendered', () => {
    const model = (value: string) =>
      build([
        ...app,
        ingress({
          name: 'api',
          annotations: { [BACKEND_PROTOCOL]: value },
          rules: [rule('api.example.com', path('/', 'web'))],
        }),
      ]);

    for (const balancer of ['lua', 'static'] as const) {
      const upstream = balancer === 'lua' ? 'upstream_balancer' : 'default_web_80';
      it(`${balancer}: HTTPS proxies to https://${upstream}`, () => {
        const block = locationBlock(render(model('HTTPS').model, balancer), 'api.example.com', 'location "/"');
        assert.match(block, new RegExp(`\\n\\s+proxy_pass https://${upstream};`));
        assert.doesNotMatch(block, /grpc_/);
      });

      it(`${balancer}: GRPC and GRPCS use grpc_pass grpc:// and grpcs:// ${upstream}, with the proxy headers as http-level grpc_set_header`, () => {
        for (const [value, scheme] of [
          ['GRPC', 'grpc'],
          ['GRPCS', 'grpcs'],
        ]) {
          const text = render(model(value!).model, balancer);
          const block = locationBlock(text, 'api.example.com', 'location "/"');
          assert.match(block, new RegExp(`\\n\\s+grpc_pass ${scheme}://${upstream};`));
          assert.doesNotMatch(
            block,
            /proxy_pass|grpc_set_header/,
            "a location's own grpc_set_header would drop the http-level list",
          );
          for (const host of [
            'Host \\$ingress_templater_host',
            'X-Forwarded-For \\$remote_addr',
            'X-Real-IP \\$remote_addr',
            'X-Forwarded-Proto \\$scheme',
            'ssl-client-verify \\$ingress_templater_ssl_client_verify',
          ]) {
            assert.match(text, new RegExp(`\\n {4}grpc_set_header ${host};`));
          }
          assert.doesNotMatch(
            text,
            /grpc_set_header (Upgrade|Connection)/,
            'hop-by-hop headers mean nothing in HTTP/2',
          );
          assert.match(block, /grpc_read_timeout 60s;/);
        }
      });

      it(`${balancer}: nginx -t accepts HTTPS, GRPC and GRPCS`, function () {
        this.timeout(30_000);
        for (const value of ['HTTPS', 'GRPC', 'GRPCS'])
          assert.equal(nginxTest(model(value).model, balancer), null, value);
      });
    }

    it('an invalid value is ignored with a warning, as ingress-nginx: HTTP, and it never reaches nginx.conf', () => {
      const result = model('AJP; add_header X-Injected 1');
      assert.deepEqual(
        result.problems.map((p) => p.severity),
        ['warning'],
        show(result.problems),
      );
      assert.match(result.problems[0]!.message, /ignored, its default applies/);
      const text = render(result.model);
      assert.match(locationBlock(text, 'api.example.com', 'location "/"'), /proxy_pass http:\/\/upstream_balancer;/);
      assert.doesNotMatch(text, /AJP|X-Injected/);
    });
  });
});
