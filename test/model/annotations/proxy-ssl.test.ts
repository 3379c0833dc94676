import assert from 'node:assert/strict';
import {
  parseProxySsl,
  PROXY_SSL_NAME,
  PROXY_SSL_PROTOCOLS,
  PROXY_SSL_SECRET,
  PROXY_SSL_SERVER_NAME,
  PROXY_SSL_VERIFY,
  PROXY_SSL_VERIFY_DEPTH,
} from '../../../src/model/annotations/proxy-ssl.js';
import { BACKEND_PROTOCOL } from '../../../src/model/annotations/backend-protocol.js';
import type { Problem, Secret } from '../../../src/resources.js';
import { build, endpoints, ingress, path, rule, service, show } from '../../helpers/resources.js';
import {
  cleanupPki,
  context,
  dataSecret,
  issueClient,
  locationBlock,
  makeCa,
  nginxTest,
  render,
} from './tls-fixtures.js';
import type { Pem } from './tls-fixtures.js';

const app = [service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })];

describe('proxy-ssl-* annotations', () => {
  let ca: Pem & { id: string }, client: Pem;
  let secrets: Secret[];
  before(function () {
    this.timeout(20_000);
    ca = makeCa('backend CA');
    client = issueClient(ca, 'nginx');
    secrets = [
      dataSecret('backend', { 'ca.crt': ca.cert, 'tls.crt': client.cert, 'tls.key': client.key }),
      dataSecret('ca-only', { 'ca.crt': ca.cert }),
      dataSecret('no-ca', { 'tls.crt': client.cert, 'tls.key': client.key }),
      dataSecret('bad-key', { 'ca.crt': ca.cert, 'tls.crt': client.cert, 'tls.key': ca.key }),
      dataSecret('elsewhere', { 'ca.crt': ca.cert }, 'other'),
    ];
  });
  after(cleanupPki);

  const ing = (annotations: Record<string, string>) => ingress({ name: 'api', annotations });
  const parse = (annotations: Record<string, string>, problems: Problem[] = []) => {
    const ctx = context(secrets);
    return { config: parseProxySsl(ing(annotations), ctx, problems), files: ctx.files, problems };
  };

  it('has the defaults of ingress-nginx: verify off, depth 1, SNI off, nginx default protocols and name', () => {
    const result = parse({ [PROXY_SSL_SECRET]: 'default/ca-only' });
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.config, {
      module: 'proxy',
      secret: 'default/ca-only',
      caFile: 'proxy-ssl-ca.crt-hash',
      certFile: null,
      verify: 'off',
      verifyDepth: 1,
      name: null,
      serverName: 'off',
      protocols: null,
    });
    assert.equal(result.files.get('proxy-ssl-ca.crt'), ca.cert);
  });

  it('reads every annotation, and the client certificate of the Secret', () => {
    const result = parse({
      [PROXY_SSL_SECRET]: 'default/backend',
      [PROXY_SSL_VERIFY]: 'on',
      [PROXY_SSL_VERIFY_DEPTH]: '3',
      [PROXY_SSL_NAME]: 'Backend.Example.com',
      [PROXY_SSL_SERVER_NAME]: 'on',
      [PROXY_SSL_PROTOCOLS]: 'TLSv1.3  TLSv1.2 TLSv1.3',
    });
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.config, {
      module: 'proxy',
      secret: 'default/backend',
      caFile: 'proxy-ssl-ca.crt-hash',
      certFile: 'proxy-ssl-client.pem-hash',
      verify: 'on',
      verifyDepth: 3,
      name: 'backend.example.com',
      serverName: 'on',
      protocols: ['TLSv1.2', 'TLSv1.3'],
    });
    const pem = result.files.get('proxy-ssl-client.pem')!;
    assert.ok(pem.startsWith(client.cert.trim().split('\n')[0]!) && pem.includes('PRIVATE KEY'));
  });

  it('uses grpc_ssl_* with backend-protocol GRPCS', () => {
    assert.equal(parse({ [PROXY_SSL_SECRET]: 'default/ca-only', [BACKEND_PROTOCOL]: 'grpcs' }).config?.module, 'grpc');
    assert.equal(parse({ [PROXY_SSL_SECRET]: 'default/ca-only', [BACKEND_PROTOCOL]: 'HTTPS' }).config?.module, 'proxy');
  });

  it('warns when verify is on without proxy-ssl-name (the upstream name is checked)', () => {
    const result = parse({ [PROXY_SSL_SECRET]: 'default/ca-only', [PROXY_SSL_VERIFY]: 'on' });
    assert.equal(result.config?.verify, 'on');
    assert.equal(result.problems.length, 1);
    assert.equal(result.problems[0]!.severity, 'warning');
    assert.match(result.problems[0]!.message, /proxy-ssl-name/);
  });

  it('warns that the other annotations do nothing without proxy-ssl-secret', () => {
    const result = parse({ [PROXY_SSL_VERIFY]: 'on', [PROXY_SSL_NAME]: 'a.example.com' });
    assert.equal(result.config, undefined);
    assert.deepEqual(
      result.problems.map((p) => p.severity),
      ['warning'],
    );
    assert.match(result.problems[0]!.message, /proxy-ssl-verify, proxy-ssl-name have no effect without/);
  });

  for (const [key, value, expected] of [
    [PROXY_SSL_VERIFY, 'true', /"on" or "off"/],
    [PROXY_SSL_VERIFY, 'ON', /"on" or "off"/],
    [PROXY_SSL_SERVER_NAME, 'yes', /"on" or "off"/],
    [PROXY_SSL_VERIFY_DEPTH, '0', /1-100/],
    [PROXY_SSL_VERIFY_DEPTH, '101', /1-100/],
    [PROXY_SSL_VERIFY_DEPTH, '2.5', /1-100/],
    [PROXY_SSL_VERIFY_DEPTH, '-1', /1-100/],
    [PROXY_SSL_NAME, 'backend.example.com; return 200', /DNS name/],
    [PROXY_SSL_NAME, '$host', /DNS name/],
    [PROXY_SSL_NAME, '*.example.com', /DNS name/],
    [PROXY_SSL_NAME, '-bad.example.com', /DNS name/],
    [PROXY_SSL_PROTOCOLS, 'TLSv1.4', /TLSv1\.3/],
    [PROXY_SSL_PROTOCOLS, 'TLSv1.2;', /TLSv1\.3/],
    [PROXY_SSL_PROTOCOLS, '', /TLSv1\.3/],
    [PROXY_SSL_PROTOCOLS, 'tlsv1.2', /TLSv1\.3/],
    [PROXY_SSL_SECRET, 'backend', /namespace\/name/],
    [PROXY_SSL_SECRET, 'other/elsewhere', /own namespace/],
    [PROXY_SSL_SECRET, 'default/missing', /Secret default\/missing: not found/],
    [PROXY_SSL_SECRET, 'default/no-ca', /has no ca\.crt/],
    [PROXY_SSL_SECRET, 'default/bad-key', /no usable client certificate: .*does not match/],
  ] as const) {
    it(`refuses ${key.split('/')[1]}: ${JSON.stringify(value)} with an error naming the Ingress and the annotation`, () => {
      const annotations: Record<string, string> = {
        [PROXY_SSL_SECRET]: 'default/ca-only',
        [PROXY_SSL_NAME]: 'b.example.com',
        [key]: value,
      };
      const result = parse(annotations);
      const errors = result.problems.filter((p) => p.severity === 'error');
      assert.equal(errors.length, 1, show(result.problems));
      assert.equal(errors[0]!.object, 'Ingress default/api');
      assert.equal(errors[0]!.field, `metadata.annotations["${key}"]`);
      assert.match(errors[0]!.message, expected);
      if (!key.endsWith('secret')) assert.ok(errors[0]!.message.includes(JSON.stringify(value)), errors[0]!.message);
    });
  }

  describe('rendered', () => {
    const model = (annotations: Record<string, string>) =>
      build([
        ...app,
        ...secrets,
        ingress({
          name: 'api',
          annotations,
          rules: [rule('api.example.com', path('/', 'web'))],
        }),
      ]);
    const full = {
      [BACKEND_PROTOCOL]: 'HTTPS',
      [PROXY_SSL_SECRET]: 'default/backend',
      [PROXY_SSL_VERIFY]: 'on',
      [PROXY_SSL_VERIFY_DEPTH]: '2',
      [PROXY_SSL_NAME]: 'backend.example.com',
      [PROXY_SSL_SERVER_NAME]: 'on',
      [PROXY_SSL_PROTOCOLS]: 'TLSv1.2 TLSv1.3',
    };

    it('writes the proxy_ssl_* directives with the managed files, in the Ingress locations', () => {
      const result = model(full);
      assert.deepEqual(result.problems, []);
      assert.deepEqual(
        result.model.files.map((f) => [f.name.replace(/-[0-9a-f]{16}$/, ''), f.mode]),
        [
          ['proxy-ssl-ca.crt', 0o600],
          ['proxy-ssl-client.pem', 0o600],
        ],
      );
      const ca = result.model.files.find((f) => f.name.startsWith('proxy-ssl-ca.crt'))!.name;
      const pem = result.model.files.find((f) => f.name.startsWith('proxy-ssl-client.pem'))!.name;
      const block = locationBlock(render(result.model), 'api.example.com', 'location "/"');
      for (const line of [
        `proxy_ssl_trusted_certificate "/srv/it/files/${ca}";`,
        'proxy_ssl_verify on;',
        'proxy_ssl_verify_depth 2;',
        'proxy_ssl_server_name on;',
        'proxy_ssl_name backend.example.com;',
        'proxy_ssl_protocols TLSv1.2 TLSv1.3;',
        `proxy_ssl_certificate "/srv/it/files/${pem}";`,
        `proxy_ssl_certificate_key "/srv/it/files/${pem}";`,
        'proxy_pass https://upstream_balancer;',
      ])
        assert.ok(block.includes(line), `${line}\n${block}`);
    });

    it('writes grpc_ssl_* for GRPCS', () => {
      const block = locationBlock(
        render(model({ ...full, [BACKEND_PROTOCOL]: 'GRPCS' }).model),
        'api.example.com',
        'location "/"',
      );
      assert.match(block, /grpc_ssl_verify on;/);
      assert.match(block, /grpc_ssl_name backend\.example\.com;/);
      assert.doesNotMatch(block, /proxy_ssl_/);
      assert.match(block, /grpc_pass grpcs:\/\/upstream_balancer;/);
    });

    it('nginx -t accepts it (HTTPS and GRPCS, Lua and static)', function () {
      this.timeout(30_000);
      assert.equal(nginxTest(model(full).model, 'static'), null);
      assert.equal(nginxTest(model({ ...full, [BACKEND_PROTOCOL]: 'GRPCS' }).model, 'static'), null);
      assert.equal(
        nginxTest(model({ [BACKEND_PROTOCOL]: 'HTTPS', [PROXY_SSL_SECRET]: 'default/ca-only' }).model, 'lua'),
        null,
      );
    });

    it('an invalid value denies the Ingress (503) and never reaches nginx.conf', () => {
      const result = model({ ...full, [PROXY_SSL_NAME]: 'x.example.com;include /etc/passwd' });
      const text = render(result.model);
      assert.match(locationBlock(text, 'api.example.com', 'location "/"'), /return 503;/);
      assert.doesNotMatch(text, /passwd|proxy_ssl_/);
    });
  });
});
