// src/plan.ts: the one plan (pure) and settle() with fake edges.
import assert from 'node:assert/strict';
import { CONFIGURATION_SNIPPET } from '../src/model/annotations/snippets.js';
import { balancerMode, plan, renderOptionsFor, settle, snippetKey } from '../src/plan.js';
import type { Environment } from '../src/plan.js';
import { loadTemplates } from '../src/render/index.js';
import { NginxError } from '../src/errors.js';
import {
  CONFIG_MAP_OPTION,
  configMap,
  endpoints,
  ingress,
  OPTIONS,
  path,
  rule,
  service,
  storeOf,
  PLACEMENT,
} from './helpers/resources.js';

const BIN = { features: { tempPaths: [] }, luaModules: [] };

const store = storeOf(
  configMap({ 'allow-snippet-annotations': 'true' }),
  service({ name: 'web' }),
  endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] }),
  service({ name: 'far', type: 'ExternalName', externalName: 'far.example.net' }),
  ingress({
    name: 'a',
    annotations: { [CONFIGURATION_SNIPPET]: 'add_header X a;' },
    rules: [rule('a.example.com', path('/', 'web'), path('/far', 'far'))],
  }),
);

function env(overrides: Partial<Environment> = {}): Environment {
  return {
    model: { ...OPTIONS, ...CONFIG_MAP_OPTION, balancer: 'lua' },
    resolved: new Map(),
    snippetVerdicts: new Map(),
    renderer: loadTemplates(),
    render: renderOptionsFor(PLACEMENT, BIN, 'lua', '/lua'),
    ...overrides,
  };
}

describe('plan', () => {
  it('names what it could not decide: ExternalName targets to resolve, snippets to test (planned as accepted)', () => {
    const planned = plan(store, env());
    assert.deepEqual(planned.unresolved, ['far.example.net']);
    assert.equal(planned.untested.length, 1);
    assert.equal(planned.untested[0]!.text, 'add_header X a;\n');
    assert.match(planned.text, /include "\/srv\/it\/files\/snippet-location-default_a-/);
    assert.equal(planned.hash.length, 64);
  });

  it("uses the environment's verdicts: a refused snippet is left out and its paths answer 503", () => {
    const first = plan(store, env());
    const planned = plan(
      store,
      env({
        snippetVerdicts: new Map([[snippetKey(first.untested[0]!), '[emerg] no']]),
        resolved: new Map([['far.example.net', ['10.9.9.9']]]),
      }),
    );
    assert.deepEqual(planned.unresolved, []);
    assert.deepEqual(planned.untested, []);
    assert.doesNotMatch(planned.text, /snippet-location/);
    assert.ok(
      planned.problems.some(
        (x) => x.object === 'Ingress default/a' && /nginx -t refused the snippet: \[emerg\] no/.test(x.message),
      ),
    );
    assert.deepEqual(
      planned.model.backends.find((b) => b.service === 'far')!.endpoints.map((e) => e.address),
      ['10.9.9.9'],
    );
  });

  it('is a function of its inputs: the same store and environment give the same text', () => {
    assert.equal(plan(store, env()).text, plan(store, env()).text);
  });

  it('settle() asks each edge once, for exactly what the plan named, and plans again', async () => {
    const asked: string[][] = [];
    let tested = 0;
    const { plan: planned, env: settledEnv } = await settle(store, env(), {
      resolve: async (names) => {
        asked.push(names);
        return new Map(names.map((n) => [n, ['10.1.1.1']]));
      },
      testSnippets: async (checks) => {
        tested += checks.length;
        return new Map(checks.map((c) => [snippetKey(c), null]));
      },
    });
    assert.deepEqual(asked, [['far.example.net']]);
    assert.equal(tested, 1);
    assert.deepEqual(planned.unresolved, []);
    assert.deepEqual(planned.untested, []);
    assert.match(planned.text, /snippet-location-default_a-/);
    assert.equal(settledEnv.snippetVerdicts.size, 1);
    // nothing left to ask: a second settle with the environment it returned calls no edge
    await settle(store, settledEnv, {
      resolve: async () => assert.fail('resolved again'),
      testSnippets: async () => assert.fail('tested again'),
    });
  });

  it('settle() without edges (render with no nginx) plans with what it has', async () => {
    const { plan: planned } = await settle(store, env(), {});
    assert.equal(planned.untested.length, 1);
  });

  it('balancerMode: auto follows the nginx build; lua without ngx_lua is an NginxError', () => {
    assert.equal(balancerMode('auto', { lua: true }), 'lua');
    assert.equal(balancerMode('auto', { lua: false }), 'static');
    assert.equal(balancerMode('static', { lua: true }), 'static');
    assert.throws(
      () => balancerMode('lua', { lua: false, path: '/usr/sbin/nginx' }),
      (e: Error) => e instanceof NginxError && /\/usr\/sbin\/nginx/.test(e.message),
    );
  });

  it('renderOptionsFor: a sidecar reads the Lua from the shared prefix and has its own pid file', () => {
    const options = renderOptionsFor({ ...PLACEMENT, sidecar: { pidFile: '/run/nginx.pid' } }, BIN, 'lua', '/lua');
    assert.equal(options.luaDir, '/srv/it/lua');
    assert.equal(options.pidFile, '/run/nginx.pid');
    assert.equal(renderOptionsFor(PLACEMENT, BIN, 'lua', '/lua').luaDir, '/lua');
  });
});
