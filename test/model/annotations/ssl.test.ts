import type { AnnotationContext } from '../../../src/model/annotations/index.js';
import { DEFAULT_SETTINGS } from '../../../src/model/settings.js';
import assert from 'node:assert/strict';
import { parseAnnotations } from '../../../src/model/annotations/index.js';
import { parseBool } from '../../../src/model/annotations/parse.js';
import { SSL_REDIRECT, sslRedirect } from '../../../src/model/annotations/ssl.js';
import type { Problem } from '../../../src/types.js';
import { ingress, show } from '../../helpers/resources.js';

const withAnnotations = (annotations: Record<string, string>) => ingress({ name: 'web', namespace: 'shop', annotations });

const ctx = (sslRedirect: boolean): AnnotationContext => ({
  settings: { ...DEFAULT_SETTINGS, sslRedirect }, secret: () => undefined, configMap: () => undefined, file: (name) => name,
});

describe('ssl-redirect annotation', () => {
  it('keeps the default when absent', () => {
    const problems: Problem[] = [];
    assert.equal(sslRedirect(withAnnotations({}), true, problems), true);
    assert.equal(sslRedirect(withAnnotations({}), false, problems), false);
    assert.deepEqual(problems, []);
  });

  it('reads "true" and "false" whatever the default', () => {
    const problems: Problem[] = [];
    assert.equal(sslRedirect(withAnnotations({ [SSL_REDIRECT]: 'false' }), true, problems), false);
    assert.equal(sslRedirect(withAnnotations({ [SSL_REDIRECT]: 'true' }), false, problems), true);
    assert.equal(sslRedirect(withAnnotations({ [SSL_REDIRECT]: ' false ' }), true, problems), false);
    assert.deepEqual(problems, []);
  });

  for (const value of ['yes', 'no', 'True', 'FALSE', '1', '0', '', 'on', 'true;']) {
    it(`refuses ${JSON.stringify(value)} with an error naming the annotation and the value, keeping the default`, () => {
      const problems: Problem[] = [];
      assert.equal(sslRedirect(withAnnotations({ [SSL_REDIRECT]: value }), false, problems), false);
      assert.equal(problems.length, 1, show(problems));
      const p = problems[0]!;
      assert.equal(p.severity, 'error');
      assert.equal(p.object, 'Ingress shop/web');
      assert.equal(p.field, `metadata.annotations["${SSL_REDIRECT}"]`);
      assert.ok(p.message.includes(JSON.stringify(value)), p.message);
      assert.match(p.message, /"true" or "false"/);
    });
  }

  it('parseBool is strict apart from surrounding whitespace', () => {
    assert.equal(parseBool('true'), true);
    assert.equal(parseBool('\tfalse\n'), false);
    assert.equal(parseBool('tru'), undefined);
  });

  describe('parseAnnotations', () => {
    it('returns the ssl-redirect value with the default from settings', () => {
      const problems: Problem[] = [];
      assert.equal(parseAnnotations(withAnnotations({}), ctx(false), problems).sslRedirect, false);
      assert.equal(parseAnnotations(withAnnotations({ [SSL_REDIRECT]: 'true' }), ctx(false), problems).sslRedirect, true);
      assert.equal(parseAnnotations(withAnnotations({ [SSL_REDIRECT]: 'false' }), ctx(true), problems).sslRedirect, false);
      assert.deepEqual(problems, []);
    });

    it('warns about unsupported nginx.ingress.kubernetes.io annotations and ignores other prefixes', () => {
      const problems: Problem[] = [];
      parseAnnotations(withAnnotations({
        'nginx.ingress.kubernetes.io/no-such-annotation': '/',
        'nginx.ingress.kubernetes.io/mirror-target': 'http://x',
        'kubernetes.io/ingress.class': 'nginx',
        'example.com/owner': 'me',
      }), ctx(true), problems);
      assert.deepEqual(problems.map((p) => [p.severity, p.field]), [
        ['warning', 'metadata.annotations["nginx.ingress.kubernetes.io/mirror-target"]'],
        ['warning', 'metadata.annotations["nginx.ingress.kubernetes.io/no-such-annotation"]'],
      ]);
      assert.match(problems[0]!.message, /not supported/);
    });
  });
});
