import assert from 'node:assert/strict';
import fs from 'node:fs';
import nodePath from 'node:path';
import { DEFAULT_TEMPLATE_DIR } from '../../src/render/index.js';
import { bundledTraits, NO_TRAITS, partialTraits, traitsOf } from '../../src/render/partial-traits.js';
import type { PartialTraits } from '../../src/render/partial-traits.js';

const only = (traits: Partial<PartialTraits>): PartialTraits => ({ ...NO_TRAITS, ...traits });

describe('render/partial-traits (what a partial does, read from its text)', () => {
  it('add_header anywhere adds headers', () => {
    assert.deepEqual(traitsOf('            add_header X-Frame-Options DENY always;\n'), only({ addsHeaders: true }));
    assert.deepEqual(
      traitsOf('{{#if a}}\n            if ($x) { add_header X-A {{str a}} always; }\n{{/if}}\n'),
      only({ addsHeaders: true }),
    );
  });

  it('return or rewrite outside a location answers before the redirect; inside a location it does not', () => {
    assert.deepEqual(
      traitsOf('        if ($host = {{hostLabel from}}) {\n            return 308 https://x$request_uri;\n        }\n'),
      only({ answersBeforeRedirect: true }),
    );
    assert.deepEqual(traitsOf('        rewrite ^/$ /app redirect;\n'), only({ answersBeforeRedirect: true }));
    assert.deepEqual(
      traitsOf(
        '        location @custom_{{tok name}} {\n            if ($a) { return 500; }\n            rewrite ^ / break;\n        }\n',
      ),
      NO_TRAITS,
    );
    assert.deepEqual(
      traitsOf('        location = {{path p}} {\n            internal;\n        }\n        return 404;\n'),
      only({ answersBeforeRedirect: true }),
    );
  });

  it('an include of user text may do anything: headers, return, locations', () => {
    assert.deepEqual(
      traitsOf('            include {{fileIn @root.filesDir file}};\n'),
      only({ addsHeaders: true, answersBeforeRedirect: true, opaque: true }),
    );
  });

  it('ssl_ directives at server level need a TLS context of their own', () => {
    assert.deepEqual(traitsOf('        ssl_verify_client {{tok verifyClient}};\n'), only({ tlsContext: true }));
    assert.deepEqual(
      traitsOf('        location / {\n            proxy_ssl_verify on;\n            ssl_x on;\n        }\n'),
      NO_TRAITS,
    );
  });

  it('comments and mustaches are not directives', () => {
    assert.deepEqual(
      traitsOf(
        '        # add_header and return in an nginx comment\n{{!-- include x; --}}\n{{! return 1; }}\n        set $v {{str add_header}};\n',
      ),
      NO_TRAITS,
    );
    assert.deepEqual(traitsOf('            {{tok module}}_ssl_verify on;\n'), NO_TRAITS);
  });

  it('reads a partial together with the partials it includes', () => {
    const traits = partialTraits({
      'ann-outer': '            set $a 1;\n            {{> inner this}}\n',
      inner: '            add_header X-Inner 1;\n',
      'ann-loop': '{{> ann-loop}}\n',
    });
    assert.deepEqual(traits.get('ann-outer'), only({ addsHeaders: true }));
    assert.deepEqual(traits.get('ann-loop'), NO_TRAITS);
  });

  it('the bundled partials: what render/view.ts once listed by hand', () => {
    const partials = Object.fromEntries(
      fs
        .readdirSync(nodePath.join(DEFAULT_TEMPLATE_DIR, 'partials'))
        .filter((file) => /^(ann|srv)-.*\.hbs$/.test(file))
        .map((file) => [
          file.slice(0, -4),
          fs.readFileSync(nodePath.join(DEFAULT_TEMPLATE_DIR, 'partials', file), 'utf8'),
        ]),
    );
    const traits = bundledTraits();
    const having = (trait: keyof PartialTraits) =>
      Object.keys(partials)
        .filter((name) => traits(name)[trait])
        .sort();
    assert.deepEqual(
      having('addsHeaders').filter((name) => name.startsWith('ann-')),
      ['ann-cors', 'ann-redirect', 'ann-response-headers', 'ann-snippet'],
    );
    assert.deepEqual(
      having('answersBeforeRedirect').filter((name) => name.startsWith('srv-')),
      ['srv-redirect', 'srv-rewrite', 'srv-snippet'],
    );
    assert.deepEqual(having('opaque'), ['ann-snippet', 'srv-snippet']);
    assert.deepEqual(having('tlsContext'), ['srv-auth-tls']);
    assert.deepEqual(traits('no-such-partial'), NO_TRAITS);
  });
});
