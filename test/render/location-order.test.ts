// The order prefix and exact locations render in (view.ts nginxLocationOrder): nginx's own, so that
// nginx's insertion sort of a server's locations at every nginx -t and reload makes no moves.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildView, nginxLocationOrder } from '../../src/render/view.js';
import type { RenderOptions } from '../../src/render/view.js';
import type { Resource } from '../../src/resources.js';
import { build, endpoints, exact, ingress, path, rule, service } from '../helpers/resources.js';

const OPTS: RenderOptions = {
  prefix: '/srv/it',
  listenAddress: '*',
  httpPort: 80,
  httpsPort: 443,
  internalPort: 10246,
  defaultCertificate: '/srv/it/ssl/default.pem',
  features: { tempPaths: [] },
  version: '0.1.0',
  balancer: 'static',
  luaDir: '/srv/it/lua',
  luaModules: [],
};

interface Named {
  path: string;
  exact: boolean;
}

/**
 * nginx's comparison, transcribed from ngx_http_cmp_locations and ngx_filename_cmp over the bytes of
 * the names (NUL-terminated): '/' compares below every other byte, the end of a name below '/'.
 */
function reference(left: Named, right: Named): number {
  const leftBytes = Buffer.from(`${left.path}\0`, 'latin1');
  const rightBytes = Buffer.from(`${right.path}\0`, 'latin1');
  let rc = 0;
  for (let i = 0; i < Math.min(leftBytes.length, rightBytes.length); i++) {
    let c1 = leftBytes[i]!;
    let c2 = rightBytes[i]!;
    if (c1 === c2) {
      if (c1 === 0) break;
      continue;
    }
    if (c1 === 0 || c2 === 0) {
      rc = c1 - c2;
      break;
    }
    c1 = c1 === 0x2f ? 0 : c1;
    c2 = c2 === 0x2f ? 0 : c2;
    rc = c1 - c2;
    break;
  }
  if (rc === 0 && !left.exact && right.exact) return 1;
  return rc;
}

/** How many places nginx's stable insertion sort (ngx_queue_sort) moves elements: 0 for sorted input. */
function insertionMoves(list: Named[]): number {
  const sorted: Named[] = [];
  let moves = 0;
  for (const location of list) {
    let at = sorted.length;
    while (at > 0 && reference(sorted[at - 1]!, location) > 0) {
      at--;
      moves++;
    }
    sorted.splice(at, 0, location);
  }
  return moves;
}

// characters of Ingress paths (syntax.ts HTTP_PATH), '/' and '-' (either side of it) often
const PATH_CHAR = fc.constantFrom(...'/////--..aAbz09~!&()*+,=:@%_'.split(''));
const name = fc.array(PATH_CHAR, { minLength: 0, maxLength: 8 }).map((cs) => `/${cs.join('')}`);
const named = fc.record({ path: name, exact: fc.boolean() });
const sign = (n: number) => Math.sign(n);

describe("render location order (nginx's own)", () => {
  it('compares two locations as nginx does', () => {
    fc.assert(
      fc.property(named, named, (left, right) => {
        const ours = nginxLocationOrder(left, right);
        const what = `${JSON.stringify(left)} vs ${JSON.stringify(right)}`;
        // nginx's insertion sort moves a location back past the one before it exactly when its comparison
        // is positive; for an exact and a prefix location of one name it says 0 one way round (no move)
        // and 1 the other, where ours, a total order, says -1 and 1
        assert.equal(ours > 0, reference(left, right) > 0, what);
        if (reference(left, right) < 0) assert.ok(ours < 0, what);
        assert.equal(sign(ours) + sign(nginxLocationOrder(right, left)), 0, what);
      }),
      { numRuns: 20_000, seed: 20261207 },
    );
  });

  it('puts "/" below every other character and a name before the names it begins', () => {
    const order = ['/a-b', '/a/c', '/a', '/a/', '/ab', '/a.b', '/A'].map((p) => ({ path: p, exact: false }));
    order.push({ path: '/a', exact: true });
    assert.deepEqual(
      [...order].sort(nginxLocationOrder).map((l) => `${l.exact ? '= ' : ''}${l.path}`),
      ['/A', '= /a', '/a', '/a/', '/a/c', '/a-b', '/a.b', '/ab'],
    );
  });

  it("renders a server's prefix and exact locations so that nginx's sort makes no moves", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ path: name, exact: fc.boolean() }), {
          minLength: 1,
          maxLength: 30,
          selector: (p) => p.path,
        }),
        (paths) => {
          const resources: Resource[] = [
            service({ name: 'web' }),
            endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] }),
            // every path its own Ingress, so no location is served alike by an enclosing one and left out
            ...paths.map((p, i) =>
              ingress({
                name: `i${i}`,
                rules: [rule('h.example.com', p.exact ? exact(p.path, 'web') : path(p.path, 'web'))],
                annotations: { 'nginx.ingress.kubernetes.io/proxy-read-timeout': String(i + 1) },
              }),
            ),
          ];
          const built = build(resources);
          const server = buildView(built.model, OPTS).servers.find((s) => s.host === 'h.example.com')!;
          const rendered = server.locations.filter((l) => l.servedBy === null);
          assert.equal(insertionMoves(rendered), 0, rendered.map((l) => `${l.exact ? '= ' : ''}${l.path}`).join(', '));
          // the same locations as the model describes: every Prefix path an exact and a prefix location
          // (the exact one left to an Exact path of the same name), every Exact path one exact location
          const want = new Set<string>();
          const modelled = built.model.servers.find((s) => s.host === 'h.example.com')!.locations;
          for (const location of modelled) {
            if (location.match === 'exact') want.add(`= ${location.path}`);
            else if (location.path === '/') want.add('/');
            else {
              want.add(`${location.path}/`);
              if (!modelled.some((o) => o.match === 'exact' && o.path === location.path))
                want.add(`= ${location.path}`);
            }
          }
          assert.deepEqual(new Set(server.locations.map((l) => `${l.exact ? '= ' : ''}${l.path}`)), want);
        },
      ),
      { numRuns: 300, seed: 20261207 },
    );
  });

  it('keeps regex locations longest path first (nginx tries them in the written order)', () => {
    const built = build([
      service({ name: 'web' }),
      ingress({
        name: 'r',
        annotations: { 'nginx.ingress.kubernetes.io/use-regex': 'true' },
        rules: [
          rule(
            'h.example.com',
            path('/a', 'web'),
            path('/zz/long', 'web'),
            path('/b/c', 'web', 80, 'ImplementationSpecific'),
          ),
        ],
      }),
    ]);
    const server = buildView(built.model, OPTS).servers.find((s) => s.host === 'h.example.com')!;
    assert.deepEqual(
      server.locations.map((l) => l.path),
      ['/zz/long', '/b/c', '/a'],
    );
  });
});
