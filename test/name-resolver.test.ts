import assert from 'node:assert/strict';
import dns from 'node:dns/promises';
import { NameResolver } from '../src/name-resolver.js';

type Lookup = typeof dns.lookup;

describe('name-resolver', () => {
  describe('through the system resolver (/etc/hosts)', () => {
    it('resolves localhost to its loopback addresses, sorted and without repeats', async () => {
      const resolver = new NameResolver();
      const resolved = await resolver.resolve(['localhost']);
      const addresses = resolved.get('localhost')!;
      assert.ok(addresses.includes('127.0.0.1'), JSON.stringify(addresses));
      assert.ok(
        addresses.every((address) => address.startsWith('127.') || address === '::1'),
        JSON.stringify(addresses),
      );
      assert.deepEqual(addresses, [...new Set(addresses)].sort());
      assert.equal(resolver.has('localhost'), true);
      assert.equal(resolver.map, resolved);
    });

    it('a fully qualified name with its final dot resolves as the hosts file lists it without', async () => {
      const resolver = new NameResolver();
      const resolved = await resolver.resolve(['localhost.', 'localhost']);
      assert.ok(resolved.get('localhost.')!.includes('127.0.0.1'), JSON.stringify([...resolved]));
      assert.deepEqual(resolved.get('localhost.'), resolved.get('localhost'));
      assert.deepEqual((await new NameResolver().resolve(['nowhere.invalid.'])).get('nowhere.invalid.'), []);
    });

    it('refresh: true when an answer is new or changed, false when all stayed the same; forgets names not asked', async () => {
      const resolver = new NameResolver();
      assert.equal(await resolver.refresh(['localhost']), true);
      assert.equal(await resolver.refresh(['localhost']), false);
      assert.equal(await resolver.refresh([]), false);
      assert.equal(resolver.has('localhost'), false, 'a name no longer asked is dropped');
      assert.equal(await resolver.refresh(['localhost']), true, 'asked again: new again');
    });
  });

  describe('when lookups fail (a fake lookup)', () => {
    const real = dns.lookup;
    let answer: (name: string) => Promise<{ address: string; family: number }[]>;
    beforeEach(() => {
      dns.lookup = ((name: string) => answer(name)) as unknown as Lookup;
    });
    afterEach(() => {
      dns.lookup = real;
    });

    it('a name that never resolved has no addresses', async () => {
      answer = () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));
      const resolver = new NameResolver();
      assert.equal(await resolver.refresh(['gone.example.com']), true);
      assert.deepEqual(resolver.map.get('gone.example.com'), []);
    });

    it('a failed lookup keeps the last answer, as a DNS cache would', async () => {
      answer = async () => [
        { address: '10.0.0.2', family: 4 },
        { address: '10.0.0.1', family: 4 },
        { address: '10.0.0.2', family: 4 },
      ];
      const resolver = new NameResolver();
      await resolver.refresh(['svc.example.com']);
      assert.deepEqual(resolver.map.get('svc.example.com'), ['10.0.0.1', '10.0.0.2']);
      answer = () => Promise.reject(new Error('getaddrinfo EAI_AGAIN'));
      assert.equal(await resolver.refresh(['svc.example.com']), false);
      assert.deepEqual(resolver.map.get('svc.example.com'), ['10.0.0.1', '10.0.0.2']);
    });

    it('a lookup that does not answer within the timeout counts as failed, and keeps the last answer', async () => {
      answer = async () => [{ address: '10.0.0.1', family: 4 }];
      const resolver = new NameResolver(50);
      await resolver.refresh(['slow.example.com']);
      answer = () => new Promise(() => undefined); // never settles
      const started = Date.now();
      assert.equal(await resolver.refresh(['slow.example.com']), false);
      assert.ok(Date.now() - started < 2000, `waited ${Date.now() - started} ms`);
      assert.deepEqual(resolver.map.get('slow.example.com'), ['10.0.0.1']);
    });

    it('a changed answer is a change', async () => {
      answer = async () => [{ address: '10.0.0.1', family: 4 }];
      const resolver = new NameResolver();
      await resolver.refresh(['moved.example.com']);
      answer = async () => [{ address: '10.0.0.9', family: 4 }];
      assert.equal(await resolver.refresh(['moved.example.com']), true);
      assert.deepEqual(resolver.map.get('moved.example.com'), ['10.0.0.9']);
    });
  });
});
