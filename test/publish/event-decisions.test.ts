// src/publish/event-decisions.ts: which Events to write and when, with time passed in by hand (no I/O).
import assert from 'node:assert/strict';
import { CANARY, CANARY_WEIGHT } from '../../src/model/annotations/canary.js';
import {
  type EventIntent,
  EventLedger,
  ingressesWithErrors,
  MAX_MESSAGE,
  sameIngress,
  ServedIngresses,
  servedIngresses,
  syncIntent,
  warningIntents,
} from '../../src/publish/event-decisions.js';
import type { Ingress, Problem } from '../../src/resources.js';
import { backend, build, ingress, path, rule, service, slice } from '../helpers/resources.js';

const T0 = 1_000_000;
const annotationProblem = (name: string, value: string, severity: Problem['severity'] = 'error'): Problem => ({
  severity,
  object: `Ingress shop/${name}`,
  field: 'metadata.annotations["nginx.ingress.kubernetes.io/proxy-body-size"]',
  message: `invalid value "${value}"`,
});
const noUid = () => undefined;
const warnings = (...problems: Problem[]) => warningIntents(problems, noUid);

/** Every Event the ledger hands out now, each reported written as name-N. */
function drain(ledger: EventLedger, now = T0): { intent: EventIntent; previousCount?: number }[] {
  const out: { intent: EventIntent; previousCount?: number }[] = [];
  for (let next = ledger.next(now); next && !('retryAt' in next); next = ledger.next(now)) {
    out.push({ intent: next.intent, ...(next.previous ? { previousCount: next.previous.count } : {}) });
    const count = (next.previous?.count ?? 0) + 1;
    ledger.written(next.intent, { name: next.previous?.name ?? `event-${out.length}`, count });
  }
  return out;
}

describe('publish/event-decisions', () => {
  describe('warningIntents: the problems that become Warnings', () => {
    it('only problems naming an Ingress, one per distinct problem, reason by where the problem is', () => {
      const intents = warningIntents(
        [
          annotationProblem('web', 'lots'),
          annotationProblem('web', 'lots'), // the same problem twice in one sync
          { severity: 'error', object: 'Ingress shop/web', field: 'spec.rules[0].host', message: 'bad host' },
          { severity: 'warning', object: 'Ingress shop/web', field: 'spec.rules[0]...backend', message: 'no Service' },
          { severity: 'error', object: 'Service shop/web', field: 'spec.ports', message: 'not an Ingress' },
          { severity: 'error', file: 'a.yaml', message: 'no object at all' },
        ],
        (namespace, name) => (namespace === 'shop' && name === 'web' ? 'uid-1' : undefined),
      );
      assert.deepEqual(
        intents.map(({ ingress, type, reason, message }) => ({ ingress, type, reason, message })),
        [
          {
            ingress: { namespace: 'shop', name: 'web', uid: 'uid-1' },
            type: 'Warning',
            reason: 'AnnotationParsingFailed',
            message: 'metadata.annotations["nginx.ingress.kubernetes.io/proxy-body-size"]: invalid value "lots"',
          },
          {
            ingress: { namespace: 'shop', name: 'web', uid: 'uid-1' },
            type: 'Warning',
            reason: 'Rejected',
            message: 'spec.rules[0].host: bad host',
          },
          {
            ingress: { namespace: 'shop', name: 'web', uid: 'uid-1' },
            type: 'Warning',
            reason: 'Degraded',
            message: 'spec.rules[0]...backend: no Service',
          },
        ],
      );
    });

    it('a message is cut at the API limit; the key tells Ingresses of another uid apart', () => {
      const long = { ...annotationProblem('web', 'x'), message: 'y'.repeat(5000) };
      assert.equal(warnings(long)[0]!.message.length, MAX_MESSAGE);
      const before = warningIntents([annotationProblem('web', 'x')], () => 'uid-1')[0]!;
      const recreated = warningIntents([annotationProblem('web', 'x')], () => 'uid-2')[0]!;
      assert.notEqual(before.key, recreated.key);
      assert.deepEqual([...ingressesWithErrors([long, annotationProblem('other', 'x', 'warning')])], ['shop/web']);
    });
  });

  describe('EventLedger', () => {
    it('a problem is written once while it lasts, however many syncs report it', () => {
      const ledger = new EventLedger();
      ledger.setWarnings(warnings(annotationProblem('web', 'lots')));
      assert.equal(drain(ledger).length, 1);
      for (let sync = 0; sync < 5; sync++) {
        ledger.setWarnings(warnings(annotationProblem('web', 'lots')));
        assert.deepEqual(drain(ledger, T0 + sync * 1000), []);
      }
      assert.equal(ledger.next(T0 + 10_000), null);
    });

    it('gone and back: the same Event counted again (its name, count + 1); another problem: a new Event', () => {
      const ledger = new EventLedger();
      ledger.setWarnings(warnings(annotationProblem('web', 'lots')));
      assert.deepEqual(
        drain(ledger).map((emission) => emission.previousCount),
        [undefined],
      );
      ledger.setWarnings([]);
      assert.deepEqual(drain(ledger), []);
      ledger.setWarnings(warnings(annotationProblem('web', 'lots')));
      const again = ledger.next(T0);
      assert.ok(again && !('retryAt' in again));
      assert.deepEqual(again.previous, { name: 'event-1', count: 1 });
      ledger.written(again.intent, { name: 'event-1', count: 2 });
      ledger.setWarnings(warnings(annotationProblem('web', 'more')));
      const other = drain(ledger);
      assert.equal(other.length, 1);
      assert.equal(other[0]!.previousCount, undefined);
      assert.match(other[0]!.intent.message, /"more"/);
    });

    it('at most 25 Events per Ingress and type at once, then one per 5 minutes (the rest wait, in order)', () => {
      const ledger = new EventLedger();
      const many = Array.from({ length: 30 }, (_, index) => annotationProblem('web', `v${index}`));
      ledger.setWarnings(warnings(...many, annotationProblem('other', 'x')));
      const first = drain(ledger);
      assert.equal(first.length, 26, 'the other Ingress has its own bucket');
      const throttled = ledger.next(T0);
      assert.deepEqual(throttled, { retryAt: T0 + 300_000 });
      assert.deepEqual(drain(ledger, T0 + 299_000), []);
      const later = drain(ledger, T0 + 300_000);
      assert.deepEqual(
        later.map((emission) => emission.intent.message.match(/"(v\d+)"/)![1]),
        ['v25'],
      );
      assert.equal(drain(ledger, T0 + 1_500_000).length, 4, 'four more tokens over the next 20 minutes');
    });

    it('at most maxPending wait: the rest are dropped and counted, and not tried again while they last', () => {
      const ledger = new EventLedger({ maxPending: 3 });
      const five = Array.from({ length: 5 }, (_, index) => annotationProblem(`web-${index}`, 'x'));
      ledger.setWarnings(warnings(...five));
      assert.equal(ledger.dropped, 2);
      assert.equal(drain(ledger).length, 3);
      ledger.setWarnings(warnings(...five));
      assert.deepEqual(drain(ledger), []);
      ledger.add(syncIntent({ namespace: 'shop', name: 'a' }));
      assert.equal(ledger.waiting, 1);
      assert.equal(ledger.dropped, 2);
    });

    it('a failed write waits again when worth retrying, else is given up until the problem comes back', () => {
      const ledger = new EventLedger();
      ledger.setWarnings(warnings(annotationProblem('web', 'lots')));
      const first = ledger.next(T0);
      assert.ok(first && !('retryAt' in first));
      ledger.failed(first.intent, true);
      const retried = ledger.next(T0);
      assert.ok(retried && !('retryAt' in retried));
      assert.equal(retried.intent.key, first.intent.key);
      ledger.failed(retried.intent, false);
      ledger.setWarnings(warnings(annotationProblem('web', 'lots')));
      assert.equal(ledger.next(T0), null, 'given up while it lasts');
      ledger.setWarnings([]);
      ledger.setWarnings(warnings(annotationProblem('web', 'lots')));
      const back = ledger.next(T0);
      assert.ok(back && !('retryAt' in back));
      assert.equal(back.previous, undefined, 'never written: a new Event');
    });

    it('a problem gone and back while its Event is being written: counted on that Event once written', () => {
      const ledger = new EventLedger();
      ledger.setWarnings(warnings(annotationProblem('web', 'lots')));
      const sending = ledger.next(T0);
      assert.ok(sending && !('retryAt' in sending));
      ledger.setWarnings([]);
      ledger.setWarnings(warnings(annotationProblem('web', 'lots')));
      ledger.written(sending.intent, { name: 'event-1', count: 1 });
      const back = ledger.next(T0);
      assert.ok(back && !('retryAt' in back));
      assert.deepEqual(back.previous, { name: 'event-1', count: 1 });
    });

    it('forgets the least recently written Events past historySize: one of those coming back is new', () => {
      const ledger = new EventLedger({ historySize: 2 });
      ledger.setWarnings(
        warnings(annotationProblem('a', 'x'), annotationProblem('b', 'x'), annotationProblem('c', 'x')),
      );
      assert.equal(drain(ledger).length, 3);
      ledger.setWarnings([]);
      ledger.setWarnings(warnings(annotationProblem('a', 'x'), annotationProblem('c', 'x')));
      assert.deepEqual(
        drain(ledger).map((emission) => [emission.intent.ingress.name, emission.previousCount]),
        [
          ['a', undefined],
          ['c', 1],
        ],
      );
    });

    it('a Sync is written once; one that failed to be written waits again, first', () => {
      const ledger = new EventLedger();
      ledger.add(syncIntent({ namespace: 'shop', name: 'a', uid: 'uid-a' }));
      ledger.add(syncIntent({ namespace: 'shop', name: 'b', uid: 'uid-b' }));
      const first = ledger.next(T0);
      assert.ok(first && !('retryAt' in first));
      assert.equal(first.intent.reason, 'Sync');
      assert.equal(first.intent.type, 'Normal');
      ledger.failed(first.intent, true);
      assert.deepEqual(
        drain(ledger).map((emission) => emission.intent.ingress.name),
        ['a', 'b'],
      );
      assert.equal(ledger.next(T0), null);
    });
  });

  describe('ServedIngresses: which Ingresses are due a Sync', () => {
    // version: a host of its own, so that two versions say different things
    const version = (name: string, host: string) => ingress({ name, namespace: 'shop', rules: [rule(host)] });
    const served = (...ingresses: Ingress[]) =>
      new Map(ingresses.map((one) => [`${one.meta.namespace}/${one.meta.name}`, one]));

    it('none on start; then new ones and new versions, each once; the same one read again is no news', () => {
      const tracker = new ServedIngresses();
      const first = version('a', 'a.example.com');
      assert.deepEqual(tracker.update(served(first, version('b', 'b.example.com')), new Set()), []);
      const now = served(first, version('b', 'b2.example.com'), version('c', 'c.example.com'));
      assert.deepEqual(tracker.update(now, new Set()), ['shop/b', 'shop/c']);
      assert.deepEqual(tracker.update(now, new Set()), [], 'a resync is no news');
      const relisted = served(...[...now.values()].map((one) => structuredClone(one)));
      assert.deepEqual(tracker.update(relisted, new Set()), [], 'a relist is no news');
    });

    it('not while it has an error; once fixed, even back to a version announced before', () => {
      const tracker = new ServedIngresses();
      const good = version('a', 'a.example.com');
      tracker.update(served(good), new Set());
      assert.deepEqual(tracker.update(served(version('a', 'broken.example.com')), new Set(['shop/a'])), []);
      assert.deepEqual(tracker.update(served(good), new Set()), ['shop/a']);
    });

    it('one no longer served (deleted, another class) is news again when it comes back', () => {
      const tracker = new ServedIngresses();
      const one = version('a', 'a.example.com');
      tracker.update(served(one), new Set());
      assert.deepEqual(tracker.update(served(), new Set()), []);
      assert.deepEqual(tracker.update(served(one), new Set()), ['shop/a']);
    });
  });

  it('servedIngresses: those with hosts, with only a default backend, and canaries', () => {
    const resources = [
      service({ name: 'web', namespace: 'shop' }),
      service({ name: 'web-next', namespace: 'shop' }),
      service({ name: 'fallback', namespace: 'shop' }),
      slice({ name: 'web-1', namespace: 'shop', service: 'web', endpoints: ['10.0.0.1'] }),
      slice({ name: 'web-next-1', namespace: 'shop', service: 'web-next', endpoints: ['10.0.0.2'] }),
      ingress({ name: 'main', namespace: 'shop', rules: [rule('a.example.com', path('/', 'web'))] }),
      ingress({ name: 'fallback', namespace: 'shop', defaultBackend: backend('fallback') }),
      ingress({
        name: 'next',
        namespace: 'shop',
        annotations: { [CANARY]: 'true', [CANARY_WEIGHT]: '10' },
        rules: [rule('a.example.com', path('/', 'web-next'))],
      }),
      ingress({ name: 'other-class', namespace: 'shop', className: 'other', rules: [rule('b.example.com')] }),
    ];
    const { model, problems } = build(resources, { balancer: 'lua' });
    assert.deepEqual(problems, []);
    assert.deepEqual([...servedIngresses(model)].sort(), ['shop/fallback', 'shop/main', 'shop/next']);
  });

  it('sameIngress: what an Ingress says (uid, metadata, spec), not where it was read', () => {
    const one = ingress({ name: 'a', rules: [rule('a.example.com', path('/', 'web'))] });
    assert.ok(sameIngress(one, { ...one, source: { file: 'elsewhere.yaml', line: 99 } }));
    assert.ok(sameIngress(one, structuredClone(one)));
    assert.ok(!sameIngress(one, { ...one, meta: { ...one.meta, labels: { team: 'x' } } }));
    assert.ok(!sameIngress(one, { ...one, meta: { ...one.meta, uid: 'uid-2' } }));
    assert.ok(!sameIngress(one, { ...one, rules: [] }));
  });
});
