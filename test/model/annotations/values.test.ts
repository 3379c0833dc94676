import assert from 'node:assert/strict';
import {
  annotationProblem,
  parseBool,
  parseNamespacedName,
  parseIntIn,
  PREFIX,
  refused,
  refusedBecause,
  settingsConfigMap,
  settingsConfigMapRef,
} from '../../../src/model/annotations/values.js';
import type { Problem } from '../../../src/resources.js';
import { ingress } from '../../helpers/resources.js';

describe('model/annotations/values (what every family shares)', () => {
  const ing = { ...ingress({ name: 'web', namespace: 'shop' }), source: { file: 'apps/web.yaml', line: 7 } };
  const KEY = `${PREFIX}proxy-read-timeout`;

  it('the prefix is the one ingress-nginx annotations carry', () => {
    assert.equal(PREFIX, 'nginx.ingress.kubernetes.io/');
  });

  it('parseBool takes "true" and "false" with surrounding blanks, nothing else', () => {
    assert.equal(parseBool('true'), true);
    assert.equal(parseBool(' false\n'), false);
    for (const value of ['True', 'yes', '1', '', 'truefalse', 't rue'])
      assert.equal(parseBool(value), undefined, value);
  });

  it('parseIntIn takes decimal digits within the bounds, nothing else', () => {
    assert.equal(parseIntIn(' 60 ', 1, 3600), 60);
    assert.equal(parseIntIn('1', 1, 3600), 1);
    assert.equal(parseIntIn('3600', 1, 3600), 3600);
    for (const value of ['0', '3601', '-5', '1e3', '0x10', '6.5', '', '1234567890', '60s'])
      assert.equal(parseIntIn(value, 1, 3600), undefined, value);
  });

  it('annotationProblem is an error naming the file, the Ingress, the annotation, the value and what was expected', () => {
    assert.deepEqual(annotationProblem(ing, KEY, 'soon', 'seconds'), {
      severity: 'error',
      file: 'apps/web.yaml',
      line: 7,
      object: 'Ingress shop/web',
      field: `metadata.annotations["${KEY}"]`,
      message: `invalid value "soon": expected seconds; the Ingress's paths answer 503 until it is fixed`,
    });
  });

  it('a problem quotes at most 80 characters of the value, escaped', () => {
    const problem = annotationProblem(ing, KEY, `x\n${'y'.repeat(200)}`, 'seconds');
    assert.ok(problem.message.startsWith(`invalid value ${JSON.stringify(`x\n${'y'.repeat(200)}`).slice(0, 80)}:`));
    assert.doesNotMatch(problem.message, /\n/);
  });

  it('refused is the same error; refusedBecause says why in its own words', () => {
    assert.deepEqual(refused(ing, KEY, 'soon', 'seconds'), annotationProblem(ing, KEY, 'soon', 'seconds'));
    const problem = refusedBecause(ing, `${PREFIX}auth-secret`, 'Secret shop/users not found');
    assert.equal(problem.severity, 'error');
    assert.equal(problem.field, `metadata.annotations["${PREFIX}auth-secret"]`);
    assert.equal(problem.message, "Secret shop/users not found; the Ingress's paths answer 503 until it is fixed");
  });

  it('parseNamespacedName: name in the Ingress namespace, or namespace/name', () => {
    assert.deepEqual(parseNamespacedName('users', 'shop'), { namespace: 'shop', name: 'users' });
    assert.deepEqual(parseNamespacedName(' auth/users ', 'shop'), { namespace: 'auth', name: 'users' });
    for (const value of ['', 'a/b/c', 'Users', 'a b', '../x', 'users;', '/users', 'ns/'])
      assert.equal(parseNamespacedName(value, 'shop'), undefined, value);
  });

  it('settingsConfigMap: the ConfigMap a setting names; a missing one is a warning naming the setting', () => {
    const cm = { ...ingress({ name: 'x' }), kind: 'ConfigMap' as const, data: {} };
    const found = { ...cm, meta: { ...cm.meta, namespace: 'infra', name: 'extra' } };
    const ctx = { configMap: (ns: string, name: string) => (ns === 'infra' && name === 'extra' ? found : undefined) };
    const problems: Problem[] = [];
    assert.equal(settingsConfigMap('infra/extra', 'add-headers', 'nothing added', ctx, problems), found);
    assert.equal(settingsConfigMap(null, 'add-headers', 'nothing added', ctx, problems), undefined);
    assert.deepEqual(problems, []);
    assert.equal(settingsConfigMap('infra/gone', 'add-headers', 'nothing added', ctx, problems), undefined);
    assert.deepEqual(problems, [
      {
        severity: 'warning',
        object: 'ConfigMap infra/gone',
        field: 'add-headers',
        message: 'ConfigMap infra/gone named by the setting add-headers not found; nothing added',
      },
    ]);
    assert.deepEqual(settingsConfigMapRef('infra/extra'), [{ kind: 'ConfigMap', namespace: 'infra', name: 'extra' }]);
    assert.deepEqual(settingsConfigMapRef(null), []);
  });
});
