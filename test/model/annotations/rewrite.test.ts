import assert from 'node:assert/strict';
import type { AnnotationContext } from '../../../src/model/annotations/index.js';
import { SUPPORTED } from '../../../src/model/annotations/index.js';
import {
  APP_ROOT,
  isRegexIngress,
  regexPathProblem,
  REWRITE_KEYS,
  REWRITE_TARGET,
  rewriteFamily,
  USE_REGEX,
} from '../../../src/model/annotations/rewrite.js';
import type { Model, Server } from '../../../src/model/index.js';
import { regex, target, UnsafeValueError } from '../../../src/render/escape.js';
import { escapeRegex } from '../../../src/render/view.js';
import { DEFAULT_SETTINGS } from '../../../src/model/settings.js';
import { isIngressPath, isRegexPath } from '../../../src/syntax.js';
import type { Problem, IngressPath } from '../../../src/resources.js';
import { build, endpoints, exact, ingress, path, rule, service, show } from '../../helpers/resources.js';
import { nginxAccepts, renderText } from './nginx-check.js';

const ctx: AnnotationContext = {
  settings: { ...DEFAULT_SETTINGS },
  secret: () => undefined,
  configMap: () => undefined,
  file: (n) => n,
};
const ing = (annotations: Record<string, string>) =>
  ingress({ name: 'web', namespace: 'shop', annotations, rules: [rule('a.example.com', path('/', 'web'))] });

const parse = (annotations: Record<string, string>) => {
  const problems: Problem[] = [];
  const location = rewriteFamily.location!(ing(annotations), ctx, problems);
  const server = rewriteFamily.server!(ing(annotations), ctx, []);
  return { location, server, problems };
};

const app = [service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })];
const impl = (p: string) => path(p, 'web', 80, 'ImplementationSpecific');

const server = (model: Model, host: string): Server => {
  const srv = model.servers.find((x) => x.host === host);
  assert.ok(srv, `no server ${host}`);
  return srv;
};

/** The "location ..." lines of one server block, in order. */
function locationLines(text: string, host: string): string[] {
  const start = text.indexOf(`## start server ${host}\n`);
  const end = text.indexOf(`## end server ${host}\n`);
  assert.ok(start >= 0 && end > start, `no server block for ${host}`);
  return text
    .slice(start, end)
    .split('\n')
    .filter((l) => /^\s*location /.test(l))
    .map((l) => l.trim());
}

/** The block of the location whose line starts with `head`. */
function block(text: string, head: string): string {
  const index = text.indexOf(`location ${head}`);
  assert.ok(index >= 0, `no location ${head} in:\n${text}`);
  return text.slice(index, text.indexOf('\n        }\n', index));
}

const escapeForRe = (s: string) => s.replace(/[[\]().*+?^$|\\{}]/g, '\\$&');

describe('model/annotations/rewrite', () => {
  it('every key is a supported annotation', () => {
    for (const key of REWRITE_KEYS) assert.ok(SUPPORTED.has(key), key);
    assert.deepEqual([...REWRITE_KEYS].sort(), [APP_ROOT, REWRITE_TARGET, USE_REGEX].sort());
  });

  describe('values', () => {
    it('sets nothing without its annotations; the paths are not regexes', () => {
      assert.deepEqual(parse({}), { location: undefined, server: undefined, problems: [] });
      assert.equal(isRegexIngress(ing({})), false);
      assert.equal(isRegexIngress(ing({ [USE_REGEX]: 'false' })), false);
    });

    it('use-regex "true" or any rewrite-target makes the paths regexes', () => {
      assert.equal(isRegexIngress(ing({ [USE_REGEX]: 'true' })), true);
      assert.equal(isRegexIngress(ing({ [REWRITE_TARGET]: '/' })), true);
      assert.equal(
        isRegexIngress(ing({ [REWRITE_TARGET]: '/', [USE_REGEX]: 'false' })),
        true,
        'rewrite-target implies regex, as in ingress-nginx',
      );
      // an invalid value still counts, so the regex paths of that Ingress exist and answer 503
      assert.equal(isRegexIngress(ing({ [USE_REGEX]: 'yes' })), true);
      assert.equal(isRegexIngress(ing({ [REWRITE_TARGET]: '/a;b' })), true);
    });

    it('accepts rewrite targets with captures $1-$9, in the format of ingress-nginx', () => {
      for (const value of ['/', '/$2', '/$1/$2', '/api/$1', '$1', '/a-b_c.d~e/f:g', ' /$1 ']) {
        const { location, problems } = parse({ [REWRITE_TARGET]: value });
        assert.deepEqual(location, { target: value.trim() }, value);
        assert.deepEqual(problems, [], value);
      }
    });

    it('refuses targets that could carry nginx syntax or variables, naming the Ingress, the annotation and the value', () => {
      for (const value of [
        '/a;b',
        '/x\nproxy_pass http://evil',
        '/$host',
        '/${1}',
        '/$0',
        '/$',
        'http://evil.example/',
        '/a b',
        '/"a"',
        "/a'",
        '/a{b}',
        '/a\\b',
        '',
        'relative',
        '/?q=$1',
        '/#x',
      ]) {
        const { location, problems } = parse({ [REWRITE_TARGET]: value });
        assert.equal(location, undefined, value);
        assert.equal(problems.length, 1, `${JSON.stringify(value)}: ${show(problems)}`);
        assert.equal(problems[0]!.severity, 'error');
        assert.equal(problems[0]!.object, 'Ingress shop/web');
        assert.equal(problems[0]!.field, `metadata.annotations["${REWRITE_TARGET}"]`);
        assert.match(problems[0]!.message, new RegExp(escapeForRe(JSON.stringify(value).slice(0, 40))));
      }
    });

    it('use-regex takes "true" or "false" only', () => {
      assert.deepEqual(parse({ [USE_REGEX]: 'true' }).problems, []);
      for (const value of ['yes', 'True', '1', '']) {
        const { problems } = parse({ [USE_REGEX]: value });
        assert.equal(problems.length, 1, value);
        assert.equal(problems[0]!.field, `metadata.annotations["${USE_REGEX}"]`);
      }
    });

    it('app-root: an absolute path other than "/", for the server; an invalid one is an error of the location', () => {
      assert.deepEqual(parse({ [APP_ROOT]: '/app1' }), {
        location: undefined,
        server: { appRoot: '/app1' },
        problems: [],
      });
      assert.deepEqual(parse({ [APP_ROOT]: '/a/b-c_d.e~f' }).server, { appRoot: '/a/b-c_d.e~f' });
      for (const value of [
        '/',
        'app',
        'http://example.com/app',
        '/a;b',
        '/a b',
        '/$uri',
        '/a"',
        '/a\nb',
        '/a?x=1',
        '',
      ]) {
        const { location, server: srv, problems } = parse({ [APP_ROOT]: value });
        assert.equal(location, undefined, value);
        assert.equal(srv, undefined, value);
        assert.equal(problems.length, 1, `${JSON.stringify(value)}: ${show(problems)}`);
        assert.equal(problems[0]!.field, `metadata.annotations["${APP_ROOT}"]`);
      }
    });
  });

  describe('regex paths', () => {
    it('syntax: regex metacharacters are allowed; nothing that leaves a quoted string or looks like a variable', () => {
      for (const pattern of [
        '/something(/|$)(.*)',
        '/api/v[0-9]+/(.*)',
        '/a\\.b',
        '/(foo|bar)$',
        '/x?',
        '/^a',
        '/a\\$b',
        '/a\\\\b',
        '/\\d+\\/x',
        '/(?:a|b)',
        '/(?!x)',
        '/api/v[0-9]{3}',
        '/a{2}',
      ]) {
        assert.ok(isRegexPath(pattern), pattern);
        assert.ok(isIngressPath(pattern), pattern);
      }
      for (const refusedPath of [
        '/a}',
        '/a;b',
        '/a b',
        '/a"',
        "/a'",
        '/a\nb',
        '/a\tb',
        '/a#b',
        '/$host',
        '/a$b',
        '/${x}',
        '/a\\',
        '/a\\nb',
        '/a\\x41',
        '/[]',
        '/[^]',
        'a',
        '',
        '/caf\u00e9',
        '/a`b',
        '/a<b',
        `/${'a'.repeat(2048)}`,
      ]) {
        assert.equal(isRegexPath(refusedPath), false, JSON.stringify(refusedPath));
      }
      // plain paths stay plain paths; the schema takes both
      assert.ok(isIngressPath('/plain/path'));
    });

    it('a regex path must compile (checked with a JS RegExp)', () => {
      assert.equal(regexPathProblem('/something(/|$)(.*)'), null);
      assert.match(regexPathProblem('/a(b')!, /not a valid regular expression/);
      assert.match(regexPathProblem('/a)')!, /not a valid regular expression/);
      assert.match(regexPathProblem('/[a')!, /not a valid regular expression/);
      assert.match(regexPathProblem('/(?i)a')!, /not a valid regular expression/);
      assert.match(regexPathProblem('/a**')!, /not a valid regular expression/);
    });

    it('the Ingress with rewrite-target has regex locations with the rewrite; plain Ingresses of the host stay plain in the model', () => {
      const { model, problems } = build([
        ...app,
        ingress({
          name: 'rw',
          created: '2024-01-01T00:00:00Z',
          annotations: { [REWRITE_TARGET]: '/$2' },
          rules: [rule('a.example.com', impl('/something(/|$)(.*)'))],
        }),
        ingress({
          name: 'plain',
          created: '2024-01-02T00:00:00Z',
          rules: [rule('a.example.com', path('/foo', 'web')), rule('b.example.com', path('/foo', 'web'))],
        }),
      ]);
      const srv = server(model, 'a.example.com');
      const rw = srv.locations.find((l) => l.ingress === 'default/rw')!;
      assert.equal(rw.match, 'regex');
      assert.equal(rw.path, '/something(/|$)(.*)', 'a regex path is kept as written');
      assert.deepEqual(rw.ann.rewrite, { target: '/$2', regex: '(?i)/something(/|$)(.*)' });
      assert.equal(srv.locations.find((l) => l.ingress === 'default/plain')!.match, 'prefix');
      assert.equal(server(model, 'b.example.com').locations[0]!.match, 'prefix');
      assert.equal(problems.filter((p) => p.severity === 'error').length, 0, show(problems));
    });

    it('no rewrite when the path is the target itself, as in ingress-nginx', () => {
      const { model } = build([
        ...app,
        ingress({
          name: 'rw',
          annotations: { [REWRITE_TARGET]: '/' },
          rules: [rule('a.example.com', path('/', 'web'), path('/x', 'web'))],
        }),
      ]);
      const srv = server(model, 'a.example.com');
      assert.equal(srv.locations.find((l) => l.path === '/')!.ann.rewrite, undefined);
      assert.deepEqual(srv.locations.find((l) => l.path === '/x')!.ann.rewrite, { target: '/', regex: '(?i)/x' });
    });

    it('a regex path without use-regex is an error and that path is left out; the others are served', () => {
      const { model, problems } = build([
        ...app,
        ingress({ name: 'plain', rules: [rule('a.example.com', path('/ok', 'web'), impl('/v[0-9]+/(.*)'))] }),
      ]);
      assert.deepEqual(
        server(model, 'a.example.com').locations.map((l) => l.path),
        ['/ok'],
      );
      const errors = problems.filter((p) => p.severity === 'error');
      assert.equal(errors.length, 1, show(problems));
      assert.equal(errors[0]!.field, 'spec.rules[0].http.paths[1].path');
      assert.match(
        errors[0]!.message,
        /is a regular expression, which needs the annotation nginx\.ingress\.kubernetes\.io\/use-regex: "true"/,
      );
    });

    it('a regex path that does not compile is an error and that path is left out', () => {
      const { model, problems } = build([
        ...app,
        ingress({
          name: 'rx',
          annotations: { [USE_REGEX]: 'true' },
          rules: [rule('a.example.com', impl('/a(b'), impl('/ok/(.*)'))],
        }),
      ]);
      assert.deepEqual(
        server(model, 'a.example.com').locations.map((l) => l.path),
        ['/ok/(.*)'],
      );
      assert.match(show(problems), /\/a\(b not a valid regular expression.*this path is ignored/);
    });

    it('an invalid rewrite-target is ignored with a warning (as ingress-nginx): the regex path proxies unrewritten', () => {
      const { model, problems } = build([
        ...app,
        ingress({
          name: 'bad',
          created: '2024-01-01T00:00:00Z',
          annotations: { [REWRITE_TARGET]: '/x;return 200' },
          rules: [rule('a.example.com', impl('/bad(/|$)(.*)'))],
        }),
        ingress({
          name: 'good',
          created: '2024-01-02T00:00:00Z',
          rules: [rule('a.example.com', path('/good', 'web'))],
        }),
      ]);
      assert.match(show(problems), /rewrite-target.*invalid value "\/x;return 200"/);
      const srv = server(model, 'a.example.com');
      assert.match(show(problems), /ignored, its default applies/);
      assert.equal(srv.locations.find((l) => l.ingress === 'default/bad')!.denied, null);
      assert.equal(srv.locations.find((l) => l.ingress === 'default/good')!.denied, null);
      const text = renderText(model);
      const bad = block(text, '~* "^/bad(/|$)(.*)"');
      assert.doesNotMatch(bad, /return 503;|rewrite /);
      assert.match(bad, /proxy_pass/);
      assert.doesNotMatch(text, /x;return 200/);
      assert.doesNotMatch(block(text, '~* "^/good/"'), /return 503/);
    });

    it('an Exact regex path is anchored at both ends; a duplicate regex path of a younger Ingress is reported', () => {
      const { model, problems } = build([
        ...app,
        ingress({
          name: 'a',
          created: '2024-01-01T00:00:00Z',
          annotations: { [USE_REGEX]: 'true' },
          rules: [rule('a.example.com', impl('/r/(.*)'), exact('/e|f', 'web'))],
        }),
        ingress({
          name: 'b',
          created: '2024-01-02T00:00:00Z',
          annotations: { [USE_REGEX]: 'true' },
          rules: [rule('a.example.com', impl('/r/(.*)'))],
        }),
      ]);
      assert.match(show(problems), /already routed by Ingress default\/a/);
      const lines = locationLines(renderText(model), 'a.example.com');
      assert.ok(lines.includes('location ~* "^(?:/e|f)$" {'), lines.join('\n'));
      assert.equal(lines.filter((l) => l.includes('/r/(.*)')).length, 1);
    });
  });

  describe('rendering', () => {
    const rendered = (paths: { ann: Record<string, string>; paths: IngressPath[]; host?: string }[]) => {
      const { model, problems } = build([
        ...app,
        ...paths.map((p, i) =>
          ingress({
            name: `i${i}`,
            created: `2024-01-0${i + 1}T00:00:00Z`,
            annotations: p.ann,
            rules: [rule(p.host ?? 'a.example.com', ...p.paths)],
          }),
        ),
      ]);
      return { model, problems, text: renderText(model) };
    };

    it('renders ingress-nginx\'s rewrite: a ~* location anchored with "^" and rewrite "(?i)PATH" TARGET break', () => {
      const { text } = rendered([{ ann: { [REWRITE_TARGET]: '/$2' }, paths: [impl('/something(/|$)(.*)')] }]);
      const other = block(text, '~* "^/something(/|$)(.*)" {');
      assert.match(other, /\n\s+rewrite "\(\?i\)\/something\(\/\|\$\)\(\.\*\)" "\/\$2" break;\n/);
      assert.match(other, /proxy_pass http:\/\/default_web_80;/);
      assert.ok(other.indexOf('rewrite ') < other.indexOf('proxy_pass'), 'the rewrite comes before proxy_pass');
    });

    it('every path of the host becomes a case-insensitive regex; Prefix paths of plain Ingresses keep element-wise matching; longest first', () => {
      const { text } = rendered([
        { ann: { [USE_REGEX]: 'true' }, paths: [impl('/api/v[0-9]+/(.*)')] },
        {
          ann: {},
          paths: [
            path('/foo.bar', 'web'),
            path('/', 'web'),
            exact('/exact', 'web'),
            path('/exact', 'web'),
            path('/zz', 'web'),
          ],
        },
        { ann: {}, paths: [path('/foo', 'web')], host: 'other.example.com' },
      ]);
      assert.deepEqual(locationLines(text, 'a.example.com'), [
        'location ~* "^/api/v[0-9]+/(.*)" {',
        'location ~* "^/foo\\\\.bar/" {', // escaped literal dot, backslash doubled for nginx's string
        'location ~* "^/foo\\\\.bar$" {',
        'location ~* "^/exact/" {',
        'location ~* "^/exact$" {', // Exact owns "/exact"; the Prefix adds only "/exact/..."
        'location ~* "^/zz/" {',
        'location ~* "^/zz$" {',
        'location ~* "^/" {',
      ]);
      // another host is not affected
      assert.deepEqual(locationLines(text, 'other.example.com').slice(0, 2), [
        'location = "/foo" {',
        'location "/foo/" {',
      ]);
    });

    it('regex order: same length sorts by path descending, as ingress-nginx does', () => {
      const { text } = rendered([
        { ann: { [USE_REGEX]: 'true' }, paths: [impl('/a(.*)'), impl('/b(.*)'), impl('/cc')] },
      ]);
      assert.deepEqual(locationLines(text, 'a.example.com').slice(0, 3), [
        'location ~* "^/b(.*)" {',
        'location ~* "^/a(.*)" {',
        'location ~* "^/cc" {',
      ]);
    });

    it('the rewrite renders after every other family (its "break" would skip their set/if/return)', () => {
      const { text } = rendered([
        {
          ann: { [REWRITE_TARGET]: '/$1', 'nginx.ingress.kubernetes.io/permanent-redirect': 'https://example.org/' },
          paths: [impl('/r/(.*)')],
        },
      ]);
      const other = block(text, '~* "^/r/(.*)" {');
      assert.ok(other.indexOf('return 301') >= 0 && other.indexOf('return 301') < other.indexOf('rewrite '), other);
    });

    it('app-root: "/" of the host redirects 302 to the root, keeping scheme and host', () => {
      const { text } = rendered([{ ann: { [APP_ROOT]: '/app1' }, paths: [path('/', 'web')] }]);
      const start = text.indexOf('## start server a.example.com');
      const srv = text.slice(start, text.indexOf('\n        location ', start));
      assert.match(
        srv,
        /if \(\$uri = \/\) \{\n\s+set \$ingress_templater_app_root "\/app1";\n\s+return 302 \$scheme:\/\/\$best_http_host\$ingress_templater_app_root;\n\s+\}/,
      );
    });

    it('nginx -t accepts regex locations, rewrites, app-root and a denied regex Ingress', async function () {
      this.timeout(30_000);
      const { model } = rendered([
        {
          ann: { [REWRITE_TARGET]: '/$2' },
          paths: [impl('/something(/|$)(.*)'), impl('/a\\.b\\/(\\d+)'), exact('/x|y', 'web')],
        },
        { ann: { [USE_REGEX]: 'true', [APP_ROOT]: '/app' }, paths: [impl('/api/v[0-9]+/(.*)'), path('/', 'web')] },
        { ann: {}, paths: [path('/foo.bar', 'web'), exact('/exact', 'web')] },
        { ann: { [REWRITE_TARGET]: '/x;' }, paths: [impl('/denied(.*)')] },
        { ann: { [REWRITE_TARGET]: '/$1' }, paths: [impl('/(.*)')], host: 'b.example.com' },
      ]);
      await nginxAccepts(model);
    });
  });

  describe('helpers', () => {
    it('regex: quotes a regex and doubles backslashes, so PCRE sees it exactly', () => {
      assert.equal(regex('^/something(/|$)(.*)'), '"^/something(/|$)(.*)"');
      assert.equal(regex('(?i)/a\\.b'), '"(?i)/a\\\\.b"');
      assert.equal(regex('^/a\\\\n'), '"^/a\\\\\\\\n"');
    });

    it('regex: refuses what could end the string or the directive, and variables', () => {
      for (const value of [
        '/a"b',
        "/a'b",
        '/a;',
        '/a b',
        '/a\nb',
        '/a#',
        '/a`',
        '/$host',
        '/${x}',
        '/$1',
        '',
        'caf\u00e9',
        undefined,
        null,
        5,
        {},
      ]) {
        assert.throws(() => regex(value), UnsafeValueError, JSON.stringify(value));
      }
      // inside the double-quoted string a brace is no block: PCRE's repetitions pass as they are
      assert.equal(regex('/api/v[0-9]{3}'), '"/api/v[0-9]{3}"');
      assert.equal(regex('/a}'), '"/a}"');
    });

    it('target: a quoted replacement whose only variables are $1-$9', () => {
      assert.equal(target('/$2'), '"/$2"');
      assert.equal(target('$1'), '"$1"');
      assert.equal(target('/api/$1/$2?x=y&z'), '"/api/$1/$2?x=y&z"');
      for (const value of [
        '/$host',
        '/$0',
        '/${1}',
        '/a;',
        '/a b',
        '/a"',
        'http://x/',
        '$scheme://x',
        'a',
        '',
        '/a\\b',
        '/a{b}',
        '/a\n',
        5,
        undefined,
      ]) {
        assert.throws(() => target(value), UnsafeValueError, JSON.stringify(value));
      }
    });

    it('escapeRegex: a literal path matches only itself inside a regex', () => {
      for (const pattern of ['/foo.bar', '/a(b)', '/a*b+c', '/x']) {
        const re = new RegExp(`^${escapeRegex(pattern)}$`);
        assert.ok(re.test(pattern), pattern);
        assert.equal(re.test(pattern.replace(/[.*+()]/g, 'X')), pattern === '/x', pattern);
      }
    });
  });
});
