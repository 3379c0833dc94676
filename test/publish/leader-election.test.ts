// The election's decisions (client-go's tryAcquireOrRenew as a pure function) and the elector over an
// in-memory Lease with resourceVersions, driven by a hand-moved clock: one leader at a time, renewals, a
// 409 when two replicas write at once, leadership lost when renewals fail for the renew deadline, taken over
// after the TTL, and handed over at once when the leader stops.
import assert from 'node:assert/strict';
import {
  electionTiming,
  type Lease,
  type LeaseClient,
  LeaseConflict,
  LeaderElector,
  microTime,
  nextAttempt,
} from '../../src/publish/leader-election.js';
import { FakeClock, recordingLog } from '../helpers/sync-fakes.js';

const T0 = Date.parse('2026-12-07T10:00:00.000Z');

/** One Lease as the API server keeps it: every write must carry the resourceVersion last read. */
class MemoryLease {
  lease: Lease | null = null;
  private version = 0;
  writes: { by: string; holder: string | undefined }[] = [];

  client(by: string, down: () => boolean = () => false): LeaseClient {
    const check = () => {
      if (down()) throw new Error('connect ECONNREFUSED');
    };
    return {
      get: async () => {
        check();
        return this.lease && structuredClone(this.lease);
      },
      create: async (lease) => {
        check();
        if (this.lease) throw new LeaseConflict('already exists');
        return this.store(by, lease);
      },
      update: async (lease) => {
        check();
        if (lease.metadata.resourceVersion !== this.lease?.metadata.resourceVersion) throw new LeaseConflict('stale');
        return this.store(by, lease);
      },
    };
  }

  private store(by: string, lease: Lease): Lease {
    this.lease = structuredClone({
      ...lease,
      metadata: { ...lease.metadata, resourceVersion: String(++this.version) },
    });
    this.writes.push({ by, holder: lease.spec?.holderIdentity });
    return structuredClone(this.lease);
  }

  get holder(): string | undefined {
    return this.lease?.spec?.holderIdentity;
  }
}

function elector(identity: string, memory: MemoryLease, clock: FakeClock, down?: () => boolean) {
  const { log, events } = recordingLog();
  const leading: string[] = [];
  const replica = new LeaderElector({
    client: memory.client(identity, down),
    identity,
    leaseName: 'ingress-templater/ingress-controller-leader',
    timing: electionTiming(8000), // renew every 2 s, give up after 4 s
    clock,
    log,
    random: () => 0,
    onStartedLeading: () => leading.push(`started at ${clock.now() - T0}`),
    onStoppedLeading: () => leading.push(`stopped at ${clock.now() - T0}`),
  });
  return { replica, events, leading };
}

describe('publish/leader-election', () => {
  describe('nextAttempt (what one try writes)', () => {
    const base = { identity: 'a', now: T0, observedAt: T0, leaseDurationSeconds: 30 };

    it('no Lease: create it, held by us, with no transitions yet', () => {
      assert.deepEqual(nextAttempt({ ...base, lease: null }), {
        write: 'create',
        spec: {
          holderIdentity: 'a',
          leaseDurationSeconds: 30,
          acquireTime: '2026-12-07T10:00:00.000000Z',
          renewTime: '2026-12-07T10:00:00.000000Z',
          leaseTransitions: 0,
        },
      });
    });

    it("another replica's Lease is respected for its duration from when we saw it change, whatever its clock says", () => {
      const lease = { holderIdentity: 'b', leaseDurationSeconds: 30, renewTime: microTime(T0 - 3_600_000) };
      assert.deepEqual(nextAttempt({ ...base, lease, now: T0 + 29_999 }), { write: null, holder: 'b' });
      const taken = nextAttempt({ ...base, lease: { ...lease, leaseTransitions: 4 }, now: T0 + 30_000 });
      assert.equal(taken.write, 'update');
      assert.equal(taken.write && taken.spec.holderIdentity, 'a');
      assert.equal(taken.write && taken.spec.leaseTransitions, 5, 'a new holder counts a transition');
      assert.equal(taken.write && taken.spec.acquireTime, microTime(T0 + 30_000));
    });

    it('our own Lease is renewed: same acquire time and transitions, a new renew time', () => {
      const lease = { holderIdentity: 'a', leaseTransitions: 2, acquireTime: microTime(T0 - 60_000) };
      const renewed = nextAttempt({ ...base, lease, now: T0 + 5000 });
      assert.deepEqual(renewed.write && renewed.spec, {
        holderIdentity: 'a',
        leaseDurationSeconds: 30,
        acquireTime: microTime(T0 - 60_000),
        renewTime: microTime(T0 + 5000),
        leaseTransitions: 2,
      });
    });

    it('a released Lease (no holder) is taken at once', () => {
      const lease = { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 3 };
      const taken = nextAttempt({ ...base, lease });
      assert.equal(taken.write, 'update');
      assert.equal(taken.write && taken.spec.leaseTransitions, 4);
    });
  });

  describe('LeaderElector', () => {
    it('one leader: the first replica creates the Lease and renews it; the other waits and never writes', async () => {
      const clock = new FakeClock(T0);
      const memory = new MemoryLease();
      const first = elector('a', memory, clock);
      const second = elector('b', memory, clock);
      first.replica.start();
      await clock.advance(0);
      second.replica.start();
      await clock.advance(60_000);
      assert.equal(memory.holder, 'a');
      assert.ok(first.replica.isLeader());
      assert.equal(second.replica.isLeader(), false);
      assert.deepEqual(new Set(memory.writes.map((write) => write.by)), new Set(['a']), 'only the leader writes');
      // renewed every retry period (2 s) for a minute
      assert.ok(memory.writes.length >= 30, `${memory.writes.length} writes`);
      assert.deepEqual(first.leading, ['started at 0']);
      assert.equal(first.events('leader_elected').length, 1);
      assert.equal(second.events('leader_observed')[0]?.fields.leader, 'a');
    });

    it('two replicas starting together: one create wins, the other gets a 409 and follows', async () => {
      const clock = new FakeClock(T0);
      const memory = new MemoryLease();
      const first = elector('a', memory, clock);
      const second = elector('b', memory, clock);
      first.replica.start();
      second.replica.start();
      await clock.advance(10_000);
      assert.equal([first, second].filter((replica) => replica.replica.isLeader()).length, 1);
      assert.equal(memory.holder, first.replica.isLeader() ? 'a' : 'b');
    });

    it('a leader that cannot renew gives up after the renew deadline; the other takes over after the TTL', async () => {
      const clock = new FakeClock(T0);
      const memory = new MemoryLease();
      let aDown = false;
      const first = elector('a', memory, clock, () => aDown);
      const second = elector('b', memory, clock);
      first.replica.start();
      await clock.advance(0);
      second.replica.start();
      await clock.advance(5000);
      aDown = true; // a is cut off from the API server, but still running
      await clock.advance(3000);
      await clock.advance(2000);
      assert.equal(first.replica.isLeader(), false, 'not leading once the renew deadline (4 s) passed');
      assert.equal(first.events('leader_lost').length, 1);
      assert.equal(memory.holder, 'a', 'nobody holds it before the TTL');
      await clock.advance(6000);
      assert.equal(memory.holder, 'b', 'taken over once the TTL (8 s) passed unrenewed');
      assert.ok(second.replica.isLeader());
      // a leader gives up (at 4 s) before anyone may take over (at 8 s): never two at once
      aDown = false;
      await clock.advance(10_000);
      assert.equal(first.replica.isLeader(), false);
      assert.equal(memory.holder, 'b');
    });

    it('stop(): the leader releases the Lease and the other replica takes it at its next try, not after the TTL', async () => {
      const clock = new FakeClock(T0);
      const memory = new MemoryLease();
      const first = elector('a', memory, clock);
      const second = elector('b', memory, clock);
      first.replica.start();
      await clock.advance(0);
      second.replica.start();
      await clock.advance(5000);
      const stopped = clock.now();
      await first.replica.stop();
      assert.equal(memory.holder, '', 'released');
      assert.equal(memory.lease?.spec?.leaseDurationSeconds, 1);
      assert.deepEqual(first.leading, ['started at 0', `stopped at ${stopped - T0}`]);
      assert.equal(first.events('leader_released').length, 1);
      await clock.advance(2000); // b's retry period
      assert.equal(memory.holder, 'b');
      assert.ok(clock.now() - stopped <= 2000);
      const before = memory.writes.length;
      await clock.advance(10_000);
      assert.ok(
        memory.writes.slice(before).every((write) => write.by === 'b'),
        'the stopped replica writes no more',
      );
    });
  });
});
