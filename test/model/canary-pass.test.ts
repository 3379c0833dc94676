// The canary pass alone: a model built from the main Ingresses in, the model with canaries attached out.
import assert from 'node:assert/strict';
import { CANARY, CANARY_WEIGHT } from '../../src/model/annotations/canary.js';
import { applyCanaries } from '../../src/model/canary-pass.js';
import type { CanaryInput } from '../../src/model/canary-pass.js';
import { lookupFor } from '../../src/model/index.js';
import type { Model } from '../../src/model/index.js';
import { DEFAULT_SETTINGS } from '../../src/model/settings.js';
import type { Ingress, Problem, Resource } from '../../src/resources.js';
import { build, endpoints, ingress, path, rule, service, show, storeOf } from '../helpers/resources.js';

const app = (name: string, address: string, namespace = 'shop'): Resource[] => [
  service({ name, namespace }),
  endpoints({ name, namespace, subsets: [{ ready: [address] }] }),
];

const RESOURCES: Resource[] = [
  ...app('web', '10.0.0.1'),
  ...app('web-next', '10.0.0.2'),
  ...app('other', '10.0.0.3', 'other'),
  ingress({ name: 'main', namespace: 'shop', rules: [rule('shop.example.com', path('/', 'web'))] }),
];

const canary = (name: string, paths: [string, string][], namespace = 'shop'): Ingress =>
  ingress({
    name,
    namespace,
    annotations: { [CANARY]: 'true', [CANARY_WEIGHT]: '20' },
    rules: [rule('shop.example.com', ...paths.map(([at, to]) => path(at, to)))],
  });

function run(ingresses: Ingress[], balancer: CanaryInput['balancer'] = 'lua') {
  const main = build(RESOURCES);
  assert.equal(main.problems.length, 0, show(main.problems));
  const before = structuredClone(main.model);
  const problems: Problem[] = [];
  const lookup = lookupFor(storeOf(...RESOURCES), () => undefined);
  const model = applyCanaries(main.model, { ingresses, lookup, settings: DEFAULT_SETTINGS, balancer }, problems);
  // the model passed in stays as it was
  assert.deepEqual(main.model, before);
  return { main: main.model, model, problems };
}

const backendNamed = (model: Model, name: string) => model.backends.find((each) => each.name === name);

describe('model/canary-pass', () => {
  it('without canary Ingresses returns the model passed in', () => {
    const { main, model, problems } = run([]);
    assert.equal(model, main);
    assert.deepEqual(problems, []);
  });

  it("makes the canary's backend the canary of the main backend of the same host and path", () => {
    const { model, problems } = run([canary('next', [['/', 'web-next']])]);
    assert.deepEqual(problems, [], show(problems));
    assert.deepEqual(backendNamed(model, 'shop_web_80')?.canary, {
      backend: 'shop_web-next_80',
      ingress: 'shop/next',
      weight: 20,
      weightTotal: 100,
    });
    assert.deepEqual(backendNamed(model, 'shop_web-next_80')?.endpoints, [{ address: '10.0.0.2', port: 8080 }]);
  });

  it('in static mode reports the canary and leaves the main backend alone', () => {
    const { model, problems } = run([canary('next', [['/', 'web-next']])], 'static');
    assert.equal(problems.length, 1, show(problems));
    assert.match(problems[0]!.message, /needs the Lua balancer/);
    assert.equal(backendNamed(model, 'shop_web_80')?.canary, undefined);
    assert.equal(backendNamed(model, 'shop_web-next_80'), undefined);
  });

  it('refuses a path no main Ingress routes, and a main Ingress of another namespace', () => {
    const { model, problems } = run([
      canary('lost', [['/nowhere', 'web-next']]),
      canary('foreign', [['/', 'other']], 'other'),
    ]);
    assert.equal(problems.length, 2, show(problems));
    assert.match(problems[0]!.message, /no main Ingress routes shop\.example\.com Prefix \/nowhere/);
    assert.match(problems[1]!.message, /routed by Ingress shop\/main of another namespace/);
    assert.equal(backendNamed(model, 'shop_web_80')?.canary, undefined);
  });
});
