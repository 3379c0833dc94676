import assert from 'node:assert/strict';
import {
  AUTH_REALM,
  AUTH_SECRET,
  AUTH_SECRET_TYPE,
  AUTH_TYPE,
  parseHtpasswd,
} from '../../../src/model/annotations/auth.js';
import type { BasicAuthConfig } from '../../../src/model/annotations/auth.js';
import type { Model } from '../../../src/model/index.js';
import {
  b64,
  build,
  endpoints,
  ingress,
  path,
  problemsMatching,
  rule,
  secret,
  service,
  show,
} from '../../helpers/resources.js';
import { locationBlock, nginxAccepts, renderText } from './nginx-check.js';

const HASH = '$apr1$TIL9Ha/A$PiH1dp0q6.Uoi/A8y0nGE.'; // openssl passwd -apr1
const users = (name: string, text: string, namespace = 'default') =>
  secret({ name, namespace, type: 'Opaque', data: { auth: b64(text) } });
const web = [service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })];
const ing = (annotations: Record<string, string>, name = 'site', host = 'a.example.com') =>
  ingress({ name, annotations, rules: [rule(host, path('/', 'web'), path('/api', 'web'))] });
const basic = (extra: Record<string, string> = {}) => ({ [AUTH_TYPE]: 'basic', [AUTH_SECRET]: 'users', ...extra });

function modelOf(...extra: Parameters<typeof build>[0]) {
  return build([...web, ...extra]);
}
const locations = (model: Model, host = 'a.example.com') => model.servers.find((s) => s.host === host)!.locations;

describe('model/annotations/auth (basic)', () => {
  describe('parseHtpasswd', () => {
    it('accepts user:hash lines, skips blank lines and comments, normalises line ends', () => {
      const result = parseHtpasswd(`# staff\r\nalice:${HASH}\r\n\r\nbob:{SHA}fDYHuOYbzxlE6ehQOmYPIfS28/E=\n`);
      assert.deepEqual(result, {
        ok: true,
        content: `alice:${HASH}\nbob:{SHA}fDYHuOYbzxlE6ehQOmYPIfS28/E=\n`,
        users: 2,
      });
    });

    it('refuses lines without a user or a hash, control characters, spaces in hashes, duplicates and empty files', () => {
      for (const text of [
        `:${HASH}`,
        'alice',
        'alice:',
        `al ice:${HASH}`,
        `alice:${HASH} x`,
        `ali\u0007ce:${HASH}`,
        `alice:${HASH}\u0000`,
        `alice:${HASH}\nalice:${HASH}`,
        '',
        '# only a comment\n',
        `alice\t:${HASH}`,
      ]) {
        const result = parseHtpasswd(text);
        assert.equal(result.ok, false, JSON.stringify(text));
      }
    });
  });

  it('auth-file (default): the htpasswd becomes a managed file workers can read (0640); realm defaults to "Authentication Required"', () => {
    const { model, problems } = modelOf(users('users', `alice:${HASH}\n`), ing(basic()));
    assert.equal(problems.length, 0, show(problems));
    const cfg = locations(model)[0]!.ann.auth as BasicAuthConfig;
    assert.equal(cfg.realm, 'Authentication Required');
    assert.equal(cfg.secret, 'default/users');
    const file = model.files.find((f) => f.name === cfg.file)!;
    assert.match(file.name, /^htpasswd-file-default_users-[0-9a-f]{16}$/);
    assert.equal(file.content, `alice:${HASH}\n`);
    assert.equal(file.mode, 0o640);
    for (const location of locations(model)) assert.equal(location.denied, null);
  });

  it("auth-map: each key is a user, each value a hash; a custom realm; namespace/name of the Ingress's namespace", () => {
    const map = secret({ name: 'people', type: 'Opaque', data: { bob: b64('{PLAIN}pw'), alice: b64(`${HASH}\n`) } });
    const { model, problems } = modelOf(
      map,
      ing({
        [AUTH_TYPE]: 'basic',
        [AUTH_SECRET]: 'default/people',
        [AUTH_SECRET_TYPE]: 'auth-map',
        [AUTH_REALM]: 'Staff - only',
      }),
    );
    assert.equal(problems.length, 0, show(problems));
    const cfg = locations(model)[0]!.ann.auth as BasicAuthConfig;
    assert.equal(cfg.realm, 'Staff - only');
    assert.equal(model.files.find((f) => f.name === cfg.file)!.content, `alice:${HASH}\nbob:{PLAIN}pw\n`);
  });

  it('a changed Secret is a new file name (so a changed config, and nginx reloads)', () => {
    const address = modelOf(users('users', `alice:${HASH}\n`), ing(basic())).model.files[0]!.name;
    const other = modelOf(users('users', `bob:${HASH}\n`), ing(basic())).model.files[0]!.name;
    assert.notEqual(address, other);
  });

  it('fails closed: every invalid value is an error naming the annotation and value, and the paths are denied', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [basic({ [AUTH_TYPE]: 'digest' }), /auth-type.*"digest".*basic/],
      [basic({ [AUTH_TYPE]: 'Basic' }), /auth-type.*"Basic"/],
      [basic({ [AUTH_REALM]: 'say "hi"' }), /auth-realm/],
      [basic({ [AUTH_REALM]: '$host' }), /auth-realm/],
      [basic({ [AUTH_REALM]: 'a\nb' }), /auth-realm/],
      [basic({ [AUTH_SECRET_TYPE]: 'file' }), /auth-secret-type.*"file"/],
      [basic({ [AUTH_SECRET]: 'a/b/c' }), /auth-secret.*"a\/b\/c"/],
      [basic({ [AUTH_SECRET]: 'nope' }), /Secret default\/nope not found/],
      [basic({ [AUTH_SECRET]: 'other/users' }), /Secrets of other namespaces are refused/],
      [{ [AUTH_TYPE]: 'basic' }, /needs .*auth-secret/],
      [{ [AUTH_SECRET]: 'users' }, /without .*auth-type/],
      [{ [AUTH_REALM]: 'x' }, /without .*auth-type/],
    ];
    for (const [annotations, re] of cases) {
      const { model, problems } = modelOf(users('users', `alice:${HASH}\n`), ing(annotations));
      const errors = problems.filter((p) => p.severity === 'error');
      assert.equal(errors.length >= 1, true, `${JSON.stringify(annotations)}: ${show(problems)}`);
      assert.ok(
        problemsMatching(errors, re).length >= 1 || errors.some((p) => re.test(`${p.field} ${p.message}`)),
        `${JSON.stringify(annotations)}: ${show(problems)}`,
      );
      assert.ok(
        errors.every((p) => p.object === 'Ingress default/site' && /answer 503/.test(p.message)),
        show(errors),
      );
      for (const location of locations(model)) {
        assert.notEqual(location.denied, null, JSON.stringify(annotations));
        assert.equal(location.ann.auth, undefined);
      }
      assert.equal(model.files.length, 0);
    }
  });

  it('unusable Secret content is refused with the reason', () => {
    for (const [data, re, type] of [
      [{ other: b64(`alice:${HASH}`) }, /no key "auth"/],
      [{ auth: '!!!' }, /not base64/],
      [{ auth: b64('alice\n') }, /line 1 is not "user:hash"/],
      [{ auth: b64('') }, /lists no users/],
      [{ alice: b64(`${HASH}\nmallory:${HASH}`) }, /hash of user "alice" spans several lines/, 'auth-map'],
      [{ alice: b64('with space') }, /not a usable auth-map.*printable ASCII without spaces/, 'auth-map'],
      [{}, /not a usable auth-map: it lists no users/, 'auth-map'],
    ] as [Record<string, string>, RegExp, string?][]) {
      const { model, problems } = modelOf(
        secret({ name: 'users', type: 'Opaque', data }),
        ing(basic(type ? { [AUTH_SECRET_TYPE]: type } : {})),
      );
      assert.ok(
        problems.some((p) => p.severity === 'error' && re.test(p.message)),
        show(problems),
      );
      assert.notEqual(locations(model)[0]!.denied, null);
    }
  });

  it('other Ingresses are unaffected by one invalid auth annotation', () => {
    const { model } = modelOf(
      users('users', `alice:${HASH}\n`),
      ing(basic({ [AUTH_TYPE]: 'digest' })),
      ing(basic(), 'other', 'b.example.com'),
    );
    assert.notEqual(locations(model)[0]!.denied, null);
    assert.equal(locations(model, 'b.example.com')[0]!.denied, null);
  });

  it('renders auth_basic with the file, clears Authorization towards the backend, and nginx accepts it', async () => {
    const { model } = modelOf(
      users('users', `alice:${HASH}\n`),
      ing(basic({ [AUTH_REALM]: 'Staff only' })),
      ing({}, 'open', 'b.example.com'),
    );
    const text = renderText(model);
    const loc = locationBlock(text, 'a.example.com', '/');
    assert.match(loc, /auth_basic "Staff only";/);
    assert.match(loc, /auth_basic_user_file "\/srv\/it\/files\/htpasswd-file-default_users-[0-9a-f]{16}";/);
    assert.match(loc, /set \$ingress_templater_auth_authorization "";/);
    assert.doesNotMatch(loc, /proxy_set_header/, 'a location must not drop the http-level proxy headers');
    assert.doesNotMatch(locationBlock(text, 'b.example.com', '/'), /auth_basic/);
    // the http level sends Authorization from the variable: the client's own header unless a location cleared it
    assert.match(
      text,
      /map \$http_authorization \$ingress_templater_auth_authorization \{\n\s+default \$http_authorization;\n\s+\}\n/,
    );
    assert.match(text, /\n {4}proxy_set_header Authorization \$ingress_templater_auth_authorization;\n/);
    await nginxAccepts(model);
  });

  it('nothing about Authorization is rendered when no Ingress uses auth', () => {
    const { model } = modelOf(ing({}));
    assert.doesNotMatch(renderText(model), /ingress_templater_auth_/);
  });
});
