import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildModel } from '../src/model/index.js';
import { SUPPORTED } from '../src/model/annotations/index.js';
import { DIFFERENCES, formatReport, LEFT_OUT, migrationReport, nginxNotes, PREFIX } from '../src/migration-report.js';
import type { ReportRow } from '../src/migration-report.js';
import type { Problem } from '../src/resources.js';
import { objectRef } from '../src/resources.js';
import { endpoints, ingress, OPTIONS, path, rule, service, storeOf } from './helpers/resources.js';

describe('report (migration report)', () => {
  const store = storeOf(
    service({ name: 'web' }),
    ingress({
      name: 'legacy',
      rules: [rule('a.example.com', path('/', 'web'))],
      annotations: {
        'nginx.ingress.kubernetes.io/load-balance': 'ewma',
        'nginx.ingress.kubernetes.io/ssl-redirect': 'maybe',
        'nginx.ingress.kubernetes.io/enable-modsecurity': 'true',
        'nginx.ingress.kubernetes.io/no-such-thing': 'x',
        'example.com/other': 'not ours',
      },
    }),
    ingress({
      name: 'theirs',
      className: 'traefik',
      rules: [],
      annotations: { 'nginx.ingress.kubernetes.io/load-balance': 'ewma' },
    }),
  );
  const { problems } = buildModel(store, OPTIONS);
  const rows = migrationReport(store, OPTIONS, problems);

  it('says per annotation whether it is honoured, ignored (and why) or rejected (and why)', () => {
    const of = (ing: string, key: string) =>
      rows.find((r) => r.ingress === ing && r.annotation === `nginx.ingress.kubernetes.io/${key}`);
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
      service({ name: 'web' }),
      endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] }),
      service({ name: 'web', namespace: 'evil' }),
      service({ name: 'v2' }),
      ingress({ name: 'main', created: '2024-01-01T00:00:00Z', rules: [rule('a.example.com', path('/', 'web'))] }),
      ingress({
        name: 'own',
        annotations: { 'nginx.ingress.kubernetes.io/canary': 'true' },
        rules: [rule('a.example.com', path('/', 'v2'))],
      }),
      ingress({
        name: 'other',
        namespace: 'evil',
        annotations: { 'nginx.ingress.kubernetes.io/canary': 'true' },
        rules: [rule('a.example.com', path('/', 'web'))],
      }),
    );
    const canaryRows = migrationReport(canaries, OPTIONS, buildModel(canaries, OPTIONS).problems);
    const own = canaryRows.find((x) => x.ingress === 'default/own')!;
    assert.equal(own.status, 'honoured');
    assert.match(own.detail, /differs from ingress-nginx: applies only to a main Ingress of the same namespace/);
    const other = canaryRows.find((x) => x.ingress === 'evil/other')!;
    assert.equal(other.status, 'rejected');
    assert.match(other.detail, /routed by Ingress default\/main of another namespace/);
  });
});

describe('report: problems per annotation', () => {
  // the verdict as first written: a search of every problem for each annotation (quadratic, but plain)
  function reference(rows: ReportRow[], problems: Problem[]): { status: string; detail: string }[] {
    return rows.map((row) => {
      const [namespace, name] = row.ingress.split('/') as [string, string];
      const ref = objectRef({ kind: 'Ingress', meta: { namespace, name } } as never);
      if (!row.served) return { status: 'ignored', detail: 'the Ingress belongs to another ingress class' };
      if (!SUPPORTED.has(row.annotation))
        return {
          status: 'ignored',
          detail: LEFT_OUT[row.annotation.slice(PREFIX.length)] ?? 'not supported by ingress-templater',
        };
      const field = `metadata.annotations["${row.annotation}"]`;
      const bad = problems.find((p) => p.severity === 'error' && p.object === ref && p.field === field);
      if (bad) return { status: 'rejected', detail: bad.message };
      const warn = problems.find((p) => p.object === ref && p.field === field);
      return {
        status: 'honoured',
        detail: warn ? warn.message : (DIFFERENCES[row.annotation.slice(PREFIX.length)] ?? ''),
      };
    });
  }

  const KEYS = ['load-balance', 'proxy-body-size', 'ssl-redirect', 'enable-modsecurity', 'no-such-thing'].map(
    (k) => `${PREFIX}${k}`,
  );
  const NAMES = ['a', 'b', 'c', 'd'];

  it('judges every annotation by its first error, else its first problem, as a search of all problems would', () => {
    const problem = fc.record({
      severity: fc.constantFrom('error' as const, 'warning' as const),
      object: fc.option(
        fc.constantFrom(...NAMES.map((n) => `Ingress default/${n}`), 'Ingress other/a', 'Service default/a'),
        { nil: undefined },
      ),
      field: fc.option(fc.constantFrom(...KEYS.map((k) => `metadata.annotations["${k}"]`), 'spec.rules[0].host'), {
        nil: undefined,
      }),
      message: fc.string({ maxLength: 6 }),
    });
    const ing = fc.record({ name: fc.constantFrom(...NAMES), keys: fc.subarray(KEYS), theirs: fc.boolean() });
    fc.assert(
      fc.property(
        fc.uniqueArray(ing, { selector: (i) => i.name, maxLength: 4 }),
        fc.array(problem, { maxLength: 40 }),
        (ings, problems) => {
          const store = storeOf(
            ...ings.map((i) =>
              ingress({
                name: i.name,
                rules: [],
                ...(i.theirs ? { className: 'traefik' } : {}),
                annotations: Object.fromEntries(i.keys.map((k) => [k, 'x'])),
              }),
            ),
          );
          const rows = migrationReport(store, OPTIONS, problems);
          assert.equal(
            rows.length,
            ings.reduce((n, i) => n + i.keys.length, 0),
          );
          assert.deepEqual(
            rows.map((r) => ({ status: r.status, detail: r.detail })),
            reference(rows, problems),
          );
        },
      ),
      { numRuns: 500, seed: 20261207 },
    );
  });

  it('an nginx without headers-more: custom-headers rows and a note say what it cannot do as ingress-nginx did', () => {
    const headers = storeOf(
      service({ name: 'web' }),
      ingress({
        name: 'headers',
        rules: [rule('a.example.com', path('/', 'web'))],
        annotations: { 'nginx.ingress.kubernetes.io/custom-headers': 'resp' },
      }),
    );
    const none: Problem[] = [];
    const plain = { tempPaths: [] };
    const more = { tempPaths: [], headersMore: { module: null } };
    const [row] = migrationReport(headers, OPTIONS, none, plain);
    assert.equal(row?.status, 'honoured');
    assert.match(row!.detail, /add_header: nginx has no headers-more module.*sent twice/);
    assert.equal(migrationReport(headers, OPTIONS, none, more)[0]?.detail, '');
    assert.equal(migrationReport(headers, OPTIONS, none)[0]?.detail, '', 'no nginx known: nothing to say');
    assert.deepEqual(nginxNotes(more), []);
    const [note] = nginxNotes(plain);
    assert.match(note!, /"Server: nginx" is sent/);
    assert.match(formatReport([row!], nginxNotes(plain)), /\nnote: nginx has no headers-more module/);
    assert.match(formatReport([], nginxNotes(plain)), /^no nginx.ingress.kubernetes.io annotations found\nnote: /);
  });

  it('formats a report of a few hundred thousand rows (no spread of them as arguments)', () => {
    const row: ReportRow = {
      ingress: 'default/a',
      file: 'a.yaml',
      served: true,
      annotation: `${PREFIX}load-balance`,
      value: 'ewma',
      status: 'honoured',
      detail: '',
    };
    const text = formatReport(
      Array.from({ length: 300_000 }, (_, i) => ({ ...row, ingress: `default/a${Math.floor(i / 4)}` })),
    );
    assert.match(text, /^300000 annotations: 300000 honoured, 0 ignored, 0 rejected$/m);
  });
});
