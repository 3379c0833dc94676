import assert from 'node:assert/strict';
import { buildModel } from '../src/model/index.js';
import { formatReport, migrationReport } from '../src/report.js';
import { endpoints, ingress, OPTIONS, path, rule, service, storeOf } from './helpers/resources.js';

describe('report (migration report)', () => {
  const store = storeOf(
    service({ name: 'web' }),
    ingress({
      name: 'legacy', rules: [rule('a.example.com', path('/', 'web'))],
      annotations: {
        'nginx.ingress.kubernetes.io/load-balance': 'ewma',
        'nginx.ingress.kubernetes.io/ssl-redirect': 'maybe',
        'nginx.ingress.kubernetes.io/enable-modsecurity': 'true',
        'nginx.ingress.kubernetes.io/no-such-thing': 'x',
        'example.com/other': 'not ours',
      },
    }),
    ingress({ name: 'theirs', className: 'traefik', rules: [], annotations: { 'nginx.ingress.kubernetes.io/load-balance': 'ewma' } }),
  );
  const { problems } = buildModel(store, OPTIONS);
  const rows = migrationReport(store, OPTIONS, problems);

  it('says per annotation whether it is honoured, ignored (and why) or rejected (and why)', () => {
    const of = (ing: string, key: string) => rows.find((r) => r.ingress === ing && r.annotation === `nginx.ingress.kubernetes.io/${key}`);
    assert.equal(of('default/legacy', 'load-balance')?.status, 'honoured');
    assert.equal(of('default/legacy', 'ssl-redirect')?.status, 'rejected');
    assert.match(of('default/legacy', 'ssl-redirect')!.detail, /invalid value "maybe"/);
    assert.equal(of('default/legacy', 'enable-modsecurity')?.status, 'ignored');
    assert.match(of('default/legacy', 'enable-modsecurity')!.detail, /ModSecurity/);
    assert.equal(of('default/legacy', 'no-such-thing')?.detail, 'not supported by ingress-templater');
    assert.equal(of('default/theirs', 'load-balance')?.status, 'ignored');
    assert.match(of('default/theirs', 'load-balance')!.detail, /another ingress class/);
    assert.equal(rows.filter((r) => r.annotation.startsWith('example.com')).length, 0);
  });

  it('formats a table grouped by Ingress with a summary line', () => {
    const text = formatReport(rows);
    assert.match(text, /^Ingress default\/legacy \(test\.yaml\)$/m);
    assert.match(text, /^ {2}ssl-redirect\s+rejected\s+invalid value "maybe"/m);
    assert.match(text, /^Ingress default\/theirs \(test\.yaml\), not served by this controller$/m);
    assert.match(text, /^5 annotations: 1 honoured, 3 ignored, 1 rejected$/m);
  });

  it('names the deliberate differences: a canary of another namespace is rejected, one of its own says it differs', () => {
    const canaries = storeOf(
      service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] }),
      service({ name: 'web', namespace: 'evil' }), service({ name: 'v2' }),
      ingress({ name: 'main', created: '2024-01-01T00:00:00Z', rules: [rule('a.example.com', path('/', 'web'))] }),
      ingress({ name: 'own', annotations: { 'nginx.ingress.kubernetes.io/canary': 'true' }, rules: [rule('a.example.com', path('/', 'v2'))] }),
      ingress({ name: 'other', namespace: 'evil', annotations: { 'nginx.ingress.kubernetes.io/canary': 'true' }, rules: [rule('a.example.com', path('/', 'web'))] }),
    );
    const r = migrationReport(canaries, OPTIONS, buildModel(canaries, OPTIONS).problems);
    const own = r.find((x) => x.ingress === 'default/own')!;
    assert.equal(own.status, 'honoured');
    assert.match(own.detail, /differs from ingress-nginx: applies only to a main Ingress of the same namespace/);
    const other = r.find((x) => x.ingress === 'evil/other')!;
    assert.equal(other.status, 'rejected');
    assert.match(other.detail, /routed by Ingress default\/main of another namespace/);
  });
});
