import assert from 'node:assert/strict';
import nodePath from 'node:path';
import type { Problem, Resource } from '../../../src/resources.js';
import {
  CANARY,
  CANARY_BY_COOKIE,
  CANARY_BY_HEADER,
  CANARY_BY_HEADER_PATTERN,
  CANARY_BY_HEADER_VALUE,
  CANARY_WEIGHT,
  CANARY_WEIGHT_TOTAL,
  isCanaryIngress,
  parseCanary,
  patternProblem,
} from '../../../src/model/annotations/canary.js';
import { applyCanaries } from '../../../src/model/canary-pass.js';
import { payloadFor } from '../../../src/nginx/endpoints.js';
import { loadTemplates } from '../../../src/render/index.js';
import type { RenderOptions } from '../../../src/render/index.js';
import {
  build,
  CONFIG_MAP_OPTION,
  configMap,
  endpoints,
  exact,
  ingress,
  path,
  problemsMatching,
  rule,
  service,
  show,
} from '../../helpers/resources.js';

const HOST = 'app.example.com';
const ing = (annotations: Record<string, string>) =>
  ingress({
    name: 'web-canary',
    annotations: { [CANARY]: 'true', ...annotations },
    rules: [rule(HOST, path('/', 'web-v2'))],
  });

function parse(annotations: Record<string, string>) {
  const problems: Problem[] = [];
  return { r: parseCanary(ing(annotations), problems), problems };
}

function rulesOf(annotations: Record<string, string>) {
  const { r: parsed, problems } = parse(annotations);
  assert.ok(parsed.ok, show(problems));
  return { rules: parsed.rules, problems };
}

/** One error naming the annotation, the value and the consequence. */
function refused(annotations: Record<string, string>, key: string) {
  const { r: parsed, problems } = parse(annotations);
  assert.equal(parsed.ok, false, `${key}=${JSON.stringify(annotations[key])} accepted`);
  const errors = problems.filter((p) => p.severity === 'error');
  assert.equal(errors.length, 1, show(problems));
  assert.equal(errors[0]!.field, `metadata.annotations["${key}"]`);
  assert.equal(errors[0]!.object, 'Ingress default/web-canary');
  assert.ok(errors[0]!.message.includes(JSON.stringify(annotations[key]).slice(0, 60)), errors[0]!.message);
  assert.match(errors[0]!.message, /the canary is not applied, the main Ingress keeps serving/);
}

// a main Ingress for app.example.com (/ and /api) and the Services of both versions
const base = (): Resource[] => [
  service({ name: 'web-v1' }),
  endpoints({ name: 'web-v1', subsets: [{ ready: ['10.0.1.1', '10.0.1.2'] }] }),
  service({ name: 'web-v2' }),
  endpoints({ name: 'web-v2', subsets: [{ ready: ['10.0.2.1'] }] }),
  service({ name: 'api' }),
  endpoints({ name: 'api', subsets: [{ ready: ['10.0.3.1'] }] }),
  ingress({
    name: 'web',
    created: '2025-01-01T00:00:00Z',
    rules: [rule(HOST, path('/', 'web-v1'), exact('/api', 'api'))],
  }),
];
const canaryIngress = (
  annotations: Record<string, string>,
  o: { name?: string; created?: string; paths?: ReturnType<typeof path>[]; host?: string } = {},
) =>
  ingress({
    name: o.name ?? 'web-canary',
    created: o.created ?? '2025-02-01T00:00:00Z',
    annotations: { [CANARY]: 'true', ...annotations },
    rules: [rule(o.host ?? HOST, ...(o.paths ?? [path('/', 'web-v2')]))],
  });
const backendNamed = (m: ReturnType<typeof build>['model'], name: string) => m.backends.find((b) => b.name === name);

describe('model/annotations/canary', () => {
  describe('parseCanary', () => {
    it('defaults: weight 0 of 100, no header, no cookie', () => {
      const { rules, problems } = rulesOf({});
      assert.deepEqual(rules, { weight: 0, weightTotal: 100 });
      assert.equal(problems.length, 0, show(problems));
    });

    it('reads every annotation', () => {
      assert.deepEqual(rulesOf({ [CANARY_WEIGHT]: '30' }).rules, { weight: 30, weightTotal: 100 });
      assert.deepEqual(rulesOf({ [CANARY_WEIGHT]: ' 100 ' }).rules, { weight: 100, weightTotal: 100 });
      assert.deepEqual(rulesOf({ [CANARY_WEIGHT]: '250', [CANARY_WEIGHT_TOTAL]: '1000' }).rules, {
        weight: 250,
        weightTotal: 1000,
      });
      assert.deepEqual(rulesOf({ [CANARY_WEIGHT]: '1', [CANARY_WEIGHT_TOTAL]: '3' }).rules, {
        weight: 1,
        weightTotal: 3,
      });
      assert.deepEqual(rulesOf({ [CANARY_BY_HEADER]: 'X-Canary', [CANARY_BY_COOKIE]: 'canary_on' }).rules, {
        weight: 0,
        weightTotal: 100,
        header: 'X-Canary',
        cookie: 'canary_on',
      });
      assert.deepEqual(rulesOf({ [CANARY_BY_HEADER]: 'X-Version', [CANARY_BY_HEADER_VALUE]: 'v2 beta' }).rules, {
        weight: 0,
        weightTotal: 100,
        header: 'X-Version',
        headerValue: 'v2 beta',
      });
      assert.deepEqual(
        rulesOf({ [CANARY_BY_HEADER]: 'X-User', [CANARY_BY_HEADER_PATTERN]: '^(beta|qa)-[0-9]+$' }).rules,
        { weight: 0, weightTotal: 100, header: 'X-User', headerPattern: '^(beta|qa)-[0-9]+$' },
      );
    });

    it('refuses invalid weights, naming the annotation and the value; the whole canary is left out', () => {
      for (const value of ['150', '101', '-1', 'abc', '30%', '3.5', '', '1e2', '0x10', '30;'])
        refused({ [CANARY_WEIGHT]: value }, CANARY_WEIGHT);
      refused({ [CANARY_WEIGHT]: '11', [CANARY_WEIGHT_TOTAL]: '10' }, CANARY_WEIGHT);
      for (const raw of ['0', '-5', 'many', '1000001', '12.5', ''])
        refused({ [CANARY_WEIGHT_TOTAL]: raw }, CANARY_WEIGHT_TOTAL);
    });

    it('refuses header names nginx cannot see and header values with control characters or nginx syntax around them', () => {
      for (const value of ['X_Canary', 'X Canary', 'X-Canary;', '', '-x', 'x'.repeat(65), 'X-Ca\nnary', 'x$y', 'ü'])
        refused({ [CANARY_BY_HEADER]: value }, CANARY_BY_HEADER);
      for (const raw of ['', ' v2', 'v2 ', 'a\nb', 'a\tb', 'x'.repeat(257), 'é', '\u0000'])
        refused({ [CANARY_BY_HEADER]: 'X-V', [CANARY_BY_HEADER_VALUE]: raw }, CANARY_BY_HEADER_VALUE);
      for (const given of ['a;b', 'a b', '', 'x'.repeat(65), 'a=b', 'a\nb'])
        refused({ [CANARY_BY_COOKIE]: given }, CANARY_BY_COOKIE);
      for (const notBool of ['yes', 'TRUE', '1', '']) refused({ [CANARY]: notBool }, CANARY);
    });

    it('header patterns: accepted in the syntax PCRE and JavaScript read alike, refused otherwise', () => {
      for (const pattern of [
        '^v2$',
        '^(beta|qa)-[0-9]+$',
        'a.*b',
        '^[a-z0-9._-]{3,16}$',
        '(?:x|y)+?z',
        '\\d{2}\\.\\d',
        '[^,]+',
        'foo(?!bar)',
        '(?=a)(b)+',
        '((a)|b)*',
        '\\bword\\b',
        'a{2,}',
        '[\\]\\-]',
        'semi;colon',
        '"quoted"',
        '$x',
        '[a-]',
        '[-a]',
      ]) {
        assert.equal(patternProblem(pattern), null, pattern);
      }
      const bad = [
        '',
        'x'.repeat(257),
        'a\nb',
        'a\tb',
        'é', // length, control and non-ASCII characters
        'a(',
        '(?<name>x)',
        '(?<=a)b',
        '(?i)abc',
        '(?P<n>x)', // does not compile in JS, or groups PCRE reads differently
        '\\1',
        '(a)\\1',
        '\\u0041',
        '\\x41',
        '\\p{L}',
        '\\Qa.b\\E',
        '\\k<n>',
        '\\cA',
        '\\N', // escapes that differ or are not needed
        '[\\d-z]',
        '[[:alpha:]]',
        '[]a]',
        'a{,3}',
        'a{2',
        'x}',
        'a]',
        '*a',
        'a**',
        'a++',
        '(*FAIL)',
        '^*',
        'a|*',
        '(?=a)*b',
        '(?!a){2}', // syntax that differs
        '\\',
      ];
      for (const refusedPattern of bad)
        assert.notEqual(patternProblem(refusedPattern), null, JSON.stringify(refusedPattern));
      refused({ [CANARY_BY_HEADER]: 'X-User', [CANARY_BY_HEADER_PATTERN]: '(?<=a)b' }, CANARY_BY_HEADER_PATTERN);
    });

    it('warns about annotations that have no effect', () => {
      const alone = rulesOf({ [CANARY_BY_HEADER_VALUE]: 'v2', [CANARY_BY_HEADER_PATTERN]: 'v' });
      assert.deepEqual(alone.rules, { weight: 0, weightTotal: 100 });
      assert.equal(
        problemsMatching(alone.problems, /has no effect without .*canary-by-header/).length,
        2,
        show(alone.problems),
      );
      const both = rulesOf({
        [CANARY_BY_HEADER]: 'X-V',
        [CANARY_BY_HEADER_VALUE]: 'v2',
        [CANARY_BY_HEADER_PATTERN]: 'v',
      });
      assert.deepEqual(both.rules, { weight: 0, weightTotal: 100, header: 'X-V', headerValue: 'v2' });
      assert.equal(
        problemsMatching(both.problems, /canary-by-header-value is set and takes precedence/).length,
        1,
        show(both.problems),
      );
      const other = rulesOf({
        'nginx.ingress.kubernetes.io/ssl-redirect': 'false',
        'nginx.ingress.kubernetes.io/load-balance': 'ewma',
        'nginx.ingress.kubernetes.io/whatever': 'x',
      });
      assert.deepEqual(
        other.problems.map((p) => [p.severity, p.field]),
        [
          ['warning', 'metadata.annotations["nginx.ingress.kubernetes.io/ssl-redirect"]'],
          ['warning', 'metadata.annotations["nginx.ingress.kubernetes.io/whatever"]'],
        ],
        "load-balance counts for the canary backend; the rest is the main Ingress's business",
      );
    });

    it('isCanaryIngress: "true", and invalid values (reported, never served as a main Ingress)', () => {
      const withCanary = (a?: string) => ingress({ name: 'x', annotations: a === undefined ? {} : { [CANARY]: a } });
      assert.equal(isCanaryIngress(withCanary('true')), true);
      assert.equal(isCanaryIngress(withCanary(' true ')), true);
      assert.equal(isCanaryIngress(withCanary('yes')), true);
      assert.equal(isCanaryIngress(withCanary('false')), false);
      assert.equal(isCanaryIngress(withCanary()), false);
    });
  });

  describe('the canary pass (buildModel)', () => {
    it('makes the canary backend the alternative of the main backend; no locations, no conflict', () => {
      const { model, problems } = build([
        ...base(),
        canaryIngress({ [CANARY_WEIGHT]: '30', [CANARY_BY_HEADER]: 'X-Canary' }),
      ]);
      assert.equal(problems.length, 0, show(problems));
      const server = model.servers.find((s) => s.host === HOST)!;
      assert.deepEqual(
        server.locations.map((l) => [l.path, l.backend, l.ingress]),
        [
          ['/api', 'default_api_80', 'default/web'],
          ['/', 'default_web-v1_80', 'default/web'],
        ],
      );
      assert.deepEqual(server.ingresses, ['default/web']);
      assert.deepEqual(backendNamed(model, 'default_web-v1_80')!.canary, {
        backend: 'default_web-v2_80',
        ingress: 'default/web-canary',
        weight: 30,
        weightTotal: 100,
        header: 'X-Canary',
      });
      assert.deepEqual(backendNamed(model, 'default_web-v2_80')!.endpoints, [{ address: '10.0.2.1', port: 8080 }]);
      assert.equal(backendNamed(model, 'default_web-v2_80')!.canary, undefined);
    });

    describe('tenant isolation: a canary of another namespace', () => {
      const evil = () => [
        service({ name: 'web-v2', namespace: 'evil' }),
        endpoints({ name: 'web-v2', namespace: 'evil', subsets: [{ ready: ['10.6.6.6'] }] }),
        ingress({
          name: 'takeover',
          namespace: 'evil',
          created: '2025-02-01T00:00:00Z',
          annotations: { [CANARY]: 'true', [CANARY_WEIGHT]: '100' },
          rules: [rule(HOST, path('/', 'web-v2'))],
        }),
      ];

      it('is refused: the main Ingress keeps all its traffic, the error names the canary Ingress, its path and the main Ingress', () => {
        const { model, problems } = build([...base(), ...evil()]);
        assert.equal(backendNamed(model, 'default_web-v1_80')!.canary, undefined);
        assert.ok(!model.backends.some((b) => b.namespace === 'evil'), 'no backend of the other namespace');
        const errors = problems.filter((p) => p.severity === 'error');
        assert.equal(errors.length, 1, show(problems));
        assert.equal(errors[0]!.object, 'Ingress evil/takeover');
        assert.equal(errors[0]!.field, `metadata.annotations["${CANARY}"]`);
        assert.match(
          errors[0]!.message,
          /spec\.rules\[0\]\.http\.paths\[0\] \(app\.example\.com Prefix \/\) is routed by Ingress default\/web of another namespace/,
        );
        assert.match(errors[0]!.message, /allow-cross-namespace-canary/);
      });

      it('applies with the settings ConfigMap key allow-cross-namespace-canary: "true" (the behaviour of ingress-nginx)', () => {
        const { model, problems } = build(
          [...base(), ...evil(), configMap({ 'allow-cross-namespace-canary': 'true' })],
          CONFIG_MAP_OPTION,
        );
        assert.equal(problems.filter((p) => p.severity === 'error').length, 0, show(problems));
        assert.equal(backendNamed(model, 'default_web-v1_80')!.canary?.backend, 'evil_web-v2_80');
        assert.equal(backendNamed(model, 'default_web-v1_80')!.canary?.weight, 100);
      });
    });

    it('is the same whichever Ingress is older, and whatever the input order', () => {
      const older = build([...base(), canaryIngress({ [CANARY_WEIGHT]: '10' }, { created: '2020-01-01T00:00:00Z' })]);
      assert.equal(older.problems.length, 0, show(older.problems));
      assert.equal(backendNamed(older.model, 'default_web-v1_80')!.canary?.weight, 10);
      const reversed = build(
        [canaryIngress({ [CANARY_WEIGHT]: '10' }, { created: '2020-01-01T00:00:00Z' }), ...base()].reverse(),
      );
      assert.deepEqual(reversed.model, older.model);
    });

    it('reports a canary without a main Ingress for its host and path, and serves nothing for it', () => {
      const { model, problems } = build([
        ...base(),
        canaryIngress({ [CANARY_WEIGHT]: '50' }, { paths: [path('/', 'web-v2'), path('/beta', 'web-v2')] }),
        canaryIngress({}, { name: 'lost', host: 'other.example.com' }),
      ]);
      const errors = problems.filter((p) => p.severity === 'error');
      assert.deepEqual(
        errors.map((p) => [p.object, p.field]),
        [
          ['Ingress default/lost', 'spec.rules[0].http.paths[0].path'],
          ['Ingress default/web-canary', 'spec.rules[0].http.paths[1].path'],
        ],
        show(problems),
      );
      assert.match(errors[1]!.message, /no main Ingress routes app\.example\.com Prefix \/beta/);
      assert.equal(
        model.servers.some((s) => s.host === 'other.example.com'),
        false,
      );
      assert.equal(
        model.servers.find((s) => s.host === HOST)!.locations.some((l) => l.path === '/beta'),
        false,
      );
      assert.equal(
        backendNamed(model, 'default_web-v1_80')!.canary?.weight,
        50,
        'the matching path still gets its canary',
      );
      // Exact and Prefix are different rules
      const wrongType = build([...base(), canaryIngress({}, { paths: [path('/api', 'web-v2')] })]);
      assert.equal(
        problemsMatching(wrongType.problems, /no main Ingress routes app\.example\.com Prefix \/api/).length,
        1,
        show(wrongType.problems),
      );
      const rightType = build([...base(), canaryIngress({}, { paths: [exact('/api', 'web-v2')] })]);
      assert.equal(rightType.problems.length, 0, show(rightType.problems));
    });

    it('an invalid canary annotation: an error naming it, the canary is not applied, the main serves as before', () => {
      const plain = build(base()).model;
      for (const [key, value] of [
        [CANARY_WEIGHT, '150'],
        [CANARY_WEIGHT, 'abc'],
        [CANARY_BY_HEADER, 'X_C'],
        [CANARY, 'yes'],
      ] as const) {
        const { model, problems } = build([...base(), canaryIngress({ [key]: value })]);
        assert.equal(problems.length, 1, show(problems));
        assert.equal(problems[0]!.severity, 'error');
        assert.equal(problems[0]!.field, `metadata.annotations["${key}"]`);
        assert.deepEqual(model, plain, `${key}=${value}: the model is the one without the canary`);
      }
    });

    it('an invalid balancing annotation on a canary leaves the canary out too, saying so', () => {
      const { model, problems } = build([
        ...base(),
        canaryIngress({ [CANARY_WEIGHT]: '50', 'nginx.ingress.kubernetes.io/load-balance': 'fastest' }),
      ]);
      assert.equal(problems.length, 1, show(problems));
      assert.equal(problems[0]!.field, 'metadata.annotations["nginx.ingress.kubernetes.io/load-balance"]');
      assert.match(
        problems[0]!.message,
        /invalid value "fastest": .*; the canary is not applied, the main Ingress keeps serving all traffic$/,
      );
      assert.deepEqual(model, build(base()).model);
    });

    it('one canary per backend: a younger second canary is reported', () => {
      const second = canaryIngress(
        { [CANARY_WEIGHT]: '90' },
        { name: 'web-canary-2', created: '2025-03-01T00:00:00Z' },
      );
      const { model, problems } = build([...base(), canaryIngress({ [CANARY_WEIGHT]: '10' }), second]);
      assert.equal(problems.length, 1, show(problems));
      assert.equal(problems[0]!.object, 'Ingress default/web-canary-2');
      assert.match(problems[0]!.message, /already has the canary default_web-v2_80 of Ingress default\/web-canary/);
      assert.equal(backendNamed(model, 'default_web-v1_80')!.canary?.weight, 10);
    });

    it('warns that the canary also splits other paths proxied to the same main backend', () => {
      const other = build([
        ...base(),
        ingress({
          name: 'other',
          created: '2025-01-02T00:00:00Z',
          rules: [rule('b.example.com', path('/shop', 'web-v1'))],
        }),
        canaryIngress({ [CANARY_WEIGHT]: '10' }),
      ]);
      const problems = problemsMatching(
        other.problems,
        /the canary applies to backend default_web-v1_80 wherever it is used/,
      );
      assert.equal(problems.length, 1, show(other.problems));
      assert.match(problems[0]!.message, /b\.example\.com \/shop \(Ingress default\/other\)/);
      assert.doesNotMatch(problems[0]!.message, /app\.example\.com/, 'the path the canary names is not listed');
    });

    it('a missing canary Service or one without endpoints is reported; the main backend serves', () => {
      const missing = build([...base(), canaryIngress({ [CANARY_WEIGHT]: '10' }, { paths: [path('/', 'web-v3')] })]);
      assert.equal(
        problemsMatching(missing.problems, /Service default\/web-v3 not found; the canary is not applied/).length,
        1,
        show(missing.problems),
      );
      assert.equal(backendNamed(missing.model, 'default_web-v1_80')!.canary, undefined);
      const empty = build([
        ...base(),
        service({ name: 'web-v3' }),
        canaryIngress({ [CANARY_WEIGHT]: '10' }, { paths: [path('/', 'web-v3')] }),
      ]);
      assert.equal(
        problemsMatching(empty.problems, /canary backend default_web-v3_80 has no ready endpoints/).length,
        1,
        show(empty.problems),
      );
      assert.equal(
        backendNamed(empty.model, 'default_web-v1_80')!.canary?.backend,
        'default_web-v3_80',
        'attached: endpoints may arrive by push',
      );
    });

    it('a canary naming the main Service itself, or a main without a backend, is reported', () => {
      const self = build([...base(), canaryIngress({}, { paths: [path('/', 'web-v1')] })]);
      assert.equal(
        problemsMatching(self.problems, /is the main backend default_web-v1_80 itself/).length,
        1,
        show(self.problems),
      );
      const noMain = build([
        service({ name: 'web-v2' }),
        ingress({ name: 'web', rules: [rule(HOST, path('/', 'nowhere'))] }),
        canaryIngress({}),
      ]);
      assert.equal(
        problemsMatching(noMain.problems, /has no usable backend .*the canary is not applied/).length,
        1,
        show(noMain.problems),
      );
    });

    it('static balancer: validated, then a warning that canaries need the Lua balancer; nothing applied', () => {
      const { model, problems } = build([...base(), canaryIngress({ [CANARY_WEIGHT]: '10' })], { balancer: 'static' });
      assert.equal(problems.length, 1, show(problems));
      assert.equal(problems[0]!.severity, 'warning');
      assert.match(problems[0]!.message, /needs the Lua balancer .* main backend serves all traffic/);
      assert.deepEqual(model, build(base(), { balancer: 'static' }).model);
      const bad = build([...base(), canaryIngress({ [CANARY_WEIGHT]: '101' })], { balancer: 'static' });
      assert.deepEqual(
        bad.problems.map((p) => p.severity),
        ['error'],
      );
    });

    it('canary-* on an Ingress that is not a canary: a warning each, and it serves as usual', () => {
      const res = [
        ...base().slice(0, 4),
        ingress({
          name: 'web',
          annotations: { [CANARY]: 'false', [CANARY_WEIGHT]: '50', [CANARY_BY_HEADER]: 'X' },
          rules: [rule(HOST, path('/', 'web-v1'))],
        }),
      ];
      const { model, problems } = build(res);
      assert.deepEqual(
        problems.map((p) => [p.severity, p.field]),
        [
          ['warning', `metadata.annotations["${CANARY_WEIGHT}"]`],
          ['warning', `metadata.annotations["${CANARY_BY_HEADER}"]`],
        ],
        show(problems),
      );
      assert.equal(model.servers.find((s) => s.host === HOST)!.locations[0]!.denied, null);
    });

    it("ignores a canary's defaultBackend with a warning; its balancing annotations apply to its own backend", () => {
      const other = ingress({
        name: 'web-canary',
        created: '2025-02-01T00:00:00Z',
        defaultBackend: { service: { name: 'web-v2', port: { number: 80 } } },
        annotations: { [CANARY]: 'true', 'nginx.ingress.kubernetes.io/load-balance': 'ewma' },
        rules: [rule(HOST, path('/', 'web-v2'))],
      });
      const { model, problems } = build([...base(), other]);
      assert.deepEqual(
        problems.map((p) => p.field),
        ['spec.defaultBackend'],
        show(problems),
      );
      assert.equal(backendNamed(model, 'default_web-v2_80')!.balance.loadBalance, 'ewma');
      assert.equal(model.servers.find((s) => s.host === '')!.fallback.backend, null);
    });

    it('applyCanaries leaves the model it is given untouched', () => {
      const built = build(base());
      const before = JSON.stringify(built.model);
      const problems: Problem[] = [];
      const lookup = {
        service: (_ns: string, name: string) => (name === 'web-v2' ? (base()[2] as never) : undefined),
        endpoints: () => undefined,
        slices: () => [],
        resolved: () => undefined,
      };
      const out = applyCanaries(
        built.model,
        { ingresses: [canaryIngress({ [CANARY_WEIGHT]: '5' })], lookup, settings: built.model.settings },
        problems,
      );
      assert.equal(JSON.stringify(built.model), before);
      assert.equal(out.backends.find((b) => b.name === 'default_web-v1_80')!.canary?.weight, 5, show(problems));
    });
  });

  describe('payload and rendering', () => {
    it('payloadFor: the main backend carries the canary, optional fields omitted', () => {
      const body = JSON.parse(
        payloadFor(build([...base(), canaryIngress({ [CANARY_WEIGHT]: '30', [CANARY_BY_COOKIE]: 'canary_on' })]).model),
      );
      const main = body.backends.find((b: { name: string }) => b.name === 'default_web-v1_80');
      assert.deepEqual(main.canary, {
        backend: 'default_web-v2_80',
        weight: 30,
        weightTotal: 100,
        cookie: 'canary_on',
      });
      assert.ok(body.backends.some((b: { name: string }) => b.name === 'default_web-v2_80'));
      const full = JSON.parse(
        payloadFor(
          build([
            ...base(),
            canaryIngress({
              [CANARY_BY_HEADER]: 'X-U',
              [CANARY_BY_HEADER_PATTERN]: '^b$',
              [CANARY_WEIGHT_TOTAL]: '1000',
            }),
          ]).model,
        ),
      );
      assert.deepEqual(full.backends.find((b: { name: string }) => b.name === 'default_web-v1_80').canary, {
        backend: 'default_web-v2_80',
        weight: 0,
        weightTotal: 1000,
        header: 'X-U',
        headerPattern: '^b$',
      });
    });

    const options = (balancer: 'lua' | 'static'): RenderOptions => ({
      prefix: '/srv/it',
      listenAddress: '*',
      httpPort: 8080,
      httpsPort: 8443,
      internalPort: 10246,
      defaultCertificate: nodePath.join('/srv/it', 'ssl', 'default.pem'),
      features: { tempPaths: [] },
      version: '0.1.0',
      balancer,
      luaDir: '/srv/it/lua',
      luaModules: [],
    });

    it('changing weights, headers or cookies changes the push, never nginx.conf (Lua mode)', () => {
      const renderer = loadTemplates();
      const variants = (
        [
          { [CANARY_WEIGHT]: '0' },
          { [CANARY_WEIGHT]: '100' },
          { [CANARY_WEIGHT]: '30', [CANARY_BY_HEADER]: 'X-Canary' },
          {
            [CANARY_BY_HEADER]: 'X-V',
            [CANARY_BY_HEADER_VALUE]: 'v2',
            [CANARY_BY_COOKIE]: 'c',
            [CANARY_WEIGHT_TOTAL]: '1000',
            [CANARY_WEIGHT]: '999',
          },
        ] as Record<string, string>[]
      ).map((a) => build([...base(), canaryIngress(a)]));
      for (const result of variants) assert.equal(result.problems.length, 0, show(result.problems));
      const texts = variants.map((v) => renderer.render(v.model, options('lua')).text);
      for (const trimmed of texts) assert.equal(trimmed, texts[0]);
      const payloads = new Set(variants.map((v) => payloadFor(v.model)));
      assert.equal(payloads.size, variants.length, 'every variant is a different push');
      // adding the canary at all does not change the text either (no extra hooks needed here)
      assert.equal(renderer.render(build(base()).model, options('lua')).text, texts[0]);
      assert.match(texts[0]!, /proxy_pass http:\/\/upstream_balancer;/);
    });

    it('a canary backend with cookie affinity or ewma gets the main locations the Lua phases it needs', () => {
      const renderer = loadTemplates();
      const sticky = build([
        ...base(),
        canaryIngress({ [CANARY_WEIGHT]: '10', 'nginx.ingress.kubernetes.io/affinity': 'cookie' }),
      ]);
      assert.equal(sticky.problems.length, 0, show(sticky.problems));
      const text = renderer.render(sticky.model, options('lua')).text;
      assert.match(text, /set \$proxy_upstream_name "default_web-v1_80";\n\s+rewrite_by_lua_block/);
      const ewma = build([
        ...base(),
        canaryIngress({ [CANARY_WEIGHT]: '10', 'nginx.ingress.kubernetes.io/load-balance': 'ewma' }),
      ]);
      assert.match(renderer.render(ewma.model, options('lua')).text, /log_by_lua_block/);
      assert.doesNotMatch(
        renderer.render(build(base()).model, options('lua')).text,
        /rewrite_by_lua_block|log_by_lua_block/,
      );
    });
  });
});
