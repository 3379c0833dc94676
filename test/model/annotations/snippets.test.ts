import assert from 'node:assert/strict';
import {
  CONFIGURATION_SNIPPET,
  SERVER_SNIPPET,
  denySnippets,
  forbiddenDirective as forbiddenDirectiveOf,
  snippetChecks,
  snippetShapeProblem,
} from '../../../src/model/annotations/snippets.js';
import type { SnippetConfig } from '../../../src/model/annotations/snippets.js';
import { parseSettings } from '../../../src/model/settings.js';
import type { Model } from '../../../src/model/index.js';
import {
  build,
  CONFIG_MAP_OPTION,
  configMap,
  endpoints,
  ingress,
  path,
  rule,
  service,
  show,
} from '../../helpers/resources.js';
import { locationBlock, nginxAccepts, renderText } from './nginx-check.js';

const web = [service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })];
const allow = configMap({ 'allow-snippet-annotations': 'true' });
const ing = (annotations: Record<string, string>, name = 'site', host = 'a.example.com', created?: string) =>
  ingress({
    name,
    annotations,
    ...(created ? { created } : {}),
    rules: [rule(host, path('/', 'web'), path('/x', 'web'))],
  });
const server = (model: Model, host = 'a.example.com') => model.servers.find((s) => s.host === host)!;

describe('model/annotations/snippets', () => {
  it('allow-snippet-annotations is off by default and parsed strictly', () => {
    assert.equal(parseSettings(undefined).settings.allowSnippetAnnotations, false);
    assert.equal(parseSettings(allow).settings.allowSnippetAnnotations, true);
    const bad = parseSettings(configMap({ 'allow-snippet-annotations': 'yes' }));
    assert.equal(bad.settings.allowSnippetAnnotations, false);
    assert.equal(bad.problems.length, 1);
  });

  describe('snippetShapeProblem', () => {
    it('accepts complete directives and blocks, comments, quotes with braces, ${var} and escapes', () => {
      for (const text of [
        'add_header X-Snippet yes;',
        'add_header X "a;b{c}"; # comment with } and {\n',
        'if ($request_uri ~ "^/x{2}") {\n  return 403;\n}\n',
        'set $x "${host}y"; set $y ${host}z;',
        "more_set_headers 'A: \\'b\\'';",
        'location = /ping { return 200 "pong"; }',
        'location /a { location /a/b { return 204; } }',
        '   \n\t# only a comment',
        'return 200 a\\;b;',
        'rewrite ^/x}y /z;',
      ])
        assert.equal(snippetShapeProblem(text), null, text);
    });

    it('refuses what could leave its block or swallow the next directive', () => {
      for (const [text, re] of [
        ['return 200; } location /escape { return 200;', /closes a block/],
        ['}', /closes a block/],
        ['location /a {', /not closed/],
        ['add_header X y', /lacks its ";"/],
        ['add_header X "y;', /not closed/],
        ["add_header X 'y;", /not closed/],
        ['add_header X y }', /lacks its ";"/],
        [';', /without a directive/],
        ['{ }', /without a directive/],
        ['add_header X y;\u0000', /control characters/],
        ['add_header X y;\u001b[0m', /control characters/],
        [`add_header X "${'a'.repeat(70_000)}";`, /longer than/],
      ] as [string, RegExp][]) {
        const why = snippetShapeProblem(text);
        assert.ok(why && re.test(why), `${JSON.stringify(text.slice(0, 60))}: ${why}`);
      }
    });
  });

  it("refused by default: an error for each snippet annotation, the Ingress's paths denied, nothing written", () => {
    const { model, problems } = build([
      ...web,
      ing({ [CONFIGURATION_SNIPPET]: 'add_header X y;', [SERVER_SNIPPET]: 'return 418;' }),
      ing({}, 'other', 'b.example.com'),
    ]);
    const errors = problems.filter((p) => p.severity === 'error');
    assert.deepEqual(
      errors.map((p) => p.field),
      [CONFIGURATION_SNIPPET, SERVER_SNIPPET].map((k) => `metadata.annotations["${k}"]`),
      show(problems),
    );
    assert.ok(
      errors.every((p) => /allow-snippet-annotations: "true"/.test(p.message) && p.object === 'Ingress default/site'),
    );
    for (const location of server(model).locations) assert.notEqual(location.denied, null);
    assert.equal(server(model).ann.snippet, undefined);
    assert.equal(server(model, 'b.example.com').locations[0]!.denied, null);
    assert.equal(model.files.length, 0);
    assert.doesNotMatch(renderText(model), /include/);
  });

  it('allowed: each snippet becomes a managed file included in the location / server; a malformed one is an error', () => {
    const { model, problems } = build(
      [
        ...web,
        allow,
        ing({
          [CONFIGURATION_SNIPPET]: 'add_header X-Snippet yes;',
          [SERVER_SNIPPET]: 'location = /ping { return 200 "pong"; }',
        }),
      ],
      CONFIG_MAP_OPTION,
    );
    assert.equal(problems.length, 0, show(problems));
    const loc = server(model).locations[0]!.ann.snippet as SnippetConfig;
    const srv = server(model).ann.snippet as SnippetConfig;
    assert.match(loc.file, /^snippet-location-default_site-[0-9a-f]{16}$/);
    assert.match(srv.file, /^snippet-server-default_site-[0-9a-f]{16}$/);
    assert.equal(model.files.find((f) => f.name === loc.file)!.content, 'add_header X-Snippet yes;\n');
    assert.equal(model.files.find((f) => f.name === loc.file)!.mode, 0o600);
    const text = renderText(model);
    assert.match(locationBlock(text, 'a.example.com', '/'), new RegExp(`include "/srv/it/files/${loc.file}";`));
    assert.match(text, new RegExp(`\\n        include "/srv/it/files/${srv.file}";`));
    // no snippet text in nginx.conf itself: nginx parses the included file on its own
    assert.doesNotMatch(text, /X-Snippet|pong/);
    assert.deepEqual(
      snippetChecks(model)
        .map((c) => [c.context, c.text])
        .sort(),
      [
        ['location', 'add_header X-Snippet yes;\n'],
        ['server', 'location = /ping { return 200 "pong"; }\n'],
      ],
    );

    const bad = build(
      [...web, allow, ing({ [CONFIGURATION_SNIPPET]: 'return 200; } server { listen 81;' })],
      CONFIG_MAP_OPTION,
    );
    const err = bad.problems.find((p) => p.severity === 'error')!;
    assert.equal(err.field, `metadata.annotations["${CONFIGURATION_SNIPPET}"]`);
    assert.match(err.message, /invalid value "return 200; \} server/);
    assert.notEqual(server(bad.model).locations[0]!.denied, null);
    assert.equal(bad.model.files.length, 0);
  });

  it('server-snippet: the oldest Ingress of a host decides', () => {
    const { model } = build(
      [
        ...web,
        allow,
        ing({ [SERVER_SNIPPET]: 'return 418;' }, 'young', 'a.example.com', '2025-01-01T00:00:00Z'),
        ing({ [SERVER_SNIPPET]: 'return 419;' }, 'old', 'a.example.com', '2024-01-01T00:00:00Z'),
      ],
      CONFIG_MAP_OPTION,
    );
    assert.equal((server(model).ann.snippet as SnippetConfig).ingress, 'default/old');
  });

  it('denySnippets leaves out what nginx refused and denies only those Ingresses', () => {
    const { model } = build(
      [
        ...web,
        allow,
        ing({ [CONFIGURATION_SNIPPET]: 'add_header X-Broken;' }, 'broken'),
        ing({ [SERVER_SNIPPET]: 'return 418 x y;' }, 'srv', 'b.example.com'),
        ing({ [CONFIGURATION_SNIPPET]: 'add_header X ok;' }, 'fine', 'c.example.com'),
      ],
      CONFIG_MAP_OPTION,
    );
    const broken = (server(model).locations[0]!.ann.snippet as SnippetConfig).file;
    const srv = (server(model, 'b.example.com').ann.snippet as SnippetConfig).file;
    const problems = denySnippets(
      model,
      new Map([
        [broken, 'invalid number of arguments in "add_header" directive in snippet:1'],
        [srv, 'invalid return code'],
      ]),
    );
    assert.deepEqual(problems.map((p) => `${p.object} ${p.field}`).sort(), [
      `Ingress default/broken metadata.annotations["${CONFIGURATION_SNIPPET}"]`,
      `Ingress default/srv metadata.annotations["${SERVER_SNIPPET}"]`,
    ]);
    assert.ok(problems.every((p) => p.severity === 'error' && /nginx -t refused the snippet: /.test(p.message)));
    for (const host of ['a.example.com', 'b.example.com']) {
      for (const location of server(model, host).locations) {
        assert.notEqual(location.denied, null, host);
        assert.equal(location.ann.snippet, undefined);
      }
    }
    assert.equal(server(model, 'b.example.com').ann.snippet, undefined);
    assert.equal(server(model, 'c.example.com').locations[0]!.denied, null);
    assert.deepEqual(
      model.files.map((f) => f.name).filter((n) => n === broken || n === srv),
      [],
    );
    assert.doesNotMatch(renderText(model), /X-Broken|418 x y/);
  });

  it('nginx accepts the rendered includes in both modes', async () => {
    const { model } = build(
      [
        ...web,
        allow,
        ing({
          [CONFIGURATION_SNIPPET]: 'add_header X-Snippet yes;',
          [SERVER_SNIPPET]: 'location = /ping { return 200 "pong"; }',
        }),
      ],
      CONFIG_MAP_OPTION,
    );
    await nginxAccepts(model);
  });
});

describe('model/annotations/snippets forbiddenDirective', () => {
  it('refuses include, load_module, ssl_engine and Lua even in an allowed snippet; quoted or commented text is not a directive', async () => {
    const { forbiddenDirective } = await import('../../../src/model/annotations/snippets.js');
    for (const trimmed of [
      'include /etc/passwd;',
      'load_module /tmp/x.so;',
      'LOAD_MODULE /tmp/x.so;',
      'ssl_engine x;',
      'content_by_lua_block { os.execute("id") }',
      'access_by_lua_file /x.lua;',
      'lua_package_path "/tmp/?.lua";',
      'location /a { include /x; }',
      'add_header A b; include x;',
    ]) {
      assert.match(String(forbiddenDirective(trimmed)), /is not allowed in a snippet/, trimmed);
    }
    for (const text of [
      'add_header X-Snippet yes;',
      'add_header X "include /x;";',
      '# include x\nadd_header A b;',
      'location /a { proxy_pass http://x; }',
    ]) {
      assert.equal(forbiddenDirective(text), null, text);
    }
  });

  it('reads directive names as nginx does: a "#" or a quote inside a word hides nothing, a quoted name is still a name', async () => {
    const { forbiddenDirective, snippetShapeProblem: shape } = await import(
      '../../../src/model/annotations/snippets.js'
    );
    for (const [trimmed, name] of [
      ['set $x a#;\naccess_by_lua_block { ngx.log(ngx.ERR, "x"); }', 'access_by_lua_block'], // '#' inside a word is no comment
      ['set $x a";\ninclude /etc/passwd; #"', 'include'], // nor is a quote inside a word a string
      ["set $x b';\nload_module /tmp/x.so; #'", 'load_module'],
      ['set $x ${host}#;\ninclude /x;', 'include'],
      ['"include" /etc/passwd;', 'include'],
      ['\'content_by_lua_block\' { os.execute("id"); }', 'content_by_lua_block'],
      ['location /a { "include" /x; }', 'include'],
    ] as [string, string][]) {
      assert.equal(shape(trimmed), null, `nginx reads it as well-formed: ${trimmed}`);
      assert.equal(
        forbiddenDirective(trimmed),
        `directive "${name}" is not allowed in a snippet: include, load_module and Lua may only come from the controller's own files`,
        trimmed,
      );
    }
    // a comment where a word may start, and quoted arguments, are what they look like
    assert.equal(forbiddenDirective('add_header A b; # include x\nadd_header C "d; include x;";'), null);
  });

  it("refuses request-header directives in both kinds: a snippet's own list would replace the protected headers there", () => {
    for (const trimmed of [
      'proxy_set_header X-Real-IP 1.2.3.4;',
      'PROXY_SET_HEADER X-A b;',
      'grpc_set_header X-A b;',
      'proxy_pass_request_headers off;',
      'more_set_input_headers "ssl-client-verify: SUCCESS";',
      'location /a { proxy_set_header X-A b; }',
    ]) {
      assert.match(
        String(forbiddenDirectiveOf(trimmed)),
        /would replace the request headers the controller protects/,
        trimmed,
      );
    }
    for (const text of ['add_header X "proxy_set_header";', 'proxy_hide_header X-A;', 'more_set_headers "X-A: b";'])
      assert.equal(forbiddenDirectiveOf(text), null, text);
    const { model, problems } = build(
      [...web, allow, ing({ [CONFIGURATION_SNIPPET]: 'proxy_set_header X-Team a;' })],
      CONFIG_MAP_OPTION,
    );
    assert.ok(
      problems.some(
        (p) =>
          p.severity === 'error' &&
          p.field === `metadata.annotations["${CONFIGURATION_SNIPPET}"]` &&
          /proxy_set_header/.test(p.message),
      ),
      show(problems),
    );
    for (const loc of server(model).locations) assert.notEqual(loc.denied, null, "the Ingress's paths answer 503");
    assert.doesNotMatch(renderText(model), /include "/);
  });

  it('a refused server-snippet is not included, even when its shape is fine (the forbidden check applies to both kinds)', () => {
    const { model, problems } = build(
      [...web, allow, ing({ [SERVER_SNIPPET]: 'rewrite_by_lua_block { ngx.log(ngx.ERR, "x"); }' })],
      CONFIG_MAP_OPTION,
    );
    const err = problems.find((p) => p.field === `metadata.annotations["${SERVER_SNIPPET}"]`);
    assert.match(err?.message ?? '', /directive "rewrite_by_lua_block" is not allowed in a snippet/, show(problems));
    assert.equal(server(model).ann.snippet, undefined);
    assert.deepEqual(model.files, []);
    for (const location of server(model).locations) assert.notEqual(location.denied, null);
    assert.doesNotMatch(renderText(model), /include "|by_lua/);
  });
});
