import assert from 'node:assert/strict';
import {
  AUTH_TLS_PASS_CERTIFICATE,
  AUTH_TLS_SECRET,
  AUTH_TLS_VERIFY_CLIENT,
  AUTH_TLS_VERIFY_DEPTH,
  authTlsFamily,
  parseAuthTls,
} from '../../../src/model/annotations/auth-tls.js';
import { parseAnnotations } from '../../../src/model/annotations/index.js';
import { SSL_REDIRECT } from '../../../src/model/annotations/ssl.js';
import type { Problem, Secret } from '../../../src/resources.js';
import { build, endpoints, ingress, path, rule, service, show } from '../../helpers/resources.js';
import {
  cleanupPki,
  context,
  dataSecret,
  locationBlock,
  makeCa,
  nginxTest,
  render,
  serverHead,
} from './tls-fixtures.js';
import type { Pem } from './tls-fixtures.js';

const app = [service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })];

describe('auth-tls-* annotations', () => {
  let ca: Pem & { id: string };
  let secrets: Secret[];
  before(function () {
    this.timeout(20_000);
    ca = makeCa('client CA');
    secrets = [
      dataSecret('client-ca', { 'ca.crt': ca.cert }),
      dataSecret('tls-only', { 'tls.crt': ca.cert, 'tls.key': ca.key }),
      dataSecret('ca', { 'ca.crt': ca.cert }, 'other'),
    ];
  });
  after(cleanupPki);

  const ing = (annotations: Record<string, string>) => ingress({ name: 'portal', annotations });
  const parse = (annotations: Record<string, string>) => {
    const problems: Problem[] = [];
    const ctx = context(secrets);
    return { config: parseAuthTls(ing(annotations), ctx, problems), files: ctx.files, problems };
  };

  it('has the defaults of ingress-nginx: verify-client on, depth 1, certificate not passed', () => {
    const result = parse({ [AUTH_TLS_SECRET]: 'default/client-ca' });
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.config, {
      secret: 'default/client-ca',
      caFile: 'auth-tls-ca.crt-hash',
      verifyClient: 'on',
      check: true,
      verifyDepth: 1,
      passCertificate: false,
    });
    assert.equal(result.files.get('auth-tls-ca.crt'), ca.cert);
  });

  for (const raw of ['on', 'off', 'optional', 'optional_no_ca'] as const) {
    it(`accepts auth-tls-verify-client ${raw}`, () => {
      const result = parse({
        [AUTH_TLS_SECRET]: 'default/client-ca',
        [AUTH_TLS_VERIFY_CLIENT]: raw,
        [AUTH_TLS_VERIFY_DEPTH]: '2',
        [AUTH_TLS_PASS_CERTIFICATE]: 'true',
      });
      assert.deepEqual(result.problems, []);
      assert.equal(result.config?.verifyClient, raw);
      assert.equal(result.config?.check, raw !== 'off');
      assert.equal(result.config?.verifyDepth, 2);
      assert.equal(result.config?.passCertificate, true);
    });
  }

  it('warns that the other annotations do nothing without auth-tls-secret', () => {
    const result = parse({ [AUTH_TLS_VERIFY_CLIENT]: 'optional' });
    assert.equal(result.config, undefined);
    assert.deepEqual(
      result.problems.map((p) => p.severity),
      ['warning'],
    );
    assert.match(result.problems[0]!.message, /auth-tls-verify-client has no effect without/);
  });

  for (const [key, value, expected] of [
    [AUTH_TLS_VERIFY_CLIENT, 'required', /on, off, optional, optional_no_ca/],
    [AUTH_TLS_VERIFY_CLIENT, 'ON', /on, off, optional, optional_no_ca/],
    [AUTH_TLS_VERIFY_CLIENT, 'on; ssl_verify_client off', /on, off, optional, optional_no_ca/],
    [AUTH_TLS_VERIFY_DEPTH, '0', /1-100/],
    [AUTH_TLS_VERIFY_DEPTH, 'two', /1-100/],
    [AUTH_TLS_PASS_CERTIFICATE, 'yes', /"true" or "false"/],
    [AUTH_TLS_SECRET, 'client-ca', /namespace\/name/],
    [AUTH_TLS_SECRET, 'other/ca', /own namespace/],
    [AUTH_TLS_SECRET, 'default/nope', /Secret default\/nope: not found/],
    [AUTH_TLS_SECRET, 'default/tls-only', /has no ca\.crt/],
  ] as const) {
    it(`refuses ${key.split('/')[1]}: ${JSON.stringify(value)}, applying nothing`, () => {
      const result = parse({ [AUTH_TLS_SECRET]: 'default/client-ca', [key]: value });
      assert.equal(result.config, undefined);
      assert.equal(result.problems.length, 1, show(result.problems));
      assert.equal(result.problems[0]!.severity, 'error');
      assert.equal(result.problems[0]!.object, 'Ingress default/portal');
      assert.equal(result.problems[0]!.field, `metadata.annotations["${key}"]`);
      assert.match(result.problems[0]!.message, expected);
    });
  }

  it('through parseAnnotations: server config (the ssl-client-* headers are always in the http-level list), problems once, invalid values deny', () => {
    const ctx = context(secrets);
    let problems: Problem[] = [];
    const ok = parseAnnotations(
      ing({ [AUTH_TLS_SECRET]: 'default/client-ca', [AUTH_TLS_PASS_CERTIFICATE]: 'true' }),
      ctx,
      problems,
    );
    assert.deepEqual(problems, []);
    assert.equal(ok.denied, null);
    assert.equal((ok.server[authTlsFamily.name] as { verifyClient: string }).verifyClient, 'on');
    assert.equal(ok.http[authTlsFamily.name], undefined);
    assert.equal(ok.location[authTlsFamily.name], undefined);
    problems = [];
    const bad = parseAnnotations(ing({ [AUTH_TLS_SECRET]: 'default/nope' }), ctx, problems);
    assert.equal(problems.length, 1, show(problems));
    assert.ok(bad.denied);
    assert.equal(bad.server[authTlsFamily.name], undefined);
    const off = parseAnnotations(
      ing({ [AUTH_TLS_SECRET]: 'default/client-ca', [AUTH_TLS_VERIFY_CLIENT]: 'off' }),
      ctx,
      [],
    );
    assert.equal(off.http[authTlsFamily.name], undefined);
  });

  describe('rendered', () => {
    const model = (annotations: Record<string, string>, more: Parameters<typeof build>[0] = []) =>
      build([
        ...app,
        ...secrets,
        ...more,
        ingress({
          name: 'portal',
          created: '2024-01-01T00:00:00Z',
          annotations,
          tls: [{ hosts: ['portal.example.com'] }],
          rules: [rule('portal.example.com', path('/', 'web'))],
        }),
      ]);

    it('sets client verification at server level, the ssl-client-* variables, and the http-level headers', () => {
      const result = model({
        [AUTH_TLS_SECRET]: 'default/client-ca',
        [AUTH_TLS_VERIFY_DEPTH]: '2',
        [AUTH_TLS_PASS_CERTIFICATE]: 'true',
      });
      assert.deepEqual(result.problems, []);
      const file = result.model.files.find((f) => f.name.startsWith('auth-tls-ca.crt-'))!;
      assert.equal(file.content, ca.cert);
      const text = render(result.model);
      const head = serverHead(text, 'portal.example.com');
      for (const line of [
        `ssl_client_certificate "/srv/it/files/${file.name}";`,
        'ssl_verify_client on;',
        'ssl_verify_depth 2;',
        'set $ingress_templater_ssl_client_verify $ssl_client_verify;',
        'set $ingress_templater_ssl_client_cert $ssl_client_escaped_cert;',
      ])
        assert.ok(head.includes(line), `${line}\n${head}`);
      for (const line of [
        'map $https $ingress_templater_ssl_client_verify { default ""; }',
        'proxy_set_header ssl-client-verify $ingress_templater_ssl_client_verify;',
        'proxy_set_header ssl-client-cert $ingress_templater_ssl_client_cert;',
      ])
        assert.ok(text.includes(line), line);
      // other servers neither verify nor set the variables
      const catchAll = text.slice(text.indexOf('## start server _'), text.indexOf('## end server _'));
      assert.doesNotMatch(catchAll, /ssl_verify_client|ssl_client/);
    });

    it('without pass-certificate the certificate variable stays empty', () => {
      const head = serverHead(
        render(model({ [AUTH_TLS_SECRET]: 'default/client-ca', [AUTH_TLS_VERIFY_CLIENT]: 'optional_no_ca' }).model),
        'portal.example.com',
      );
      assert.match(head, /ssl_verify_client optional_no_ca;/);
      assert.doesNotMatch(head, /ssl_client_escaped_cert/);
    });

    it('serves the host over HTTPS only: plain HTTP is redirected even with ssl-redirect "false"', () => {
      const text = render(model({ [AUTH_TLS_SECRET]: 'default/client-ca', [SSL_REDIRECT]: 'false' }).model);
      // every location of the host redirects: its server listens for HTTPS only, plain HTTP to it is
      // answered by the server redirecting all such hosts
      assert.doesNotMatch(serverHead(text, 'portal.example.com'), /listen 127\.0\.0\.1:8080|return 308/);
      assert.match(
        text,
        /\n {8}server_name portal\.example\.com;\n {8}return 308 https:\/\/\$host\$ingress_templater_redirect_uri;\n/,
      );
      const off = render(
        model({ [AUTH_TLS_SECRET]: 'default/client-ca', [AUTH_TLS_VERIFY_CLIENT]: 'off', [SSL_REDIRECT]: 'false' })
          .model,
      );
      assert.doesNotMatch(serverHead(off, 'portal.example.com'), /return 308/);
      assert.doesNotMatch(locationBlock(off, 'portal.example.com', 'location "/"'), /return 308/);
      assert.match(serverHead(off, 'portal.example.com'), /ssl_verify_client off;/);
      assert.doesNotMatch(
        serverHead(off, 'portal.example.com'),
        /ingress_templater_ssl_client/,
        'verify off: the variables stay empty',
      );
    });

    it('applies per host: the oldest Ingress of the host with auth-tls decides, younger ones share it', () => {
      const younger = ingress({
        name: 'younger',
        created: '2024-02-01T00:00:00Z',
        annotations: { [AUTH_TLS_SECRET]: 'default/client-ca', [AUTH_TLS_VERIFY_CLIENT]: 'optional' },
        rules: [rule('portal.example.com', path('/api', 'web'))],
      });
      const text = render(model({ [AUTH_TLS_SECRET]: 'default/client-ca' }, [younger]).model);
      const head = serverHead(text, 'portal.example.com');
      assert.equal(head.match(/ssl_verify_client/g)?.length, 1);
      assert.match(head, /ssl_verify_client on;/);
    });

    it('an invalid auth-tls Ingress is denied (503) and not applied to its host', () => {
      const result = model({ [AUTH_TLS_SECRET]: 'default/client-ca', [AUTH_TLS_VERIFY_CLIENT]: 'maybe' });
      const text = render(result.model);
      assert.match(locationBlock(text, 'portal.example.com', 'location "/"'), /return 503;/);
      assert.doesNotMatch(text, /ssl_verify_client|maybe/);
    });

    it('nginx -t accepts it, in Lua and static mode', function () {
      this.timeout(30_000);
      const result = model({ [AUTH_TLS_SECRET]: 'default/client-ca', [AUTH_TLS_PASS_CERTIFICATE]: 'true' });
      assert.equal(nginxTest(result.model, 'static'), null);
      assert.equal(nginxTest(result.model, 'lua'), null);
    });
  });
});
