// The TLS Secret helpers that auth-tls and proxy-ssl share: the namespace/name reference, the CA bundle
// and the key pair.
import assert from 'node:assert/strict';
import { caBundle, keyPair, parseSecretRef } from '../../../src/model/annotations/tls-secrets.js';
import { PREFIX } from '../../../src/model/annotations/values.js';
import type { Problem } from '../../../src/resources.js';
import { ingress } from '../../helpers/resources.js';
import { cleanupPki, dataSecret, issueClient, makeCa } from './tls-fixtures.js';

describe('model/annotations/tls-secrets', () => {
  after(cleanupPki);
  const KEY = `${PREFIX}auth-tls-secret`;
  const ing = (value: string, namespace = 'shop') => ingress({ name: 'web', namespace, annotations: { [KEY]: value } });

  it('parseSecretRef reads namespace/name in the Ingress namespace', () => {
    const problems: Problem[] = [];
    assert.deepEqual(parseSecretRef(ing('shop/ca'), KEY, problems), { namespace: 'shop', name: 'ca' });
    assert.deepEqual(parseSecretRef(ing(' shop/my.ca-1 '), KEY, problems), { namespace: 'shop', name: 'my.ca-1' });
    assert.equal(parseSecretRef(ingress({ name: 'x' }), KEY, problems), undefined);
    assert.deepEqual(problems, []);
  });

  for (const value of [
    'ca',
    'shop/',
    '/ca',
    'shop/ca/x',
    'Shop/ca',
    'shop/CA',
    'shop/ca;',
    'shop/ca\nx',
    '../ca',
    'shop/c a',
    '',
  ]) {
    it(`parseSecretRef refuses ${JSON.stringify(value)}`, () => {
      const problems: Problem[] = [];
      assert.equal(parseSecretRef(ing(value), KEY, problems), null);
      assert.equal(problems.length, 1);
      assert.match(problems[0]!.message, /namespace\/name/);
    });
  }

  it('parseSecretRef refuses a Secret of another namespace', () => {
    const problems: Problem[] = [];
    assert.equal(parseSecretRef(ing('kube-system/ca'), KEY, problems), null);
    assert.match(problems[0]!.message, /own namespace shop/);
  });

  it('caBundle keeps only the parsed CERTIFICATE blocks of ca.crt', () => {
    const first = makeCa('A CA');
    const second = makeCa('B CA');
    const bundle = caBundle(
      dataSecret('ca', { 'ca.crt': `junk before\n${first.cert}between\n${second.cert}after; include /etc/passwd;\n` }),
    );
    assert.ok(typeof bundle !== 'string', String(bundle));
    assert.equal(bundle.count, 2);
    assert.equal(bundle.pem, first.cert + second.cert);
    assert.doesNotMatch(bundle.pem, /junk|between|after|passwd/);
  });

  it('caBundle refuses a Secret without ca.crt, without a certificate, or with a broken one', () => {
    assert.match(String(caBundle(dataSecret('ca', { 'tls.crt': 'x' }))), /no ca\.crt/);
    assert.match(String(caBundle(dataSecret('ca', { 'ca.crt': 'hello' }))), /no PEM CERTIFICATE block/);
    assert.match(
      String(
        caBundle(dataSecret('ca', { 'ca.crt': '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' })),
      ),
      /does not parse/,
    );
  });

  it('keyPair checks tls.crt against tls.key, and is undefined when the Secret has neither', () => {
    const ca = makeCa('K CA');
    const client = issueClient(ca, 'client');
    const other = issueClient(ca, 'other');
    const ok = keyPair(dataSecret('s', { 'tls.crt': client.cert, 'tls.key': client.key }));
    assert.ok(ok && typeof ok !== 'string');
    assert.ok(ok.pem.includes('BEGIN CERTIFICATE') && ok.pem.includes('PRIVATE KEY'));
    assert.equal(keyPair(dataSecret('s', { 'ca.crt': ca.cert })), undefined);
    assert.match(String(keyPair(dataSecret('s', { 'tls.crt': client.cert, 'tls.key': other.key }))), /does not match/);
    assert.match(String(keyPair(dataSecret('s', { 'tls.crt': client.cert }))), /tls\.key.*missing/);
  });
});
