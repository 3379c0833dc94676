// The dedicated nginx -t of snippet annotations, with the real nginx.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CONFIGURATION_SNIPPET,
  denySnippets,
  SERVER_SNIPPET,
  snippetChecks,
} from '../../src/model/annotations/snippets.js';
import { snippetKey } from '../../src/plan.js';
import type { SnippetConfig } from '../../src/model/annotations/snippets.js';
import { probeBinary } from '../../src/nginx/binary.js';
import type { NginxBinary } from '../../src/nginx/binary.js';
import { SnippetChecker, throwawayConfig } from '../../src/nginx/snippets.js';
import {
  build,
  CONFIG_MAP_OPTION,
  configMap,
  endpoints,
  ingress,
  path as ipath,
  rule,
  service,
} from '../helpers/resources.js';

const web = [service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })];
const allow = configMap({ 'allow-snippet-annotations': 'true' });
const ing = (name: string, host: string, annotations: Record<string, string>) =>
  ingress({ name, annotations, rules: [rule(host, ipath('/', 'web'))] });

describe('nginx/snippets: each snippet alone through nginx -t', function () {
  let bin: NginxBinary;
  let tmp: string;

  before(async () => {
    bin = await probeBinary('/usr/sbin/nginx');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-snippet-test-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("accepts good snippets, names nginx's complaint for bad ones (by snippet line), and leaves no temporary files", async () => {
    const checker = new SnippetChecker(bin, tmp, []);
    assert.equal(
      await checker.test({
        file: 'f',
        context: 'location',
        text: 'add_header X-Snippet yes;\nproxy_set_header X-A $best_http_host;\n',
      }),
      null,
    );
    assert.equal(
      await checker.test({ file: 'f', context: 'server', text: 'location = /ping { return 200 "pong"; }\n' }),
      null,
    );
    const bad = await checker.test({ file: 'f', context: 'location', text: '# fine\nadd_header X-Broken;\n' });
    assert.match(bad!, /invalid number of arguments in "add_header" directive in snippet:2/);
    // context matters: a location is not allowed inside "if", a server directive not inside a location
    assert.match(
      (await checker.test({ file: 'f', context: 'location', text: 'listen 81;\n' }))!,
      /"listen" directive is not allowed here/,
    );
    assert.match(
      (await checker.test({ file: 'f', context: 'location', text: 'proxy_pass http://127.0.0.1:1;\n' }))!,
      /"proxy_pass" directive is duplicate/,
    );
    // Lua directives pass only when the real config loads ngx_lua
    assert.match(
      (await checker.test({ file: 'f', context: 'location', text: 'access_by_lua_block { ngx.exit(403) }\n' }))!,
      /unknown directive/,
    );
    if (bin.lua)
      assert.equal(
        await new SnippetChecker(bin, tmp, bin.luaModules).test({
          file: 'f',
          context: 'location',
          text: 'access_by_lua_block { ngx.exit(403) }\n',
        }),
        null,
      );
    assert.deepEqual(fs.readdirSync(tmp), []);
  });

  it('headers-more directives pass when the real config loads the module, and only then', async () => {
    const snippet = { file: 'f', context: 'location' as const, text: 'more_set_headers "X-Snippet: yes";\n' };
    assert.ok(bin.features.headersMore, 'libnginx-mod-http-headers-more-filter is installed (scripts/setup.sh)');
    assert.equal(await new SnippetChecker(bin, tmp, []).test(snippet), null);
    const plain = { ...bin, features: { tempPaths: bin.features.tempPaths } };
    assert.match((await new SnippetChecker(plain, tmp, []).test(snippet))!, /unknown directive "more_set_headers"/);
  });

  it('verdictsFor(): refused snippets are left out and denied, others applied; verdicts are cached by content', async () => {
    const { model } = build(
      [
        ...web,
        allow,
        ing('good', 'a.example.com', {
          [CONFIGURATION_SNIPPET]: 'add_header X ok;',
          [SERVER_SNIPPET]: 'location = /p { return 204; }',
        }),
        ing('bad', 'b.example.com', { [CONFIGURATION_SNIPPET]: 'add_header X;' }),
      ],
      CONFIG_MAP_OPTION,
    );
    const checker = new SnippetChecker(bin, tmp, []);
    let runs = 0;
    const test = checker.test.bind(checker);
    checker.test = async (snippet) => {
      runs++;
      return test(snippet);
    };
    const check = async (built: typeof model) => {
      const verdicts = await checker.verdictsFor(snippetChecks(built));
      return denySnippets(
        built,
        new Map(
          snippetChecks(built).flatMap((snippet) => {
            const verdict = verdicts.get(snippetKey(snippet));
            return verdict ? [[snippet.file, verdict] as [string, string]] : [];
          }),
        ),
      );
    };
    const problems = await check(model);
    assert.equal(runs, 3);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.object, 'Ingress default/bad');
    assert.match(
      problems[0]!.message,
      /nginx -t refused the snippet: .*invalid number of arguments in "add_header" directive in snippet:1/,
    );
    const serverA = model.servers.find((s) => s.host === 'a.example.com')!;
    const serverB = model.servers.find((s) => s.host === 'b.example.com')!;
    assert.equal(serverA.locations[0]!.denied, null);
    assert.ok((serverA.locations[0]!.ann.snippet as SnippetConfig).file);
    assert.ok(serverA.ann.snippet);
    assert.notEqual(serverB.locations[0]!.denied, null);

    const again = build(
      [
        ...web,
        allow,
        ing('good', 'a.example.com', {
          [CONFIGURATION_SNIPPET]: 'add_header X ok;',
          [SERVER_SNIPPET]: 'location = /p { return 204; }',
        }),
        ing('bad', 'b.example.com', { [CONFIGURATION_SNIPPET]: 'add_header X;' }),
      ],
      CONFIG_MAP_OPTION,
    ).model;
    assert.equal((await check(again)).length, 1);
    assert.equal(runs, 3, 'nothing new to test');
  });

  it('the throwaway config holds the snippet where it belongs and nothing that listens', () => {
    const loc = throwawayConfig('/t', '/t/s.conf', 'location', [], ['fastcgi']);
    assert.match(loc, /location \/ \{\n\s+set \$proxy_upstream_name "-";\n\s+include "\/t\/s\.conf";/);
    assert.match(loc, /fastcgi_temp_path "\/t\/fastcgi";/);
    const srv = throwawayConfig('/t', '/t/s.conf', 'server', ['/m/lua.so'], []);
    assert.match(srv, /^load_module "\/m\/lua\.so";/);
    assert.match(srv, /server_name _;\n\s+include "\/t\/s\.conf";\n\s+location \/ \{/);
  });
});
