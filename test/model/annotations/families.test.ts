import assert from 'node:assert/strict';
import fs from 'node:fs';
import nodePath from 'node:path';
import { FAMILIES, SUPPORTED } from '../../../src/model/annotations/index.js';
import { PREFIX } from '../../../src/model/annotations/values.js';
import { DEFAULT_TEMPLATE_DIR } from '../../../src/render/index.js';

// partials of the templates that belong to no family: HSTS comes from the settings ConfigMap
const NOT_A_FAMILY = new Set(['srv-hsts', 'http-hsts']);

describe('model/annotations/families (the list every pass iterates)', () => {
  const names = FAMILIES.map((family) => family.name);

  it('names each family once and gives each annotation to one family, under the prefix', () => {
    assert.equal(new Set(names).size, names.length, names.join(', '));
    const keys = FAMILIES.flatMap((family) => family.keys);
    assert.equal(new Set(keys).size, keys.length);
    for (const key of keys) {
      assert.ok(key.startsWith(PREFIX), key);
      assert.ok(SUPPORTED.has(key), key);
    }
  });

  it('renders rewrite last: its "rewrite ... break" ends the set/if/return of every other family', () => {
    assert.equal(names.at(-1), 'rewrite');
  });

  it('every family partial of the templates belongs to a family with the hook that gives it config', () => {
    const partials = fs
      .readdirSync(nodePath.join(DEFAULT_TEMPLATE_DIR, 'partials'))
      .map((file) => file.replace(/\.hbs$/, ''))
      .filter((name) => /^(ann|srv|http)-/.test(name) && !NOT_A_FAMILY.has(name));
    assert.ok(partials.length > 20);
    for (const partial of partials) {
      const [, kind, name] = /^(ann|srv|http)-(.*)$/.exec(partial)!;
      const family = FAMILIES.find((candidate) => candidate.name === name);
      assert.ok(family, `${partial}.hbs names no family`);
      const hooks =
        kind === 'ann'
          ? [family.location]
          : kind === 'srv'
            ? [family.server, family.finish]
            : [family.http, family.finish, family.fromSettings];
      assert.ok(
        hooks.some((hook) => hook),
        `${partial}.hbs: family ${name} has no hook that gives it config`,
      );
    }
  });

  it('http items without a partial are request headers (constantHeaders), rendered in the one header list', () => {
    const partials = new Set(fs.readdirSync(nodePath.join(DEFAULT_TEMPLATE_DIR, 'partials')));
    for (const family of FAMILIES) {
      if (!(family.http || family.fromSettings)) continue;
      assert.ok(
        partials.has(`http-${family.name}.hbs`) || family.constantHeaders,
        `${family.name}: http items with neither a partial nor constantHeaders`,
      );
    }
  });
});
