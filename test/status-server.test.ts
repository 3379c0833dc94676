// The status server's proxied-request check (src/status-server.ts) for what a test on loopback cannot produce:
// a kubelet probe or Prometheus scrape on the pod IP, a dual-stack listener's IPv4-mapped local address.
// The e2e side (real nginx, real requests) is test/e2e/self-endpoints.test.ts.
import assert from 'node:assert/strict';
import type http from 'node:http';
import { proxiedRequest } from '../src/status-server.js';

const req = (headers: Record<string, string>, localAddress = '10.1.2.3') =>
  ({ headers, socket: { localAddress } }) as unknown as http.IncomingMessage;

describe('status server: proxied requests', () => {
  it('lets probes and scrapes through: Host is the address connected to (pod IP, mapped or not), loopback, localhost or an allowed name', () => {
    for (const [host, local] of [
      ['10.1.2.3:10254', '10.1.2.3'],
      ['10.1.2.3', '10.1.2.3'],
      ['10.1.2.3:10254', '::ffff:10.1.2.3'],
      ['[fd00::3]:10254', 'fd00::3'],
      ['127.0.0.1:10254', '127.0.0.1'],
      ['localhost:10254', '127.0.0.1'],
      ['LOCALHOST', '127.0.0.1'],
      ['[::1]:10254', '::1'],
    ] as const) {
      assert.equal(proxiedRequest(req({ host }, local)), null, `${host} on ${local}`);
    }
    assert.equal(proxiedRequest(req({})), null, 'HTTP/1.0 without Host');
    assert.equal(
      proxiedRequest(req({ host: 'ingress-status.kube-system.svc:10254' }), {
        allowedHosts: ['ingress-status.kube-system.svc'],
      }),
      null,
    );
    assert.equal(proxiedRequest(req({ host: '0.0.0.0:10254' }, '127.0.0.1'), { listenAddress: '0.0.0.0' }), null);
  });

  it('refuses what nginx sends: forwarding headers, another host, the balancer upstream name', () => {
    const proxied: Record<string, string>[] = [
      { host: '10.1.2.3', 'x-forwarded-for': '192.0.2.1' },
      { host: '10.1.2.3', 'x-forwarded-proto': 'http' },
      { host: '10.1.2.3', 'x-request-id': 'a' },
      { host: '10.1.2.3', 'x-real-ip': '192.0.2.1' },
      { host: '10.1.2.3', forwarded: 'for=x' },
      { host: '10.1.2.3', via: '1.1 x' },
      { host: '10.1.2.3', 'x-original-uri': '/' },
      { host: 'tenant.example.com' },
      { host: 'upstream_balancer' },
      { host: '10.1.2.4:10254' },
      { host: 'ingress-status.kube-system.svc' },
      { host: '0.0.0.0' },
      { host: '10.1.2.3.nip.io' },
    ];
    for (const headers of proxied) {
      assert.match(
        proxiedRequest(req(headers)) ?? '',
        /proxied request|not this server's address/,
        JSON.stringify(headers),
      );
    }
  });
});
