// Basic authentication: auth-type, auth-secret, auth-secret-type and auth-realm, with the names, value
// formats and defaults of ingress-nginx. The users come from a Secret, either an htpasswd file under the
// key "auth" (auth-file, the default) or one key per user whose value is the hashed password (auth-map).
// The content is checked line by line and written as a managed file nginx workers read per request.
//
// Authentication fails closed: any invalid value, a missing Secret or an unusable user list is an error,
// and the Ingress's paths answer 503 instead of being served without authentication.
// The credentials stay at the edge: the location sets $ingress_templater_auth_authorization to "", which
// the http level sends as the Authorization header (external-auth.ts, http-external-auth.hbs).
import type { Ingress, Problem, Secret } from '../../resources.js';
import { DATA_KEY } from '../../syntax.js';
import type { AnnotationContext, Family } from './family.js';
import { PREFIX, parseNamespacedName, refused, refusedBecause } from './values.js';
import { fileBaseName } from '../names.js';

export const AUTH_TYPE = `${PREFIX}auth-type`;
export const AUTH_SECRET = `${PREFIX}auth-secret`;
export const AUTH_SECRET_TYPE = `${PREFIX}auth-secret-type`;
export const AUTH_REALM = `${PREFIX}auth-realm`;
export const AUTH_KEYS = [AUTH_TYPE, AUTH_SECRET, AUTH_SECRET_TYPE, AUTH_REALM] as const;

export const DEFAULT_REALM = 'Authentication Required';
// printable ASCII without what would end or alter the quoted nginx string (quote, backslash, '$')
const REALM = /^[\x20\x21\x23\x25-\x5b\x5d-\x7e]{1,256}$/;
// an htpasswd user: no ':' (the separator), no whitespace or control characters
const USER = /^[^\s:\x00-\x1f\x7f]{1,256}$/u;
// a password hash as nginx reads it (crypt(3) formats, {PLAIN}, {SHA}, {SSHA}): printable ASCII, no spaces
const HASH = /^[\x21-\x7e]{1,1024}$/;
const MAX_USERS = 10_000;

export interface BasicAuthConfig {
  realm: string;
  file: string; // managed htpasswd file (mode 0640), rendered with fileIn
  secret: string; // namespace/name, for the comment
}

function decode(b64: string): string | undefined {
  const compact = b64.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) return undefined;
  const text = Buffer.from(compact, 'base64').toString('utf8');
  // invalid UTF-8 turns into U+FFFD: refuse rather than write something else than the Secret holds
  return text.includes('\uFFFD') ? undefined : text;
}

/**
 * An htpasswd file: "user:hash" lines; empty lines and "#" comments are allowed. Returns the normalised
 * text (LF line ends, no comments) or why it is unusable.
 */
export function parseHtpasswd(
  text: string,
): { ok: true; content: string; users: number } | { ok: false; reason: string } {
  const out: string[] = [];
  const seen = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    const user = colon < 0 ? line : line.slice(0, colon);
    const hash = colon < 0 ? '' : line.slice(colon + 1);
    if (colon <= 0 || !USER.test(user))
      return {
        ok: false,
        reason: `line ${i + 1} is not "user:hash" (a user name without ':', whitespace or control characters)`,
      };
    if (!HASH.test(hash))
      return {
        ok: false,
        reason: `line ${i + 1}: the password hash of ${JSON.stringify(user).slice(0, 60)} must be printable ASCII without spaces`,
      };
    if (seen.has(user))
      return { ok: false, reason: `line ${i + 1}: user ${JSON.stringify(user).slice(0, 60)} appears twice` };
    seen.add(user);
    out.push(`${user}:${hash}`);
  }
  if (out.length === 0) return { ok: false, reason: 'it lists no users' };
  if (out.length > MAX_USERS) return { ok: false, reason: `it lists more than ${MAX_USERS} users` };
  return { ok: true, content: `${out.join('\n')}\n`, users: out.length };
}

/** The htpasswd text from the Secret, by auth-secret-type. */
function usersFrom(
  secret: Secret,
  type: 'auth-file' | 'auth-map',
): { ok: true; text: string } | { ok: false; reason: string } {
  const ref = `Secret ${secret.meta.namespace}/${secret.meta.name}`;
  if (type === 'auth-file') {
    if (!Object.hasOwn(secret.data, 'auth'))
      return { ok: false, reason: `${ref} has no key "auth" (an htpasswd file)` };
    const text = decode(secret.data.auth!);
    if (text === undefined) return { ok: false, reason: `${ref} key "auth" is not base64 of UTF-8 text` };
    return { ok: true, text };
  }
  const lines: string[] = [];
  for (const user of Object.keys(secret.data).sort()) {
    const hash = decode(secret.data[user]!);
    if (!DATA_KEY.test(user) || hash === undefined)
      return {
        ok: false,
        reason: `${ref} key ${JSON.stringify(user).slice(0, 60)} is not a user name with a base64 password hash`,
      };
    // a value is one hash: a line break in it would start another user
    if (/[\r\n]/.test(hash.replace(/\r?\n$/, '')))
      return { ok: false, reason: `${ref}: the hash of user ${JSON.stringify(user).slice(0, 60)} spans several lines` };
    lines.push(`${user}:${hash.replace(/\r?\n$/, '')}`);
  }
  return { ok: true, text: lines.join('\n') };
}

export function parseBasicAuth(ing: Ingress, ctx: AnnotationContext, problems: Problem[]): BasicAuthConfig | undefined {
  const annotations = ing.meta.annotations;
  const present = AUTH_KEYS.filter((k) => annotations[k] !== undefined);
  if (present.length === 0) return undefined;
  const before = problems.length;
  if (annotations[AUTH_TYPE] === undefined) {
    problems.push(
      refusedBecause(
        ing,
        present[0]!,
        `${present.join(', ')} without ${AUTH_TYPE}: "basic" would serve the paths without authentication`,
      ),
    );
    return undefined;
  }
  const type = annotations[AUTH_TYPE].trim();
  if (type === 'digest') {
    problems.push(
      refused(
        ing,
        AUTH_TYPE,
        annotations[AUTH_TYPE],
        '"basic" (digest needs a third-party nginx module this nginx does not have)',
      ),
    );
  } else if (type !== 'basic') {
    problems.push(refused(ing, AUTH_TYPE, annotations[AUTH_TYPE], '"basic"'));
  }
  let realm = DEFAULT_REALM;
  if (annotations[AUTH_REALM] !== undefined) {
    if (REALM.test(annotations[AUTH_REALM])) realm = annotations[AUTH_REALM];
    else
      problems.push(
        refused(
          ing,
          AUTH_REALM,
          annotations[AUTH_REALM],
          'printable ASCII without quotes, backslashes or "$", at most 256 characters',
        ),
      );
  }
  let secretType: 'auth-file' | 'auth-map' = 'auth-file';
  if (annotations[AUTH_SECRET_TYPE] !== undefined) {
    const value = annotations[AUTH_SECRET_TYPE].trim();
    if (value === 'auth-file' || value === 'auth-map') secretType = value;
    else problems.push(refused(ing, AUTH_SECRET_TYPE, annotations[AUTH_SECRET_TYPE], '"auth-file" or "auth-map"'));
  }
  let ref: { namespace: string; name: string } | undefined;
  if (annotations[AUTH_SECRET] === undefined) {
    problems.push(
      refusedBecause(ing, AUTH_TYPE, `${AUTH_TYPE}: basic needs ${AUTH_SECRET}, the Secret with the users`),
    );
  } else {
    ref = parseNamespacedName(annotations[AUTH_SECRET], ing.meta.namespace);
    if (!ref) problems.push(refused(ing, AUTH_SECRET, annotations[AUTH_SECRET], 'a Secret name, or namespace/name'));
    // as ingress-nginx since 1.12 (allow-cross-namespace-resources: false): a tenant cannot use another
    // namespace's Secret
    else if (ref.namespace !== ing.meta.namespace) {
      problems.push(
        refused(
          ing,
          AUTH_SECRET,
          annotations[AUTH_SECRET],
          `a Secret in the Ingress's namespace ${ing.meta.namespace} (Secrets of other namespaces are refused)`,
        ),
      );
    }
  }
  if (problems.length > before || !ref) return undefined;

  const secret = ctx.secret(ref.namespace, ref.name);
  const secretName = `${ref.namespace}/${ref.name}`;
  if (!secret) {
    problems.push(refusedBecause(ing, AUTH_SECRET, `Secret ${secretName} not found`));
    return undefined;
  }
  const users = usersFrom(secret, secretType);
  const parsed = users.ok ? parseHtpasswd(users.text) : users;
  if (!parsed.ok) {
    problems.push(
      refusedBecause(ing, AUTH_SECRET, `Secret ${secretName} is not a usable ${secretType}: ${parsed.reason}`),
    );
    return undefined;
  }
  // one file per Secret and type: Ingresses sharing a Secret share the file
  const base = fileBaseName(`htpasswd-${secretType === 'auth-map' ? 'map' : 'file'}`, ref.namespace, ref.name);
  return { realm, file: ctx.file(base, parsed.content, 0o640), secret: secretName };
}

export const authFamily: Family<'auth', BasicAuthConfig> = {
  name: 'auth',
  keys: AUTH_KEYS,
  // an unreadable authentication must not serve the paths unauthenticated
  failClosed: true,
  location: parseBasicAuth,
  references(ing) {
    const value = ing.meta.annotations[AUTH_SECRET];
    const ref = value === undefined ? undefined : parseNamespacedName(value, ing.meta.namespace);
    // another namespace's Secret is refused (parseBasicAuth): not fetched either
    return ref && ref.namespace === ing.meta.namespace ? [{ kind: 'Secret', ...ref }] : [];
  },
};
