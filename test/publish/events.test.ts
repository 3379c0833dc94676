// src/publish/events.ts: the recorder's requests and how it takes the API's answers, with an API that answers
// as each test says and a clock moved by hand. test/e2e/kubernetes-events.test.ts runs it against the real
// API server and kubectl.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import type { Model } from '../../src/model/index.js';
import { EventRecorder, FORBIDDEN_PAUSE_MS } from '../../src/publish/events.js';
import type { Ingress, Problem } from '../../src/resources.js';
import type { ApiConfig, ApiRequest } from '../../src/sources/kubernetes/config.js';
import { ingress, path, rule } from '../helpers/resources.js';
import { FakeClock, flush, recordingLog } from '../helpers/sync-fakes.js';

interface Sent {
  method: string;
  path: string;
  contentType?: string;
  body: Record<string, unknown> | undefined;
}

type Answer = { status: number; body?: unknown } | Error;

/** The API: records each request and answers with what answer() returns for it (default: 201 with the body). */
class FakeApi {
  readonly sent: Sent[] = [];
  answer: (sent: Sent) => Answer = (sent) => ({ status: 201, body: sent.body });
  readonly config = {
    request: async (pathAndQuery: string, request: ApiRequest & { body?: string } = {}) => {
      const sent: Sent = {
        method: request.method ?? 'GET',
        path: pathAndQuery,
        contentType: request.headers?.['content-type'],
        body: request.body === undefined ? undefined : JSON.parse(request.body),
      };
      this.sent.push(sent);
      const answer = this.answer(sent);
      if (answer instanceof Error) throw answer;
      const response = new PassThrough() as unknown as IncomingMessage & PassThrough;
      response.statusCode = answer.status;
      setImmediate(() => response.end(answer.body === undefined ? '' : JSON.stringify(answer.body)));
      return response;
    },
  } as unknown as ApiConfig;

  posts(): Sent[] {
    return this.sent.filter((sent) => sent.method === 'POST');
  }
}

const web = (uid?: string, host = 'web.example.com'): Ingress => {
  const made = ingress({ name: 'web', namespace: 'shop', rules: [rule(host, path('/', 'web'))] });
  if (uid) made.meta.uid = uid;
  return made;
};
const badAnnotation = (value: string): Problem => ({
  severity: 'error',
  object: 'Ingress shop/web',
  field: 'metadata.annotations["nginx.ingress.kubernetes.io/proxy-body-size"]',
  message: `invalid value "${value}"`,
});
const serving = (...ids: string[]): Model =>
  ({
    servers: [{ host: 'web.example.com', ingresses: ids, fallback: { backend: null, ingress: null }, locations: [] }],
    backends: [],
  }) as unknown as Model;

describe('publish/events: the Event recorder', () => {
  let api: FakeApi;
  let clock: FakeClock;
  let store: Map<string, Ingress>;
  let recorded: ReturnType<typeof recordingLog>;
  let recorder: EventRecorder;

  const start = (options: { syncEvents?: boolean; maxPending?: number } = {}) => {
    recorder = new EventRecorder({
      api: api.config,
      ingress: (namespace, name) => store.get(`${namespace}/${name}`),
      log: recorded.log,
      podName: 'controller-0',
      syncEvents: options.syncEvents ?? true,
      clock,
      ...(options.maxPending ? { limits: { maxPending: options.maxPending } } : {}),
    });
  };
  /** One sync of the controller: its problems, then nginx runs its model; the writes they start, done. */
  const sync = async (problems: Problem[], model = serving()) => {
    recorder.problems(problems);
    recorder.applied(model);
    await flush();
  };

  beforeEach(() => {
    api = new FakeApi();
    clock = new FakeClock(Date.parse('2026-01-02T03:04:05.678Z'));
    store = new Map([['shop/web', web('uid-1')]]);
    recorded = recordingLog();
    start();
  });
  afterEach(async () => {
    await recorder.stop();
  });

  it('a Warning names the Ingress by kind, namespace, name, uid and apiVersion, from this replica', async () => {
    await sync([badAnnotation('lots')]);
    assert.equal(api.sent.length, 1);
    const [post] = api.sent;
    assert.equal(post!.path, '/api/v1/namespaces/shop/events');
    assert.equal(post!.contentType, 'application/json');
    const body = post!.body!;
    assert.match(String((body.metadata as { name: string }).name), /^web\.[0-9a-f]{16}$/);
    assert.deepEqual(
      { ...body, metadata: { ...(body.metadata as object), name: 'NAME' } },
      {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'NAME', namespace: 'shop' },
        involvedObject: {
          kind: 'Ingress',
          apiVersion: 'networking.k8s.io/v1',
          namespace: 'shop',
          name: 'web',
          uid: 'uid-1',
        },
        type: 'Warning',
        reason: 'AnnotationParsingFailed',
        message: 'metadata.annotations["nginx.ingress.kubernetes.io/proxy-body-size"]: invalid value "lots"',
        source: { component: 'ingress-templater', host: 'controller-0' },
        firstTimestamp: '2026-01-02T03:04:05Z',
        lastTimestamp: '2026-01-02T03:04:05Z',
        count: 1,
        reportingComponent: 'ingress-templater',
        reportingInstance: 'controller-0',
      },
    );
    assert.deepEqual(recorder.stats, { created: 1, patched: 0, givenUp: 0 });
  });

  it('the same problem on later syncs: nothing more; back after it went away: a PATCH of count and lastTimestamp', async () => {
    await sync([badAnnotation('lots')]);
    await sync([badAnnotation('lots')]);
    await sync([badAnnotation('lots')]);
    assert.equal(api.sent.length, 1);
    const name = (api.sent[0]!.body!.metadata as { name: string }).name;
    await sync([]);
    await clock.advance(60_000);
    await sync([badAnnotation('lots')]);
    assert.equal(api.sent.length, 2);
    assert.deepEqual(api.sent[1], {
      method: 'PATCH',
      path: `/api/v1/namespaces/shop/events/${name}`,
      contentType: 'application/strategic-merge-patch+json',
      body: {
        count: 2,
        lastTimestamp: '2026-01-02T03:05:05Z',
        message: 'metadata.annotations["nginx.ingress.kubernetes.io/proxy-body-size"]: invalid value "lots"',
      },
    });
    assert.deepEqual(recorder.stats, { created: 1, patched: 1, givenUp: 0 });
  });

  it('a PATCH of an Event the API no longer has (expired): a new Event instead', async () => {
    await sync([badAnnotation('lots')]);
    await sync([]);
    api.answer = (sent) => (sent.method === 'PATCH' ? { status: 404, body: {} } : { status: 201, body: sent.body });
    await sync([badAnnotation('lots')]);
    assert.deepEqual(
      api.sent.map((sent) => sent.method),
      ['POST', 'PATCH', 'POST'],
    );
    assert.equal(api.sent[2]!.body!.count, 1);
  });

  it('a Sync when nginx serves a new version of an Ingress, none for what it served from the start', async () => {
    const model = serving('shop/web');
    await sync([], model);
    await sync([], model);
    assert.equal(api.sent.length, 0, 'nothing on start');
    store.set('shop/web', web('uid-1', 'changed.example.com'));
    await sync([], model);
    assert.equal(api.sent.length, 1);
    assert.deepEqual(
      {
        type: api.sent[0]!.body!.type,
        reason: api.sent[0]!.body!.reason,
        uid: (api.sent[0]!.body!.involvedObject as { uid: string }).uid,
      },
      { type: 'Normal', reason: 'Sync', uid: 'uid-1' },
    );
    // an Event wanted after a sync that wrote nothing is written all the same
    await sync([], model);
    store.set('shop/web', web('uid-1', 'again.example.com'));
    recorder.applied(serving('shop/web'));
    await flush();
    assert.deepEqual(
      api.sent.map((sent) => sent.method),
      ['POST', 'PATCH'],
    );
  });

  it('--disable-sync-events: Warnings only', async () => {
    start({ syncEvents: false });
    const model = serving('shop/web');
    await sync([], model);
    store.set('shop/web', web('uid-1', 'changed.example.com'));
    await sync([badAnnotation('lots')], model);
    await sync([], model);
    assert.deepEqual(
      api.sent.map((sent) => sent.body!.reason),
      ['AnnotationParsingFailed'],
    );
  });

  it('403: logged once, nothing tried for the pause, then the Events still wanted are written', async () => {
    api.answer = () => ({ status: 403, body: { kind: 'Status', message: 'events is forbidden' } });
    await sync([badAnnotation('lots')]);
    for (let i = 0; i < 5; i++) {
      await clock.advance(60_000);
      await sync([badAnnotation('lots'), badAnnotation(`other-${i}`)]);
    }
    assert.equal(api.sent.length, 1);
    assert.equal(recorded.events('events_forbidden').length, 1);
    assert.match(recorded.events('events_forbidden')[0]!.msg, /create and patch on events/);
    api.answer = (sent) => ({ status: 201, body: sent.body });
    await clock.advance(FORBIDDEN_PAUSE_MS);
    assert.deepEqual(
      api.sent.slice(1).map((sent) => sent.body!.message),
      [
        'metadata.annotations["nginx.ingress.kubernetes.io/proxy-body-size"]: invalid value "lots"',
        'metadata.annotations["nginx.ingress.kubernetes.io/proxy-body-size"]: invalid value "other-4"',
      ],
    );
  });

  it('an API that does not answer: logged once, retried after a growing pause, said when it answers again', async () => {
    let down = true;
    api.answer = (sent) => (down ? new Error('connect ECONNREFUSED') : { status: 201, body: sent.body });
    await sync([badAnnotation('lots')]);
    assert.equal(api.sent.length, 1);
    await clock.advance(1000); // the first pause: at most 1 s
    assert.equal(api.sent.length, 2);
    await clock.advance(2000); // the second: at most 2 s
    assert.equal(api.sent.length, 3);
    await clock.advance(1000); // the third is 2 s at least: nothing yet
    assert.equal(api.sent.length, 3);
    down = false;
    await clock.advance(3000);
    assert.equal(api.posts().length, 4);
    assert.equal(recorded.events('events_unanswered').length, 1);
    assert.equal(recorded.events('events_resumed').length, 1);
    assert.deepEqual(recorder.stats, { created: 1, patched: 0, givenUp: 0 });
  });

  it('refused as written (422): given up, not tried again while the problem lasts', async () => {
    api.answer = () => ({ status: 422, body: { message: 'Event "x" is invalid' } });
    await sync([badAnnotation('lots')]);
    await clock.advance(FORBIDDEN_PAUSE_MS);
    await sync([badAnnotation('lots')]);
    assert.equal(api.sent.length, 1);
    assert.equal(recorded.events('event_refused').length, 1);
    assert.deepEqual(recorder.stats, { created: 0, patched: 0, givenUp: 1 });
  });

  it('an Ingress the store does not hold (refused since its creation): its uid from a list of that name', async () => {
    store.clear();
    api.answer = (sent) =>
      sent.method === 'GET' ? { status: 200, body: { items: [{ metadata: { uid: 'uid-9' } }] } } : { status: 201 };
    await sync([badAnnotation('lots')], serving());
    assert.deepEqual(
      api.sent.map((sent) => `${sent.method} ${sent.path}`),
      [
        'GET /apis/networking.k8s.io/v1/namespaces/shop/ingresses?fieldSelector=metadata.name%3Dweb',
        'POST /api/v1/namespaces/shop/events',
      ],
    );
    assert.equal((api.sent[1]!.body!.involvedObject as { uid: string }).uid, 'uid-9');
  });

  it('an Ingress gone from the API before its Event is written: none', async () => {
    store.clear();
    api.answer = (sent) => (sent.method === 'GET' ? { status: 200, body: { items: [] } } : { status: 201 });
    await sync([badAnnotation('lots')], serving());
    assert.deepEqual(
      api.sent.map((sent) => sent.method),
      ['GET'],
    );
  });

  it('more waiting than maxPending: the rest dropped, counted and logged once per sync that drops', async () => {
    start({ maxPending: 2 });
    api.answer = () => new Error('connect ECONNREFUSED'); // nothing leaves: everything waits
    await sync([badAnnotation('a'), badAnnotation('b'), badAnnotation('c'), badAnnotation('d')]);
    await sync([badAnnotation('a'), badAnnotation('b'), badAnnotation('c'), badAnnotation('d')]);
    assert.equal(recorder.dropped, 2);
    assert.deepEqual(
      recorded.events('events_dropped').map((record) => [record.fields.dropped, record.fields.total]),
      [[2, 2]],
    );
  });

  it('stop(): what waits is written, then nothing more', async () => {
    recorder.problems([badAnnotation('a'), badAnnotation('b')]);
    await recorder.stop();
    assert.equal(api.sent.length, 2);
    await sync([badAnnotation('c')]);
    assert.equal(api.sent.length, 2);
  });
});
