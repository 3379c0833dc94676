// The problems of a backend whose endpoints were refused or over the limit (src/model/endpoint-problems.ts):
// each issue keeps its place and gains the backend and the Ingress field that uses it; a list over the
// limit is also an error on the Ingress.
import assert from 'node:assert/strict';
import { endpointProblems } from '../../src/model/endpoint-problems.js';
import type { EndpointIssue } from '../../src/model/endpoint-policy.js';
import { backendName } from '../../src/model/names.js';
import type { Backend } from '../../src/model/routing.js';
import { objectRef } from '../../src/resources.js';
import { endpoints, ingress, path, rule, show } from '../helpers/resources.js';

const FIELD = 'spec.rules[0].http.paths[0].backend';
const ing = ingress({
  name: 'web',
  namespace: 'shop',
  file: 'shop.yaml',
  rules: [rule('a.example.com', path('/', 'api'))],
});
const source = endpoints({ name: 'api', namespace: 'shop', file: 'endpoints.yaml', subsets: [] });

function backendWith(withheld: Backend['withheld'], kept = 2): Backend {
  return {
    name: backendName('shop', 'api', 80),
    namespace: 'shop',
    service: 'api',
    port: 80,
    endpoints: Array.from({ length: kept }, (_, index) => ({ address: `10.0.0.${index + 1}`, port: 8080 })),
    balance: { loadBalance: 'round_robin' },
    ...(withheld ? { withheld } : {}),
  };
}

const refusal = (message: string): EndpointIssue => ({
  severity: 'error',
  file: source.source.file,
  line: source.source.line,
  object: objectRef(source),
  field: 'subsets[0].addresses[0]',
  message,
});

describe('model/endpoint-problems', () => {
  it('nothing refused, not over the limit: no problems', () => {
    assert.deepEqual(endpointProblems([], backendWith(undefined), ing, FIELD), []);
    assert.deepEqual(endpointProblems([], backendWith({ refused: 0 }), ing, FIELD), []);
  });

  it('a refused endpoint: its issue, at its place, naming the backend and the Ingress field that uses it', () => {
    const issues = [refusal('127.0.0.1:10246 is the controller; this endpoint is left out'), refusal('second')];
    const problems = endpointProblems(issues, backendWith({ refused: 2 }), ing, FIELD);
    assert.equal(problems.length, 2, show(problems));
    assert.deepEqual(problems[0], {
      ...issues[0],
      message: `127.0.0.1:10246 is the controller; this endpoint is left out (backend shop_api_80 of Ingress shop/web ${FIELD})`,
    });
    assert.equal(problems[1]!.message, `second (backend shop_api_80 of Ingress shop/web ${FIELD})`);
    assert.equal(problems[0]!.object, 'Endpoints shop/api');
    assert.equal(
      issues[0]!.message,
      '127.0.0.1:10246 is the controller; this endpoint is left out',
      'issues untouched',
    );
  });

  it('a list over the limit: an error on the Ingress field, with the count and the endpoints kept', () => {
    const problems = endpointProblems([], backendWith({ refused: 0, overLimit: 5001 }, 3), ing, FIELD);
    assert.deepEqual(problems, [
      {
        severity: 'error',
        file: 'shop.yaml',
        line: ing.source.line,
        object: 'Ingress shop/web',
        field: FIELD,
        message:
          'Service shop/api port 80 has 5001 ready endpoints, more than the limit; backend shop_api_80 keeps its previous 3 endpoint(s)',
      },
    ]);
  });

  it('both: the refusals first, then the Ingress error', () => {
    const problems = endpointProblems([refusal('left out')], backendWith({ refused: 1, overLimit: 0 }, 0), ing, FIELD);
    assert.deepEqual(
      problems.map((problem) => problem.object),
      ['Endpoints shop/api', 'Ingress shop/web'],
    );
    assert.match(problems[1]!.message, /has 0 ready endpoints, .* keeps its previous 0 endpoint\(s\)$/);
  });
});
