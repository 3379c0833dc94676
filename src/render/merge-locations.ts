// Locations that need no block of their own: each location costs nginx -t and every reload time and
// memory (lua-nginx-module makes a TLS context per location, see docs/nginx-notes.md). A location whose
// requests the nearest enclosing prefix location would serve with exactly the same configuration (the
// same backend, annotations, redirect) is left out, leaving a comment: a Prefix /api of the Ingress
// whose "/" goes to the same Service, say. Only for hosts of plain prefix and exact locations, where
// nginx picks the longest matching prefix (every prefix location ends in "/"), and without snippets.

export interface Mergeable {
  exact: boolean;
  path: string;
  pathType: string;
  ingress: string;
  servedBy: string | null; // left out: the path of the location that serves its requests
}

/** Sets servedBy on the locations that the nearest enclosing prefix location serves alike. */
export function mergeIntoEnclosing<T extends Mergeable>(views: T[]): void {
  const prefixes = new Map(views.filter((v) => !v.exact).map((v) => [v.path, v]));
  if ([...prefixes.keys()].some((p) => !p.endsWith('/'))) return;
  // the longest prefix location matching locationPath: itself when self, else a proper ancestor
  const enclosing = (locationPath: string, self: boolean): T | undefined => {
    for (let i = self ? locationPath.length - 1 : locationPath.length - 2; i >= 0; i--) {
      const found = locationPath[i] === '/' ? prefixes.get(locationPath.slice(0, i + 1)) : undefined;
      if (found) return found;
    }
    return undefined;
  };
  const keys = new Map(views.map((v) => [v, configKey(v)]));
  const same = (v: T, t: T | undefined): t is T => t !== undefined && keys.get(t) === keys.get(v);
  // removing an enclosing location that is itself served alike leaves the next one up: the same again
  const left = new Set<T>();
  for (const prefix of prefixes.values()) if (same(prefix, enclosing(prefix.path, false))) left.add(prefix);
  for (const view of views) {
    if (!view.exact || !same(view, enclosing(view.path, true))) continue;
    // nginx answers "/foo" with a 301 to "/foo/" when the location "/foo/" proxies: keep "= /foo" then
    const slash = prefixes.get(`${view.path}/`);
    if (slash && !left.has(slash)) continue;
    left.add(view);
  }
  for (const view of left) {
    let serving = enclosing(view.path, view.exact)!;
    while (left.has(serving)) serving = enclosing(serving.path, false)!;
    view.servedBy = serving.path;
  }
}

/** Everything a location renders from, but its path and the comment (view keys in a fixed order). */
function configKey(view: Mergeable): string {
  const { exact: _e, path: _p, pathType: _t, ingress: _i, servedBy: _s, ...config } = view;
  return JSON.stringify(config);
}
