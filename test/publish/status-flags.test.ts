// run's status flags: ingress-nginx's names and defaults, refused without the API, and POD_NAME/POD_NAMESPACE.
import assert from 'node:assert/strict';
import { parseDuration, STATUS_FLAGS, statusSettings } from '../../src/publish/status-flags.js';

const defaults = Object.fromEntries(
  Object.entries(STATUS_FLAGS).flatMap(([flag, spec]) => ('default' in spec ? [[flag, spec.default]] : [])),
);
const env = { POD_NAME: 'ingress-templater-7f9c-x2', POD_NAMESPACE: 'ingress' };
const settings = (values: Record<string, string>, api = true, environment: NodeJS.ProcessEnv = env) =>
  statusSettings({ ...defaults, ...values }, (flag) => flag in values, api, environment);

describe('publish/status-flags', () => {
  it("ingress-nginx's defaults: Lease ingress-controller-leader, TTL 30s, status on, removed on shutdown", () => {
    const on = settings({ 'publish-service': 'ingress/ingress-templater' });
    assert.deepEqual(on, {
      on: {
        publish: { service: { namespace: 'ingress', name: 'ingress-templater' } },
        lease: { namespace: 'ingress', name: 'ingress-controller-leader' },
        identity: 'ingress-templater-7f9c-x2',
        electionTtlMs: 30_000,
        clearOnShutdown: true,
      },
    });
  });

  it('--publish-status-address comes before --publish-service, as in ingress-nginx', () => {
    const on = settings({ 'publish-service': 'ingress/lb', 'publish-status-address': 'lb.example.com,192.0.2.1' });
    assert.deepEqual('on' in on && on.on.publish, { addresses: [{ ip: '192.0.2.1' }, { hostname: 'lb.example.com' }] });
  });

  it('no status: --update-status=false, or neither address flag (said why)', () => {
    assert.deepEqual(settings({ 'update-status': 'false', 'publish-service': 'ingress/lb' }), {
      off: '--update-status=false',
    });
    const off = settings({});
    assert.match('off' in off ? off.off : '', /neither --publish-service nor --publish-status-address/);
  });

  it('refused without the API, and when malformed', () => {
    assert.throws(
      () => settings({ 'publish-service': 'ingress/lb' }, false),
      /--publish-service needs the Kubernetes API/,
    );
    assert.throws(() => settings({ 'update-status': 'false' }, false), /--update-status needs the Kubernetes API/);
    assert.deepEqual(settings({}, false), { off: 'not watching the Kubernetes API' });
    assert.throws(() => settings({ 'publish-service': 'lb' }), /--publish-service must be NAMESPACE\/NAME/);
    assert.throws(() => settings({ 'publish-status-address': 'not an address' }), /--publish-status-address/);
    assert.throws(() => settings({ 'election-ttl': '30' }), /--election-ttl must be a duration/);
    assert.throws(() => settings({ 'election-ttl': '1s' }), /--election-ttl must be a duration from 2s/);
    assert.throws(() => settings({ 'update-status': 'yes' }), /--update-status must be true or false/);
    assert.throws(() => settings({ 'election-id': 'Not_A_Name' }), /--election-id/);
  });

  it('POD_NAME and POD_NAMESPACE are needed outside a pod', () => {
    const flags = { 'publish-service': 'ingress/lb' };
    assert.throws(() => settings(flags, true, { POD_NAMESPACE: 'ingress' }), /POD_NAME is not set/);
    assert.throws(() => settings(flags, true, { POD_NAME: 'a' }), /POD_NAMESPACE is not set/);
  });

  it('Go durations as --election-ttl takes them', () => {
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1.5m'), 90_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('30'), null);
    assert.equal(parseDuration('s'), null);
    assert.equal(parseDuration('30s '), null);
  });
});
