import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { certCoversHost, certificateFromSecret } from '../../src/model/certificates.js';
import type { Model, Server } from '../../src/model/index.js';
import type { Resource } from '../../src/resources.js';
import {
  b64,
  build,
  configMap,
  CONFIG_MAP_OPTION,
  endpoints,
  exact,
  ingress,
  makeCert,
  path,
  problemsMatching,
  rule,
  secret,
  service,
  show,
} from '../helpers/resources.js';
import type { TestCert } from '../helpers/resources.js';

const server = (m: Model, host: string): Server => m.servers.find((s) => s.host === host)!;
const app: Resource[] = [service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })];

describe('TLS', () => {
  let cafe: TestCert;
  let wildcard: TestCert;
  let other: TestCert;

  before(function () {
    this.timeout(30_000);
    cafe = makeCert(['cafe.example.com']);
    wildcard = makeCert(['*.example.com']);
    other = makeCert(['other.example.com']);
  });

  describe('certificateFromSecret', () => {
    it('accepts a valid kubernetes.io/tls Secret: chain then key, hashed, named namespace_secret', () => {
      const parsed = certificateFromSecret(secret({ name: 'cafe-secret', namespace: 'shop', cert: cafe }));
      assert.ok(parsed.ok, show(parsed.problems));
      assert.deepEqual(parsed.problems, []);
      assert.equal(parsed.cert.name, 'shop_cafe-secret');
      assert.match(
        parsed.cert.pem,
        /^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n[\s\S]+-----END PRIVATE KEY-----\n$/,
      );
      assert.equal(parsed.cert.hash, crypto.createHash('sha256').update(parsed.cert.pem).digest('hex'));
      assert.ok(Date.parse(parsed.cert.notAfter) > Date.now());
    });

    it('keeps only the PEM blocks, dropping text around them', () => {
      const parsed = certificateFromSecret(
        secret({ name: 's', crt: `subject=whatever\n${cafe.crt}trailing`, key: `# key\n${cafe.key}` }),
      );
      assert.ok(parsed.ok, show(parsed.problems));
      assert.doesNotMatch(parsed.cert.pem, /subject=|trailing|# key/);
    });

    it('keeps a whole chain', () => {
      const parsed = certificateFromSecret(secret({ name: 's', crt: cafe.crt + other.crt, key: cafe.key }));
      assert.ok(parsed.ok, show(parsed.problems));
      assert.equal(parsed.cert.pem.match(/BEGIN CERTIFICATE/g)?.length, 2);
    });

    it('warns about a Secret of another type but uses it', () => {
      const parsed = certificateFromSecret(secret({ name: 's', cert: cafe, type: 'Opaque' }));
      assert.ok(parsed.ok);
      assert.equal(parsed.problems.length, 1);
      assert.equal(parsed.problems[0]!.severity, 'warning');
      assert.equal(parsed.problems[0]!.field, 'type');
    });

    const bad: [string, () => Parameters<typeof secret>[0], RegExp, string][] = [
      ['tls.crt missing', () => ({ name: 's', data: { 'tls.key': b64(cafe.key) } }), /missing/, 'data["tls.crt"]'],
      ['tls.key missing', () => ({ name: 's', data: { 'tls.crt': b64(cafe.crt) } }), /missing/, 'data["tls.key"]'],
      [
        'bad base64',
        () => ({ name: 's', data: { 'tls.crt': '!!!not base64!!!', 'tls.key': b64(cafe.key) } }),
        /no PEM CERTIFICATE/,
        'data["tls.crt"]',
      ],
      ['not PEM', () => ({ name: 's', crt: 'hello', key: cafe.key }), /no PEM CERTIFICATE/, 'data["tls.crt"]'],
      ['no key', () => ({ name: 's', crt: cafe.crt, key: '' }), /exactly one PEM PRIVATE KEY/, 'data["tls.key"]'],
      [
        'two keys',
        () => ({ name: 's', crt: cafe.crt, key: cafe.key + other.key }),
        /exactly one PEM PRIVATE KEY/,
        'data["tls.key"]',
      ],
      [
        'garbage certificate',
        () => ({ name: 's', crt: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', key: cafe.key }),
        /does not parse/,
        'data["tls.crt"]',
      ],
      [
        'garbage key',
        () => ({ name: 's', crt: cafe.crt, key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }),
        /does not parse/,
        'data["tls.key"]',
      ],
      [
        'key of another certificate',
        () => ({ name: 's', crt: cafe.crt, key: other.key }),
        /does not match/,
        'data["tls.key"]',
      ],
    ];
    for (const [what, input, message, field] of bad) {
      it(`refuses a Secret with ${what}`, () => {
        const parsed = certificateFromSecret(secret(input()));
        assert.equal(parsed.ok, false);
        assert.equal(parsed.problems.length, 1, show(parsed.problems));
        assert.equal(parsed.problems[0]!.field, field);
        assert.equal(parsed.problems[0]!.object, 'Secret default/s');
        assert.match(parsed.problems[0]!.message, message);
      });
    }
  });

  describe('certCoversHost', () => {
    it('checks SANs, with a wildcard covering exactly one label', () => {
      const pem = (c: TestCert) => c.crt + c.key;
      assert.equal(certCoversHost(pem(cafe), 'cafe.example.com'), true);
      assert.equal(certCoversHost(pem(cafe), 'tea.example.com'), false);
      assert.equal(certCoversHost(pem(wildcard), 'tea.example.com'), true);
      assert.equal(certCoversHost(pem(wildcard), '*.example.com'), true);
      assert.equal(certCoversHost(pem(wildcard), 'a.b.example.com'), false);
      assert.equal(certCoversHost(pem(wildcard), 'example.com'), false);
      assert.equal(certCoversHost('not a pem', 'example.com'), false);
    });
  });

  describe('in the model', () => {
    const tlsIngress = (
      secretName: string | undefined,
      hosts: string[],
      ruleHosts = hosts,
      extra: Partial<Parameters<typeof ingress>[0]> = {},
    ) =>
      ingress({
        name: 'cafe',
        tls: [secretName === undefined ? { hosts } : { hosts, secretName }],
        rules: ruleHosts.map((h) => rule(h, path('/', 'web'))),
        ...extra,
      });

    it('serves a host named in spec.tls with the certificate of its Secret', () => {
      const { model, problems } = build([
        ...app,
        secret({ name: 'cafe-secret', cert: cafe }),
        tlsIngress('cafe-secret', ['cafe.example.com']),
      ]);
      assert.equal(problems.length, 0, show(problems));
      assert.equal(server(model, 'cafe.example.com').tls, 'default_cafe-secret');
      assert.equal(server(model, '').tls, null);
      assert.deepEqual(
        model.certificates.map((c) => c.name),
        ['default_cafe-secret'],
      );
    });

    const fallbacks: [string, () => Resource[], RegExp][] = [
      ['a missing Secret', () => [], /Secret default\/cafe-secret not found/],
      [
        'a Secret with bad base64',
        () => [secret({ name: 'cafe-secret', data: { 'tls.crt': '%%%', 'tls.key': '%%%' } })],
        /not a usable TLS certificate/,
      ],
      [
        'a key that does not match the certificate',
        () => [secret({ name: 'cafe-secret', crt: cafe.crt, key: other.key })],
        /not a usable TLS certificate/,
      ],
    ];
    for (const [what, extra, message] of fallbacks) {
      it(`falls back to the default certificate with a warning for ${what}`, () => {
        const { model, problems } = build([...app, ...extra(), tlsIngress('cafe-secret', ['cafe.example.com'])]);
        assert.equal(server(model, 'cafe.example.com').tls, 'default');
        assert.deepEqual(model.certificates, []);
        const reported = problemsMatching(problems, message);
        assert.equal(reported.length, 1, show(problems));
        assert.equal(reported[0]!.severity, 'warning');
        assert.equal(reported[0]!.object, 'Ingress default/cafe');
        assert.equal(reported[0]!.field, 'spec.tls[0].secretName');
        assert.match(reported[0]!.message, /default certificate/);
      });
    }

    it('reports a bad Secret once even when several Ingresses use it', () => {
      const { problems } = build([
        ...app,
        secret({ name: 's', crt: cafe.crt, key: other.key }),
        tlsIngress('s', ['a.example.com']),
        ingress({
          name: 'two',
          tls: [{ hosts: ['b.example.com'], secretName: 's' }],
          rules: [rule('b.example.com', path('/', 'web'))],
        }),
      ]);
      assert.equal(problemsMatching(problems, /does not match/).length, 1, show(problems));
      assert.equal(problemsMatching(problems, /not a usable TLS certificate/).length, 2, show(problems));
    });

    it('uses the default certificate for a TLS entry without secretName', () => {
      const { model, problems } = build([...app, tlsIngress(undefined, ['cafe.example.com'])]);
      assert.equal(problems.length, 0, show(problems));
      assert.equal(server(model, 'cafe.example.com').tls, 'default');
    });

    it('applies a TLS entry without hosts to the catch-all server', () => {
      const { model } = build([
        ...app,
        secret({ name: 's', cert: cafe }),
        ingress({ name: 'a', tls: [{ hosts: [], secretName: 's' }], rules: [rule(undefined, path('/', 'web'))] }),
      ]);
      assert.equal(server(model, '').tls, 'default_s');
    });

    it('lets a wildcard TLS host cover hosts one label below it, and no deeper', () => {
      const { model, problems } = build([
        ...app,
        secret({ name: 'star', cert: wildcard }),
        tlsIngress('star', ['*.example.com'], ['*.example.com', 'tea.example.com', 'a.b.example.com', 'example.com']),
      ]);
      assert.equal(server(model, '*.example.com').tls, 'default_star');
      assert.equal(server(model, 'tea.example.com').tls, 'default_star');
      assert.equal(server(model, 'a.b.example.com').tls, null);
      assert.equal(server(model, 'example.com').tls, null);
      assert.equal(problemsMatching(problems, /does not name host/).length, 0, show(problems));
    });

    it('prefers an exact TLS host over a wildcard one', () => {
      const { model } = build([
        ...app,
        secret({ name: 'star', cert: wildcard }),
        secret({ name: 'cafe', cert: cafe }),
        ingress({
          name: 'a',
          tls: [
            { hosts: ['*.example.com'], secretName: 'star' },
            { hosts: ['cafe.example.com'], secretName: 'cafe' },
          ],
          rules: [rule('cafe.example.com', path('/', 'web'))],
        }),
      ]);
      assert.equal(server(model, 'cafe.example.com').tls, 'default_cafe');
    });

    it('lets the oldest Ingress naming a host in spec.tls decide its certificate', () => {
      const { model } = build([
        ...app,
        secret({ name: 'cafe', cert: cafe }),
        secret({ name: 'other', cert: other }),
        ingress({
          name: 'young',
          created: '2024-02-01T00:00:00Z',
          tls: [{ hosts: ['cafe.example.com'], secretName: 'other' }],
          rules: [rule('cafe.example.com', path('/b', 'web'))],
        }),
        ingress({
          name: 'old',
          created: '2024-01-01T00:00:00Z',
          tls: [{ hosts: ['cafe.example.com'], secretName: 'cafe' }],
          rules: [rule('cafe.example.com', path('/a', 'web'))],
        }),
      ]);
      assert.equal(server(model, 'cafe.example.com').tls, 'default_cafe');
    });

    it('serves the default certificate to a host its certificate does not name, as ingress-nginx did, and says so on the Ingress', () => {
      const { model, problems } = build([
        ...app,
        secret({ name: 'cafe', cert: cafe }),
        tlsIngress('cafe', ['tea.example.com']),
      ]);
      assert.equal(server(model, 'tea.example.com').tls, 'default');
      const reported = problemsMatching(
        problems,
        /certificate of Secret default\/cafe does not name host tea\.example\.com; using the default certificate/,
      );
      assert.equal(reported.length, 1, show(problems));
      assert.equal(reported[0]!.object, 'Ingress default/cafe');
      assert.equal(reported[0]!.field, 'spec.tls[0].hosts[0]');
    });

    it('lets a younger Ingress whose certificate names the host win over an older one whose certificate does not', () => {
      const { model, problems } = build([
        ...app,
        secret({ name: 'cafe', cert: cafe }),
        secret({ name: 'other', cert: other }),
        ingress({
          name: 'old',
          created: '2024-01-01T00:00:00Z',
          tls: [{ hosts: ['cafe.example.com'], secretName: 'other' }],
          rules: [rule('cafe.example.com', path('/a', 'web'))],
        }),
        ingress({
          name: 'young',
          created: '2024-02-01T00:00:00Z',
          tls: [{ hosts: ['cafe.example.com'], secretName: 'cafe' }],
          rules: [rule('cafe.example.com', path('/b', 'web'))],
        }),
      ]);
      assert.equal(server(model, 'cafe.example.com').tls, 'default_cafe');
      assert.equal(problemsMatching(problems, /does not name host cafe\.example\.com/).length, 1, show(problems));
    });

    it('looks for the Secret in the namespace of the Ingress only', () => {
      const { model } = build([
        ...app,
        secret({ name: 'cafe', namespace: 'other', cert: cafe }),
        tlsIngress('cafe', ['cafe.example.com']),
      ]);
      assert.equal(server(model, 'cafe.example.com').tls, 'default');
    });

    describe('ssl-redirect', () => {
      const redirects = (resources: Resource[], opts = {}) => {
        const result = build(resources, opts);
        return { ...result, flags: server(result.model, 'cafe.example.com').locations.map((l) => l.sslRedirect) };
      };
      const annotated = (value?: string) =>
        ingress({
          name: 'cafe',
          tls: [{ hosts: ['cafe.example.com'] }],
          rules: [rule('cafe.example.com', path('/', 'web'), exact('/x', 'web'))],
          ...(value === undefined ? {} : { annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': value } }),
        });

      it('redirects by default', () => {
        assert.deepEqual(redirects([...app, annotated()]).flags, [true, true]);
      });

      it('follows the annotation', () => {
        assert.deepEqual(redirects([...app, annotated('false')]).flags, [false, false]);
        assert.deepEqual(redirects([...app, annotated('true')]).flags, [true, true]);
      });

      it('follows the ConfigMap setting, which the annotation overrides', () => {
        const cm = configMap({ 'ssl-redirect': 'false' });
        assert.deepEqual(redirects([...app, cm, annotated()], CONFIG_MAP_OPTION).flags, [false, false]);
        assert.deepEqual(redirects([...app, cm, annotated('true')], CONFIG_MAP_OPTION).flags, [true, true]);
      });

      it('reports an invalid annotation value, naming the annotation and the value, and keeps the default', () => {
        const result = redirects([...app, annotated('yes')]);
        assert.deepEqual(result.flags, [true, true]);
        assert.equal(result.problems.length, 1, show(result.problems));
        assert.equal(result.problems[0]!.severity, 'warning');
        assert.equal(result.problems[0]!.field, 'metadata.annotations["nginx.ingress.kubernetes.io/ssl-redirect"]');
        assert.match(result.problems[0]!.message, /"yes"/);
      });
    });
  });

  describe('--default-ssl-certificate', () => {
    it('registers its Secret as a certificate and names it as the default; hosts without one keep "default"', () => {
      const resources = [
        ...app,
        secret({ name: 'fallback', namespace: 'infra', cert: other }),
        ingress({
          name: 'shop',
          tls: [{ hosts: ['cafe.example.com'] }],
          rules: [rule('cafe.example.com', path('/', 'web'))],
        }),
      ];
      const { model, problems } = build(resources, { defaultSslCertificate: { namespace: 'infra', name: 'fallback' } });
      assert.deepEqual(problems, [], show(problems));
      assert.equal(model.defaultCertificate, 'infra_fallback');
      assert.deepEqual(
        model.certificates.map((cert) => cert.name),
        ['infra_fallback'],
      );
      assert.equal(server(model, 'cafe.example.com').tls, 'default');
      assert.equal(build(resources).model.defaultCertificate, undefined, 'without the flag, nothing changes');
    });

    it('an unusable Secret: a warning, and the generated certificate', () => {
      const resources = [...app, secret({ name: 'fallback', namespace: 'infra', crt: cafe.crt, key: other.key })];
      const { model, problems } = build(resources, { defaultSslCertificate: { namespace: 'infra', name: 'fallback' } });
      assert.equal(model.defaultCertificate, undefined);
      assert.deepEqual(model.certificates, []);
      const flag = problems.filter((problem) => problem.field === '--default-ssl-certificate');
      assert.equal(flag.length, 1, show(problems));
      assert.match(flag[0]!.message, /not a usable TLS certificate; the generated self-signed certificate/);
    });
  });
});
