// What the controller counts as itself for the endpoint policy (src/own-listeners.ts): its ports, this machine's
// interface addresses and the addresses its flags name.
import assert from 'node:assert/strict';
import os from 'node:os';
import { podAddresses, selfPolicy } from '../src/own-listeners.js';

describe("self: the controller's own ports and addresses", () => {
  it('lists every port once and every interface address, plus the pod, listen and status addresses given', () => {
    const policy = selfPolicy({
      httpPort: 80,
      httpsPort: 443,
      statusPort: 10254,
      internalPort: 10246,
      listenAddress: '*',
      statusAddress: '192.0.2.7',
      podAddresses: ['not-an-ip', '2001:db8::7'],
    });
    assert.deepEqual(policy.protectedPorts, [80, 443, 10246, 10254]);
    for (const list of Object.values(os.networkInterfaces())) {
      for (const info of list ?? [])
        assert.ok(policy.localAddresses.includes(info.address), `interface address ${info.address}`);
    }
    assert.ok(policy.localAddresses.includes('192.0.2.7') && policy.localAddresses.includes('2001:db8::7'));
    assert.ok(!policy.localAddresses.includes('*') && !policy.localAddresses.includes('not-an-ip'));
    assert.deepEqual(
      selfPolicy({
        httpPort: 8080,
        httpsPort: 8080,
        statusPort: 1,
        internalPort: 1,
        listenAddress: '*',
        statusAddress: '127.0.0.1',
        podAddresses: [],
      }).protectedPorts,
      [1, 8080],
    );
  });

  it('says what each port is bound to: the listen address for http/https, the status address, 127.0.0.1/.2 for the internal port', () => {
    const policy = selfPolicy({
      httpPort: 8080,
      httpsPort: 8443,
      statusPort: 10254,
      internalPort: 10246,
      listenAddress: '*',
      statusAddress: '127.0.0.1',
      podAddresses: [],
    });
    assert.deepEqual(policy.boundTo, {
      8080: ['*'],
      8443: ['*'],
      10254: ['127.0.0.1'],
      10246: ['127.0.0.1', '127.0.0.2'],
    });
    const shared = selfPolicy({
      httpPort: 9000,
      httpsPort: 9001,
      statusPort: 9000,
      internalPort: 9002,
      listenAddress: '127.0.0.1',
      statusAddress: '0.0.0.0',
      podAddresses: [],
    });
    assert.deepEqual(shared.boundTo![9000], ['127.0.0.1', '*']);
  });

  it('pod addresses: the flag, else POD_IPS, else POD_IP, comma-separated', () => {
    assert.deepEqual(podAddresses('10.0.0.1, fd00::1', { POD_IP: '10.9.9.9' }), ['10.0.0.1', 'fd00::1']);
    assert.deepEqual(podAddresses(undefined, { POD_IPS: '10.0.0.2,fd00::2', POD_IP: '10.0.0.2' }), [
      '10.0.0.2',
      'fd00::2',
    ]);
    assert.deepEqual(podAddresses(undefined, { POD_IP: '10.0.0.3' }), ['10.0.0.3']);
    assert.deepEqual(podAddresses(undefined, {}), []);
  });
});
