// The sync loop (src/controller.ts) with its real parts (debouncer, apply lane, readiness, reporter, the
// planner) and fakes at the edges: the source, nginx, the applier and the pusher (test/helpers/sync-fakes.ts),
// on a clock that moves only when told. What e2e tests show through spawned processes in seconds, in
// milliseconds: debounce, push vs. reload, reload spacing, failures, nginx dying, readiness, stop().
import assert from 'node:assert/strict';
import { Controller } from '../src/controller.js';
import { ConfigTestError, NotConfirmedError, TemplateError } from '../src/errors.js';
import { renderOptionsFor } from '../src/plan.js';
import { loadTemplates } from '../src/render/index.js';
import type { Resource } from '../src/resources.js';
import type { SyncObserver } from '../src/sync/parts.js';
import { Planner } from '../src/sync/planner.js';
import { endpoints, ingress, OPTIONS, path, rule, service, PLACEMENT } from './helpers/resources.js';
import {
  FakeApplier,
  FakeClock,
  FakeNginx,
  FakePusher,
  FakeSource,
  flush,
  Gate,
  recordingLog,
} from './helpers/sync-fakes.js';

const renderer = loadTemplates();
const BACKEND = 'default_web_80';

const routes = (...paths: string[]): Resource[] => [
  service({ name: 'web' }),
  ingress({ name: 'web', rules: [rule('a.example.com', ...paths.map((route) => path(route, 'web')))] }),
];
const pods = (...ips: string[]): Resource => endpoints({ name: 'web', subsets: [{ ready: ips }] });

interface HarnessOptions {
  balancer?: 'lua' | 'static';
  sidecar?: boolean;
  minWaitMs?: number;
  maxWaitMs?: number;
  minReloadIntervalMs?: number;
  observers?: SyncObserver[];
}

function harness(options: HarnessOptions = {}) {
  const clock = new FakeClock();
  const nginx = new FakeNginx(options.sidecar);
  const applier = new FakeApplier(nginx, clock);
  const pusher = new FakePusher();
  const source = new FakeSource();
  const recorded = recordingLog();
  const balancer = options.balancer ?? 'lua';
  const planner = new Planner({
    model: { ...OPTIONS, balancer },
    renderer,
    render: renderOptionsFor(PLACEMENT, { features: { tempPaths: [] }, luaModules: [] }, balancer, '/lua'),
  });
  const controller = new Controller({
    source,
    store: source.store,
    planner,
    nginx,
    applier,
    pusher: balancer === 'lua' ? pusher.factory : undefined,
    timing: {
      minWaitMs: options.minWaitMs ?? 10,
      maxWaitMs: options.maxWaitMs ?? 250,
      minReloadIntervalMs: options.minReloadIntervalMs ?? 500,
      resolveIntervalMs: 30_000,
    },
    log: recorded.log,
    clock,
    observers: options.observers,
  });
  source.put('web.yaml', ...routes('/'));
  source.put('pods.yaml', pods('10.0.0.1'));
  return { clock, nginx, applier, pusher, source, planner, controller, ...recorded };
}

/** Started, past the first reload's interval, with nothing pending. */
async function running(options: HarnessOptions = {}) {
  const parts = harness(options);
  await parts.controller.start();
  await parts.clock.advance(1000);
  return parts;
}

describe('controller (the sync loop, with fakes)', () => {
  it('starts nginx with the first plan; ready once nginx confirmed it and has the endpoints', async () => {
    const { controller, applier, pusher, events } = harness();
    assert.deepEqual(controller.ready(), { ok: false, reason: 'no configuration applied yet' });
    await controller.start();
    assert.equal(applier.calls.length, 1);
    assert.equal(events('nginx_started').length, 1);
    // before nginx runs, the endpoints are only kept; the start pushes the whole set
    assert.deepEqual(
      pusher.calls.map((call) => [call.kind, call.mode]),
      [
        ['set', 'hold'],
        ['resend', undefined],
      ],
    );
    assert.deepEqual(controller.ready(), { ok: true, reason: `ok ${applier.live!.hash}` });
  });

  it('the Lua balancer is not ready before nginx acknowledged a push', async () => {
    const { controller, pusher } = harness();
    pusher.failing = 'connection refused';
    await controller.start();
    assert.deepEqual(controller.ready(), { ok: false, reason: 'endpoints not pushed to nginx yet' });
  });

  describe('debounce', () => {
    it('a burst of changes is one sync, minWait after the last of them', async () => {
      const { controller, source, clock } = await running({ minWaitMs: 100, maxWaitMs: 1000 });
      const syncs = controller.metrics.syncs;
      for (let i = 0; i < 5; i++) {
        source.put('pods.yaml', pods('10.0.0.1', `10.0.1.${i}`));
        await clock.advance(50);
      }
      await clock.advance(49); // 99 ms after the last change
      assert.equal(controller.metrics.syncs, syncs);
      await clock.advance(1);
      assert.equal(controller.metrics.syncs, syncs + 1);
      await clock.advance(5000);
      assert.equal(controller.metrics.syncs, syncs + 1);
    });

    it('a steady stream of changes is synced maxWait after its first change', async () => {
      const { controller, source, clock } = await running({ minWaitMs: 100, maxWaitMs: 250 });
      const syncs = controller.metrics.syncs;
      for (let i = 0; i < 24; i++) {
        source.put('pods.yaml', pods(`10.0.1.${i}`));
        await clock.advance(10);
        assert.equal(controller.metrics.syncs, syncs, `after ${(i + 1) * 10} ms`);
      }
      await clock.advance(10); // 250 ms after the first change
      assert.equal(controller.metrics.syncs, syncs + 1);
    });
  });

  it('a change noticed during a sync makes another sync, which looks at everything', async () => {
    const { controller, source, clock, applier } = await running();
    const gate = new Gate();
    source.loadGate = gate;
    source.put('web.yaml', ...routes('/', '/a'));
    await clock.advance(10); // the sync waits in the load
    source.put('web.yaml', ...routes('/', '/b'));
    await clock.advance(10); // its debounce fires during the sync
    source.loadGate = null;
    gate.open();
    await clock.advance(0);
    const syncs = controller.metrics.syncs;
    await clock.advance(10);
    assert.equal(controller.metrics.syncs, syncs + 1);
    assert.equal(source.loads.at(-1), true, 'a full load');
    await clock.advance(1000);
    assert.match(applier.live!.text, /Prefix \/b\b/);
  });

  describe('push or reload', () => {
    it('an endpoint-only change pushes the changed backend: no plan, no nginx -t, no reload', async () => {
      const { controller, source, clock, applier, pusher } = await running();
      const applies = applier.calls.length;
      const reloads = controller.metrics.reloads;
      source.put('pods.yaml', pods('10.0.0.1', '10.0.0.2'));
      await clock.advance(10);
      const [update, ...more] = pusher.of('update');
      assert.equal(more.length, 0);
      assert.deepEqual(update!.names, [BACKEND]);
      assert.equal(update!.mode, 'send');
      assert.deepEqual(update!.backends[0]!.endpoints, [
        { address: '10.0.0.1', port: 8080 },
        { address: '10.0.0.2', port: 8080 },
      ]);
      assert.equal(applier.calls.length, applies);
      assert.equal(controller.metrics.reloads, reloads);
      assert.equal(controller.metrics.endpointSyncs, 1);
      assert.equal(controller.metrics.endpointPatches, 1);
    });

    it('a route change is planned, its endpoints pushed first, then nginx reloaded', async () => {
      const { controller, source, clock, applier, pusher, events } = await running();
      const before = applier.live!.hash;
      const pushes = pusher.calls.length;
      source.put('web.yaml', ...routes('/', '/api'));
      await clock.advance(10);
      assert.notEqual(applier.live!.hash, before);
      assert.match(applier.live!.text, /Prefix \/api\b/);
      assert.deepEqual(
        pusher.calls.slice(pushes).map((call) => call.kind),
        ['set', 'resend'],
      );
      const [reload] = events('reload');
      assert.equal(reload!.fields.hash, applier.live!.hash);
      assert.equal(controller.metrics.reloads, 2); // the start and this reload
      assert.equal(controller.metrics.configHash, applier.live!.hash);
    });

    it('an endpoint change with the static balancer is a reload: the endpoints are in the config', async () => {
      const { controller, source, clock, applier, events } = await running({ balancer: 'static' });
      source.put('pods.yaml', pods('10.0.0.1', '10.0.0.2'));
      await clock.advance(10);
      assert.match(applier.live!.text, /10\.0\.0\.2:8080/);
      assert.equal(events('reload').length, 1);
      assert.equal(controller.metrics.endpointSyncs, 0);
    });

    it('a change that renders the same text applies nothing', async () => {
      const { source, clock, applier, controller } = await running();
      const applies = applier.calls.length;
      source.put('other.yaml', service({ name: 'unused' }));
      await clock.advance(10);
      assert.equal(controller.metrics.syncs, 2);
      assert.equal(applier.calls.length, applies + 1);
      assert.equal(applier.calls.at(-1)!.hash, applier.live!.hash); // offered, answered 'unchanged'
      assert.equal(controller.metrics.reloads, 1);
    });
  });

  describe('reload spacing', () => {
    it('reloads are --min-reload-interval apart; of the texts that waited only the newest is applied', async () => {
      const { source, clock, applier } = await running({ minReloadIntervalMs: 500 });
      source.put('web.yaml', ...routes('/', '/a'));
      await clock.advance(10); // applied at once: the last reload was long ago
      assert.equal(applier.calls.length, 2);
      const first = applier.calls[1]!;
      source.put('web.yaml', ...routes('/', '/b'));
      await clock.advance(20);
      source.put('web.yaml', ...routes('/', '/c'));
      await clock.advance(20);
      await clock.advance(first.at + 499 - clock.now());
      assert.equal(applier.calls.length, 2, 'nothing applied within the interval');
      await clock.advance(1);
      assert.equal(applier.calls.length, 3);
      assert.equal(applier.calls[2]!.at - first.at, 500);
      assert.match(applier.live!.text, /Prefix \/c\b/);
      assert.doesNotMatch(applier.live!.text, /Prefix \/b\b/);
    });

    it('endpoint pushes do not wait for the interval', async () => {
      const { source, clock, applier, pusher } = await running({ minReloadIntervalMs: 500 });
      source.put('web.yaml', ...routes('/', '/a'));
      await clock.advance(10);
      source.put('web.yaml', ...routes('/', '/b'));
      await clock.advance(10); // waiting for the interval
      source.put('pods.yaml', pods('10.0.0.9'));
      await clock.advance(10);
      assert.equal(applier.calls.length, 2);
      assert.deepEqual(pusher.of('update').at(-1)!.names, [BACKEND]);
    });
  });

  describe('failures', () => {
    it('a config nginx -t refuses is counted as config_test; the last good config keeps serving', async () => {
      const { controller, source, clock, applier, events } = await running();
      const good = applier.live!.hash;
      applier.answer = async (call) => {
        if (call.hash !== good) throw new ConfigTestError('nginx -t refused it: [emerg] bad', '[emerg] bad');
        return undefined;
      };
      source.put('web.yaml', ...routes('/', '/x'));
      await clock.advance(10);
      assert.equal(controller.metrics.reloadFailures.config_test, 1);
      assert.equal(controller.metrics.lastReloadSuccessful, 0);
      const [failed] = events('config_test_failed');
      assert.equal(failed!.fields.kept, good);
      assert.match(failed!.msg, new RegExp(`still serving config ${good.slice(0, 12)}`));
      assert.equal(applier.live!.hash, good);
      assert.equal(controller.ready().ok, true, 'nginx still runs the last good config');
      assert.match(controller.reporter.lastError, /refused it/);
      // the change reverted: nginx runs what the manifests say again
      source.put('web.yaml', ...routes('/'));
      await clock.advance(10);
      assert.equal(controller.metrics.lastReloadSuccessful, 1);
      assert.equal(controller.reporter.lastError, '');
    });

    it('each failure is counted by what failed: not_confirmed, plan, filesystem', async () => {
      const { controller, source, clock, applier, planner, events } = await running();
      applier.answer = async () => {
        throw new NotConfirmedError('nginx did not confirm config');
      };
      source.put('web.yaml', ...routes('/', '/x'));
      await clock.advance(600);
      assert.equal(controller.metrics.reloadFailures.not_confirmed, 1);
      assert.equal(events('apply_failed').length, 1);

      const plan = planner.plan.bind(planner);
      planner.plan = async () => {
        throw new TemplateError('template broke');
      };
      source.put('web.yaml', ...routes('/', '/y'));
      await clock.advance(600);
      assert.equal(controller.metrics.reloadFailures.plan, 1);
      const [failed] = events('sync_failed');
      assert.match(String(failed!.fields.stack), /TemplateError: template broke/);
      planner.plan = plan;

      source.loadError = Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
      source.put('web.yaml', ...routes('/', '/z'));
      await clock.advance(600);
      assert.equal(controller.metrics.reloadFailures.filesystem, 1);
      source.loadError = null;
      // the loop goes on
      applier.answer = null;
      source.put('web.yaml', ...routes('/', '/z'));
      await clock.advance(600);
      assert.match(applier.live!.text, /Prefix \/z\b/);
      assert.equal(controller.metrics.lastReloadSuccessful, 1);
    });
  });

  describe('nginx dying', () => {
    it('dies during an apply: not ready, the failure counted; restarted, confirmed and pushed again', async () => {
      const { controller, source, clock, applier, nginx, pusher } = await running();
      const gate = new Gate();
      applier.answer = async () => {
        await gate.promise;
        throw new NotConfirmedError('nginx exited while starting');
      };
      source.put('web.yaml', ...routes('/', '/x'));
      await clock.advance(10);
      nginx.die();
      assert.deepEqual(controller.ready(), { ok: false, reason: 'nginx is not running' });
      assert.equal(pusher.resets, 1, 'the next push is the whole set');
      gate.open();
      await flush();
      assert.equal(controller.metrics.reloadFailures.not_confirmed, 1);
      applier.answer = null;
      const resends = pusher.of('resend').length;
      nginx.restart(); // from the file on disk, the last good config
      await flush();
      assert.equal(controller.metrics.nginxRestarts, 1);
      assert.equal(pusher.of('resend').length, resends + 1);
      assert.equal(controller.ready().ok, true);
    });

    it('restarted from another file: a forced sync gives it ours again', async () => {
      const { controller, applier, nginx } = await running();
      const applies = applier.calls.length;
      nginx.die();
      applier.runsLive = false;
      nginx.restart();
      await flush();
      assert.equal(applier.calls.length, applies + 1);
      assert.equal(applier.calls.at(-1)!.force, true, 'the same text, applied anyway');
      assert.equal(controller.ready().ok, true);
    });

    it('a first start that fails is retried when nginx comes back', async () => {
      const { controller, applier, nginx, events } = harness();
      nginx.startFails = true;
      await controller.start();
      assert.equal(events('waiting_for_restart').length, 1);
      assert.equal(applier.live, null);
      nginx.restart();
      await flush();
      assert.ok(applier.live);
      assert.equal(controller.ready().ok, true);
    });

    it('ours, down: a config written meanwhile waits for its restart and is not counted as applied', async () => {
      const { controller, source, clock, applier, nginx, events } = await running();
      applier.answer = async () => {
        throw new NotConfirmedError('nginx exited');
      };
      source.put('web.yaml', ...routes('/', '/x'));
      await clock.advance(10);
      nginx.die();
      applier.answer = null;
      source.put('web.yaml', ...routes('/', '/y'));
      await clock.advance(10);
      assert.equal(events('waiting_for_restart').length, 1);
      assert.equal(controller.metrics.lastReloadSuccessful, 0, 'the failure that ended it stays reported');
    });
  });

  describe('sidecar (an external nginx)', () => {
    it('written before it is up counts as applied; ready once it runs our config, as its polls tell', async () => {
      const { controller, applier, nginx, events } = harness({ sidecar: true });
      await controller.start();
      assert.equal(events('waiting_for_nginx').length, 1);
      assert.equal(controller.metrics.lastReloadSuccessful, 1);
      assert.equal(controller.ready().reason, 'no configuration applied yet');
      nginx.restart(); // its container starts it
      await flush();
      const hash = applier.live!.hash;
      assert.deepEqual(nginx.confirmedHashes, [hash]);
      assert.equal(controller.ready().ok, true);
      nginx.settledHash = 'f'.repeat(64); // its polls say it runs something else
      assert.deepEqual(controller.ready(), {
        ok: false,
        reason: `the external nginx runs config ffffffffffff, not ${hash.slice(0, 12)}`,
      });
    });
  });

  describe('readiness', () => {
    it('pushes failing for 10 s make the controller unready; the next acknowledged push makes it ready', async () => {
      const { controller, source, clock, pusher, events } = await running();
      pusher.failing = 'nginx answered 500';
      source.put('pods.yaml', pods('10.0.0.2'));
      await clock.advance(10);
      assert.equal(events('push_failed').length, 1);
      assert.equal(controller.metrics.endpointPushFailing, 1);
      await clock.advance(9_999);
      assert.equal(controller.ready().ok, true, 'stale endpoints for a while are tolerated');
      await clock.advance(1);
      assert.deepEqual(controller.ready(), {
        ok: false,
        reason: 'endpoint pushes to nginx failing for 10 s: nginx answered 500',
      });
      pusher.failing = null;
      source.put('pods.yaml', pods('10.0.0.3'));
      await clock.advance(10);
      assert.equal(controller.ready().ok, true);
      assert.equal(controller.metrics.endpointPushFailing, 0);
    });
  });

  describe('stop()', () => {
    it('during a sync that hangs: waits 3 s for it, then stops nginx; nothing is applied after', async () => {
      const { controller, source, clock, applier, nginx, pusher } = await running();
      const applies = applier.calls.length;
      const gate = new Gate();
      source.loadGate = gate;
      source.put('web.yaml', ...routes('/', '/x'));
      await clock.advance(10); // the sync waits in the source's load
      let stopped = false;
      const stopping = controller.stop().then(() => {
        stopped = true;
      });
      await clock.advance(2999);
      assert.equal(stopped, false);
      assert.equal(nginx.stops, 0);
      await clock.advance(1);
      await stopping;
      assert.equal(nginx.stops, 1);
      assert.ok(pusher.stopped && source.stopped);
      gate.open();
      await clock.advance(1000);
      assert.equal(applier.calls.length, applies);
    });

    it('while a reload waits for its interval: the waiting text is dropped', async () => {
      const { controller, source, clock, applier, nginx } = await running({ minReloadIntervalMs: 500 });
      source.put('web.yaml', ...routes('/', '/a'));
      await clock.advance(10);
      source.put('web.yaml', ...routes('/', '/b'));
      await clock.advance(10);
      const applies = applier.calls.length;
      await controller.stop();
      await clock.advance(1000);
      assert.equal(applier.calls.length, applies);
      assert.equal(nginx.stops, 1);
    });

    it('changes after stop() start no sync', async () => {
      const { controller, source, clock } = await running();
      await controller.stop();
      const syncs = controller.metrics.syncs;
      source.put('web.yaml', ...routes('/', '/a'));
      await clock.advance(1000);
      assert.equal(controller.metrics.syncs, syncs);
    });
  });

  it('ExternalName addresses that change make a forced sync', async () => {
    const { controller, clock, planner, events } = await running();
    let changed = true;
    planner.namesChanged = async () => changed;
    const syncs = controller.metrics.syncs;
    await clock.advance(30_000);
    assert.equal(events('dns_changed').length, 1);
    assert.equal(controller.metrics.syncs, syncs + 1);
    changed = false;
    await clock.advance(30_000);
    assert.equal(controller.metrics.syncs, syncs + 1);
  });

  it('observers hear every report of problems, each config nginx runs (not a refused one), and stop()', async () => {
    const heard: string[] = [];
    const observer: SyncObserver = {
      problems: (problems) => heard.push(`problems ${problems.length}`),
      applied: (model) => heard.push(`applied ${model.servers.flatMap((server) => server.ingresses).join(',')}`),
      stop: async () => {
        heard.push('stop');
      },
    };
    const { controller, source, clock, applier } = await running({ observers: [observer] });
    assert.deepEqual(heard, ['problems 0', 'applied default/web']);
    const good = applier.live!.hash;
    applier.answer = async (call) => {
      if (call.hash !== good) throw new ConfigTestError('nginx -t refused it: [emerg] bad', '[emerg] bad');
      return undefined;
    };
    source.put(
      'web.yaml',
      ...routes('/', '/x'),
      ingress({ name: 'lost', rules: [rule('b.example.com', path('/', 'gone'))] }),
    );
    await clock.advance(10);
    assert.deepEqual(heard.slice(2), ['problems 1'], 'a config nginx -t refused is not applied');
    source.put('web.yaml', ...routes('/'));
    await clock.advance(10);
    assert.deepEqual(heard.slice(3), ['problems 0', 'applied default/web']);
    await controller.stop();
    assert.equal(heard.at(-1), 'stop');
  });
});
