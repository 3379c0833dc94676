// The request header lists of src/model/proxy-headers.ts, as data: which names configuration may not set,
// and what each list (every backend, the auth subrequest, an error page) holds and in which order.
// test/render/proxy-headers.test.ts checks the same lists in a rendered config, through nginx's inheritance.
import assert from 'node:assert/strict';
import type { HeaderRule } from '../../src/model/proxy-headers.js';
import {
  authServiceHeaders,
  backendHeaders,
  errorPageHeaders,
  forwarding,
  headerList,
  isProtectedHeader,
  parseForwardedForHeader,
  parseTrustedCidrs,
  PROTECTED_HEADERS,
} from '../../src/model/proxy-headers.js';
import { DEFAULT_SETTINGS } from '../../src/model/settings.js';

const names = (headers: readonly HeaderRule[]) => headers.map((header) => header.name);
const find = (headers: readonly HeaderRule[], name: string) => {
  const found = headers.filter((header) => header.name.toLowerCase() === name.toLowerCase());
  assert.equal(found.length, 1, `${name} once in ${names(headers).join(', ')}`);
  return found[0]!;
};
const PAGE = { code: 503, namespace: 'shop', name: 'web' };

describe('model/proxy-headers', () => {
  it('PROTECTED_HEADERS: frozen, each name once, nginx text only', () => {
    assert.ok(Object.isFrozen(PROTECTED_HEADERS));
    const lower = names(PROTECTED_HEADERS).map((name) => name.toLowerCase());
    assert.equal(new Set(lower).size, lower.length);
    assert.ok(PROTECTED_HEADERS.every((header) => !header.literal));
    // hop-by-hop headers have no meaning in HTTP/2
    assert.deepEqual(names(PROTECTED_HEADERS.filter((header) => !header.grpc)), ['Upgrade', 'Connection', 'Proxy']);
  });

  it('isProtectedHeader: every protected header and the connection headers, in any case and with "_" for "-"', () => {
    for (const header of PROTECTED_HEADERS) {
      assert.ok(isProtectedHeader(header.name), header.name);
      assert.ok(isProtectedHeader(header.name.toUpperCase()), header.name);
      assert.ok(isProtectedHeader(header.name.replace(/-/g, '_')), header.name);
    }
    for (const name of ['Content-Length', 'transfer_encoding', 'TE', 'Keep-Alive', 'Trailer', 'Expect', 'X_Real_IP'])
      assert.ok(isProtectedHeader(name), name);
    for (const name of ['X-Team', 'Authorization', 'X-User', 'X-Real', 'X-Forwarded', 'Cookie', ''])
      assert.equal(isProtectedHeader(name), false, name);
  });

  it('headerList: gRPC gets only the headers it can carry; proxy_set_header gets them all', () => {
    const all = backendHeaders([], []);
    assert.deepEqual(headerList('proxy_set_header', all), { directive: 'proxy_set_header', headers: all });
    const grpc = headerList('grpc_set_header', all);
    assert.equal(grpc.directive, 'grpc_set_header');
    assert.deepEqual(
      grpc.headers,
      all.filter((header) => !['Upgrade', 'Connection', 'Proxy'].includes(header.name)),
    );
  });

  it('backendHeaders: the protected headers, then the ConfigMap headers as literals, then the auth variables', () => {
    const list = backendHeaders(
      [{ name: 'X-Team', value: 'pay$ments' }],
      [
        { name: 'X-User', parts: ['x', 'user'] },
        { name: 'Authorization', parts: ['authorization'] },
      ],
    );
    assert.deepEqual(list.slice(0, PROTECTED_HEADERS.length), [...PROTECTED_HEADERS]);
    assert.deepEqual(list.slice(PROTECTED_HEADERS.length), [
      { name: 'X-Team', value: 'pay$ments', literal: true, grpc: true },
      { name: 'X-User', value: '$ingress_templater_auth_x_user', literal: false, grpc: true },
      { name: 'Authorization', value: '$ingress_templater_auth_authorization', literal: false, grpc: true },
    ]);
    assert.deepEqual(backendHeaders([], []), [...PROTECTED_HEADERS]);
  });

  it('authServiceHeaders: the protected list with the request described, replaced in place, Content-Length added', () => {
    const list = authServiceHeaders('auth.example.com:9000');
    assert.deepEqual(names(list), [...names(PROTECTED_HEADERS), 'Content-Length']);
    assert.deepEqual(find(list, 'Host'), { name: 'Host', value: 'auth.example.com:9000', literal: true, grpc: true });
    assert.equal(find(list, 'Connection').value, 'close');
    assert.equal(find(list, 'Connection').literal, true);
    assert.equal(find(list, 'Upgrade').value, '');
    assert.equal(find(list, 'X-Original-URL').value, '$scheme://$http_host$request_uri');
    assert.equal(find(list, 'X-Original-URI').value, '$request_uri');
    assert.equal(find(list, 'X-Original-Method').value, '$request_method');
    assert.equal(find(list, 'X-Auth-Request-Redirect').value, '$request_uri');
    assert.deepEqual(find(list, 'X-Sent-From'), {
      name: 'X-Sent-From',
      value: 'nginx-ingress-controller',
      literal: true,
      grpc: true,
    });
    assert.equal(find(list, 'Content-Length').value, '', 'the subrequest has no body');
    // what nginx knows is unchanged
    for (const name of ['X-Real-IP', 'X-Forwarded-For', 'X-Request-ID', 'ssl-client-cert'])
      assert.deepEqual(find(list, name), find(PROTECTED_HEADERS, name));
    // the error-page headers stay empty
    for (const name of ['X-Code', 'X-Namespace', 'X-Service-Name']) assert.equal(find(list, name).value, '');
    assert.deepEqual(
      PROTECTED_HEADERS.map((header) => header.value).filter((value) => value === 'close'),
      [],
    );
  });

  it('errorPageHeaders: the error page described, the ConfigMap headers added, empty entries left out', () => {
    const list = errorPageHeaders(PAGE, [{ name: 'X-Team', value: 'payments' }]);
    assert.ok(
      list.every((header) => header.value !== ''),
      names(list).join(),
    );
    for (const name of ['Upgrade', 'Proxy', 'X-Original-URL', 'X-Sent-From', 'X-Auth-Request-Redirect'])
      assert.ok(!names(list).includes(name), name);
    assert.equal(find(list, 'Host').value, '$best_http_host');
    assert.deepEqual(find(list, 'X-Code'), { name: 'X-Code', value: '503', literal: true, grpc: true });
    assert.equal(find(list, 'X-Format').value, '$http_accept');
    assert.equal(find(list, 'X-Original-URI').value, '$request_uri');
    assert.deepEqual(find(list, 'X-Namespace'), { name: 'X-Namespace', value: 'shop', literal: true, grpc: true });
    assert.deepEqual(find(list, 'X-Ingress-Name'), { name: 'X-Ingress-Name', value: 'web', literal: true, grpc: true });
    assert.equal(find(list, 'X-Service-Name').value, '$ingress_templater_service_name');
    assert.equal(find(list, 'X-Service-Port').value, '$ingress_templater_service_port');
    assert.deepEqual(list.at(-1), { name: 'X-Team', value: 'payments', literal: true, grpc: true });
    // in the protected list's order, the ConfigMap's after it
    const order = names(PROTECTED_HEADERS);
    const positions = names(list.slice(0, -1)).map((name) => order.indexOf(name));
    assert.ok(positions.every((position, index) => position >= 0 && (index === 0 || position > positions[index - 1]!)));
    for (const name of ['X-Real-IP', 'X-Forwarded-For', 'X-Request-ID'])
      assert.deepEqual(find(list, name), find(PROTECTED_HEADERS, name));
  });

  // ---- forwarded headers and the client address (ConfigMap keys; settings.ts parses them with these)
  describe('forwarding', () => {
    const on = (changes: Partial<typeof DEFAULT_SETTINGS>, headersMore = true) =>
      forwarding({ ...DEFAULT_SETTINGS, ...changes }, headersMore);
    const values = (changes: Partial<typeof DEFAULT_SETTINGS>) =>
      Object.fromEntries(Object.entries(on(changes)?.headers ?? {}).map(([name, rule]) => [name, rule.value]));

    it('null with the defaults: nothing rendered, every list as it was', () => {
      assert.equal(forwarding(DEFAULT_SETTINGS, true), null);
      // compute-full-forwarded-for and forwarded-for-header alone do nothing, as in ingress-nginx
      assert.equal(on({ computeFullForwardedFor: true, forwardedForHeader: 'X-Client-IP' }), null);
    });

    it('enable-real-ip: the real_ip module only, reading forwarded-for-header from proxy-real-ip-cidr', () => {
      assert.deepEqual(on({ enableRealIp: true, forwardedForHeader: 'X-Client-IP', proxyRealIpCidr: ['10.0.0.0/8'] }), {
        trustHeaders: false,
        proxyProtocol: false,
        fullForwardedFor: false,
        realIp: { header: 'X-Client-IP', trusted: ['10.0.0.0/8'], chain: null },
        headers: {
          'X-Original-Forwarded-For': {
            ...find(PROTECTED_HEADERS, 'X-Original-Forwarded-For'),
            value: '$http_x_client_ip',
          },
        },
      });
      assert.equal(on({ enableRealIp: true, computeFullForwardedFor: true })!.fullForwardedFor, false);
    });

    it('use-forwarded-headers: the scheme and port from variables, the address from the real_ip module', () => {
      const trusted = on({ useForwardedHeaders: true })!;
      assert.deepEqual(trusted.realIp, { header: 'X-Forwarded-For', trusted: ['0.0.0.0/0'], chain: null });
      assert.deepEqual(values({ useForwardedHeaders: true }), {
        'X-Forwarded-Proto': '$ingress_templater_pass_scheme',
        'X-Forwarded-Scheme': '$ingress_templater_pass_scheme',
        'X-Scheme': '$ingress_templater_pass_scheme',
        'X-Forwarded-Port': '$ingress_templater_pass_port',
      });
      assert.equal(
        values({ useForwardedHeaders: true, computeFullForwardedFor: true })['X-Forwarded-For'],
        '$ingress_templater_full_forwarded_for',
      );
    });

    it('forwarded-for-header: X-Original-Forwarded-For is what the client sent under that name', () => {
      assert.equal(
        values({ useForwardedHeaders: true, forwardedForHeader: 'CF-Connecting-IP' })['X-Original-Forwarded-For'],
        '$http_cf_connecting_ip',
      );
      assert.equal(
        values({ enableRealIp: true, forwardedForHeader: 'X-Client' })['X-Original-Forwarded-For'],
        '$http_x_client',
      );
      assert.equal(
        values({ enableRealIp: true, forwardedForHeader: 'x-forwarded-for' })['X-Original-Forwarded-For'],
        undefined,
      );
    });

    it('use-proxy-protocol: the address from it, the port it was sent to; with forwarded headers, still its address', () => {
      assert.deepEqual(on({ useProxyProtocol: true })!.realIp, { header: null, trusted: ['0.0.0.0/0'], chain: null });
      assert.equal(values({ useProxyProtocol: true })['X-Forwarded-Port'], '$ingress_templater_server_port');
      assert.equal(values({ useProxyProtocol: true })['X-Forwarded-Proto'], '$ingress_templater_pass_scheme');
      assert.equal(on({ useProxyProtocol: true, useForwardedHeaders: true })!.realIp.header, null);
    });

    it('use-proxy-protocol with use-forwarded-headers: the chain is forwarded-for-header, when headers-more is there', () => {
      const both = { useProxyProtocol: true, useForwardedHeaders: true };
      assert.deepEqual(on(both)!.realIp.chain, {
        name: 'X-Forwarded-For',
        value: '$http_x_forwarded_for',
        literal: false,
        grpc: true,
      });
      assert.equal(on({ ...both, forwardedForHeader: 'X-Client' })!.realIp.chain!.value, '$http_x_client');
      // without the module nginx cannot set the request header: the PROXY protocol's address alone
      assert.equal(on(both, false)!.realIp.chain, null);
      assert.equal(on({ useProxyProtocol: true })!.realIp.chain, null);
      assert.equal(on({ useForwardedHeaders: true })!.realIp.chain, null);
    });

    it('the changed headers keep their place and kind: protected, nginx text, gRPC as before', () => {
      const changed = on({ useForwardedHeaders: true, useProxyProtocol: true, computeFullForwardedFor: true })!;
      for (const [name, rule] of Object.entries(changed.headers)) {
        assert.equal(rule.name, name);
        assert.ok(isProtectedHeader(name), name);
        assert.equal(rule.literal, false);
        assert.equal(rule.grpc, find(PROTECTED_HEADERS, name).grpc);
        assert.match(rule.value, /^\$ingress_templater_[a-z_]+$/);
      }
    });

    it('parseTrustedCidrs: addresses and blocks of either family, nothing else', () => {
      assert.deepEqual(parseTrustedCidrs('10.0.0.0/8, ::1 ,fd00::/8'), ['10.0.0.0/8', '::1', 'fd00::/8']);
      assert.ok(Object.isFrozen(parseTrustedCidrs('10.0.0.0/8')));
      for (const value of ['', '1.2.3.4/33', '::/129', '1.2.3', '1.2.3.4/-1', '1.2.3.4/ 8', 'a.b.c.d', '$remote_addr'])
        assert.equal(parseTrustedCidrs(value), undefined, value);
      assert.equal(parseTrustedCidrs(Array(257).fill('10.0.0.1').join(',')), undefined, 'at most 256 entries');
    });

    it('parseForwardedForHeader: a header name nginx would read from a client', () => {
      assert.equal(parseForwardedForHeader('X-Real-IP'), 'X-Real-IP');
      for (const value of ['', 'proxy_protocol', 'X_Real_IP', '-X', 'X-For;', 'X For', 'x'.repeat(129)])
        assert.equal(parseForwardedForHeader(value), undefined, value);
    });
  });
});
