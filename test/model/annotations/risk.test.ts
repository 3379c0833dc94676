import assert from 'node:assert/strict';
import { SUPPORTED } from '../../../src/model/annotations/index.js';
import { isAbove, parseRiskLevel, riskOf } from '../../../src/model/annotations/risk.js';

const PREFIX = 'nginx.ingress.kubernetes.io/';

describe('model/annotations/risk', () => {
  it('every supported annotation has a level', () => {
    const without = [...SUPPORTED].filter((key) => riskOf(key) === undefined);
    assert.deepEqual(without, [], 'add them to src/model/annotations/risk.ts with the level ingress-nginx gives them');
  });

  it("ingress-nginx's levels (docs/user-guide/nginx-configuration/annotations-risk.md)", () => {
    const levels = Object.fromEntries(
      [
        'configuration-snippet',
        'server-snippet',
        'auth-url',
        'auth-signin',
        'mirror-target',
        'mirror-host',
        'upstream-hash-by',
        'proxy-ssl-name',
        'rewrite-target',
        'whitelist-source-range',
        'custom-headers',
        'canary-by-header',
        'mirror-request-body',
        'service-upstream',
        'ssl-redirect',
        'canary',
      ].map((name) => [name, riskOf(`${PREFIX}${name}`)]),
    );
    assert.deepEqual(levels, {
      'configuration-snippet': 'Critical',
      'server-snippet': 'Critical',
      'auth-url': 'High',
      'auth-signin': 'High',
      'mirror-target': 'High',
      'mirror-host': 'High',
      'upstream-hash-by': 'High',
      'proxy-ssl-name': 'High',
      'rewrite-target': 'Medium',
      'whitelist-source-range': 'Medium',
      'custom-headers': 'Medium',
      'canary-by-header': 'Medium',
      'mirror-request-body': 'Low',
      'service-upstream': 'Low',
      'ssl-redirect': 'Low',
      canary: 'Low',
    });
    assert.equal(riskOf('nginx.ingress.kubernetes.io/no-such-thing'), undefined);
    assert.equal(riskOf('example.com/auth-url'), undefined);
  });

  it('orders the levels and reads them in any case', () => {
    assert.equal(isAbove('Critical', 'High'), true);
    assert.equal(isAbove('High', 'High'), false);
    assert.equal(isAbove('Medium', 'Low'), true);
    assert.equal(isAbove('Low', 'Medium'), false);
    assert.equal(parseRiskLevel('high'), 'High');
    assert.equal(parseRiskLevel(' CRITICAL '), 'Critical');
    assert.equal(parseRiskLevel('Severe'), undefined);
    assert.equal(parseRiskLevel(''), undefined);
  });
});
