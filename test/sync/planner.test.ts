// src/sync/planner.ts: the loop's plan is src/plan.ts's, with names resolved and snippets tested at the
// edges it is given; the endpoint fast path; names resolved again.
import assert from 'node:assert/strict';
import { CONFIGURATION_SNIPPET } from '../../src/model/annotations/snippets.js';
import type { SnippetCheck } from '../../src/model/annotations/snippets.js';
import { NameResolver } from '../../src/name-resolver.js';
import { plan, renderOptionsFor, snippetKey } from '../../src/plan.js';
import { loadTemplates } from '../../src/render/index.js';
import { Planner } from '../../src/sync/planner.js';
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
} from '../helpers/resources.js';

const renderer = loadTemplates();
const render = renderOptionsFor(PLACEMENT, { features: { tempPaths: [] }, luaModules: [] }, 'lua', '/lua');
const model = { ...OPTIONS, ...CONFIG_MAP_OPTION, balancer: 'lua' as const };

/** Answers from a table instead of DNS. */
class TableResolver extends NameResolver {
  table = new Map<string, string[]>();
  asked: string[][] = [];
  private answers = new Map<string, string[]>();
  override get map(): ReadonlyMap<string, string[]> {
    return this.answers;
  }
  override async resolve(names: string[]): Promise<ReadonlyMap<string, string[]>> {
    await this.refresh(names);
    return this.answers;
  }
  override async refresh(names: string[]): Promise<boolean> {
    this.asked.push(names);
    let changed = false;
    for (const name of names) {
      const next = this.table.get(name) ?? [];
      if (this.answers.get(name)?.join() !== next.join()) changed = true;
      this.answers.set(name, next);
    }
    return changed;
  }
}

/** nginx's verdicts from a table: a snippet containing "bad" is refused. */
class TableSnippets {
  verdicts = new Map<string, string | null>();
  kept: SnippetCheck[] = [];
  get known(): ReadonlyMap<string, string | null> {
    return this.verdicts;
  }
  async verdictsFor(checks: SnippetCheck[]): Promise<Map<string, string | null>> {
    for (const check of checks)
      this.verdicts.set(snippetKey(check), check.text.includes('bad') ? 'unknown directive "bad"' : null);
    return this.verdicts;
  }
  keepOnly(checks: SnippetCheck[]): void {
    this.kept = checks;
  }
}

const store = () =>
  storeOf(
    configMap({ 'allow-snippet-annotations': 'true' }),
    service({ name: 'web' }),
    endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] }),
    service({ name: 'far', type: 'ExternalName', externalName: 'far.example.net' }),
    ingress({
      name: 'a',
      annotations: { [CONFIGURATION_SNIPPET]: 'bad directive;' },
      rules: [rule('a.example.com', path('/', 'web'), path('/far', 'far'))],
    }),
  );

describe('sync/planner', () => {
  it("plans what src/plan.ts plans, with the edges' answers: names resolved, a refused snippet left out", async () => {
    const resolver = new TableResolver();
    resolver.table.set('far.example.net', ['192.0.2.7']);
    const snippets = new TableSnippets();
    const planner = new Planner({ model, renderer, render, resolver, snippets });
    const resources = store();
    const planned = await planner.plan(resources, null);
    const expected = plan(resources, {
      model,
      resolved: new Map([['far.example.net', ['192.0.2.7']]]),
      snippetVerdicts: snippets.verdicts,
      renderer,
      render,
    });
    assert.equal(planned.text, expected.text);
    const far = planned.model.backends.find((backend) => backend.service === 'far');
    assert.deepEqual(far!.endpoints, [{ address: '192.0.2.7', port: 8080 }]);
    assert.ok(planned.problems.some((problem) => /unknown directive "bad"/.test(problem.message)));
    assert.equal(snippets.kept.length, 1, 'verdicts on snippets no Ingress has any more are dropped');
  });

  it('without a snippet checker every snippet is planned as accepted', async () => {
    const planner = new Planner({ model, renderer, render, resolver: new TableResolver() });
    const planned = await planner.plan(store(), null);
    assert.match(planned.text, /snippet-/);
  });

  it('namesChanged(): the last plan names resolved again', async () => {
    const resolver = new TableResolver();
    const planner = new Planner({ model, renderer, render, resolver });
    assert.equal(await planner.namesChanged(), false, 'no plan yet, no names');
    assert.equal(resolver.asked.length, 0);
    await planner.plan(store(), null);
    assert.equal(await planner.namesChanged(), false);
    resolver.table.set('far.example.net', ['192.0.2.8']);
    assert.equal(await planner.namesChanged(), true);
    assert.deepEqual(resolver.asked.at(-1), ['far.example.net']);
  });

  it('patchEndpoints(): new endpoints for the changed Service; null when more than endpoints changed', async () => {
    const planner = new Planner({ model, renderer, render, resolver: new TableResolver() });
    const resources = store();
    const planned = await planner.plan(resources, null);
    resources.setFile('pods.yaml', {
      resources: [endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1', '10.0.0.2'] }] })],
      rejected: [],
      parseFailed: false,
    });
    const update = planner.patchEndpoints(planned.model, resources, new Set(['default/web']));
    assert.deepEqual(
      update!.changed.map((backend) => [backend.name, backend.endpoints.length]),
      [['default_web_80', 2]],
    );
    resources.removeFile('test.yaml');
    assert.equal(planner.patchEndpoints(planned.model, resources, new Set(['default/web'])), null);
  });
});
