// One plan for every command: from the store's resources and the environment (what the I/O at the edges
// found out: nginx's features, ports and prefix, resolved ExternalName targets, nginx's verdicts on
// snippets) to the routing model, the config text and its hash, and the problems. `run`, `render`,
// `validate` and `describe` all use it, so a preview is what the controller applies, byte for byte.
//
// plan() is pure. What it could not decide without I/O it names (names to resolve, snippets to test);
// settle() asks the injected edges for exactly those and plans again, the way the controller always did.
import path from 'node:path';
import { buildModel } from './model/index.js';
import type { ModelInput, ModelOptions, Model } from './model/index.js';
import { denySnippets, snippetChecks } from './model/annotations/snippets.js';
import type { SnippetCheck } from './model/annotations/snippets.js';
import type { BalancerMode, Renderer, RenderOptions } from './render/index.js';
import type { Problem } from './resources.js';
import { NginxError } from './errors.js';

export interface Environment {
  model: Omit<ModelOptions, 'resolved'>; // classes, settings ConfigMap, balancer, endpoint policy, last good
  resolved: ReadonlyMap<string, string[]>; // ExternalName target -> addresses
  snippetVerdicts: ReadonlyMap<string, string | null>; // snippetKey() -> nginx's complaint, null when accepted
  renderer: Renderer;
  render: RenderOptions;
}

export interface Plan {
  model: Model;
  problems: Problem[]; // of the model and the snippets (not of loading the files)
  text: string;
  hash: string;
  externalNames: string[]; // every ExternalName target the model uses
  unresolved: string[]; // of those, the ones the environment has no addresses for
  snippets: SnippetCheck[]; // every snippet of the model, refused ones included
  untested: SnippetCheck[]; // of those, the ones the environment has no verdict on (planned as accepted)
}

export const snippetKey = (c: Pick<SnippetCheck, 'context' | 'file'>) => `${c.context} ${c.file}`;

export function plan(input: ModelInput, env: Environment): Plan {
  const built = buildModel(input, { ...env.model, resolved: env.resolved });
  const refused = new Map<string, string>();
  const untested: SnippetCheck[] = [];
  const snippets = snippetChecks(built.model);
  for (const check of snippets) {
    const verdict = env.snippetVerdicts.get(snippetKey(check));
    if (verdict === undefined) untested.push(check);
    else if (verdict !== null) refused.set(check.file, verdict);
  }
  // a refused snippet is left out of the model; its Ingress's paths answer 503
  const problems = [...built.problems, ...denySnippets(built.model, refused)];
  const { text, hash } = env.renderer.render(built.model, env.render);
  return {
    model: built.model,
    problems,
    text,
    hash,
    externalNames: built.externalNames,
    unresolved: built.externalNames.filter((n) => !env.resolved.has(n)),
    snippets,
    untested,
  };
}

/** The I/O a plan may need: resolving names and testing snippets (each may be absent: render without nginx). */
export interface PlanEdges {
  resolve?(names: string[]): Promise<ReadonlyMap<string, string[]>>; // every name asked, with its addresses
  testSnippets?(checks: SnippetCheck[]): Promise<ReadonlyMap<string, string | null>>; // snippetKey -> verdict
}

/**
 * plan(), then once more with what the edges found for what it named. Two rounds are enough: resolving
 * names cannot add snippets, and a snippet's verdict cannot add names.
 */
export async function settle(
  input: ModelInput,
  env: Environment,
  edges: PlanEdges,
): Promise<{ plan: Plan; env: Environment }> {
  let planned = plan(input, env);
  let next = env;
  if (planned.unresolved.length && edges.resolve)
    next = { ...next, resolved: await edges.resolve(planned.externalNames) };
  if (planned.untested.length && edges.testSnippets) {
    const found = await edges.testSnippets(planned.untested);
    next = { ...next, snippetVerdicts: new Map([...next.snippetVerdicts, ...found]) };
  }
  if (next !== env) planned = plan(input, next);
  return { plan: planned, env: next };
}

/** --balancer auto picks lua when nginx has ngx_lua; asking for lua without it is an error. */
export function balancerMode(choice: BalancerMode | 'auto', bin: { lua: boolean; path?: string }): BalancerMode {
  if (choice === 'lua' && !bin.lua) {
    throw new NginxError(
      `--balancer lua needs ngx_lua, which ${bin.path ?? 'this nginx'} does not have (install libnginx-mod-http-lua, or use OpenResty)`,
    );
  }
  return choice === 'auto' ? (bin.lua ? 'lua' : 'static') : choice;
}

/** Where nginx runs and how: what `run` is told, and what a preview must be told to render the same text. */
export interface Placement {
  prefix: string;
  listenAddress: string;
  httpPort: number;
  httpsPort: number;
  internalPort: number;
  defaultCertificate: string; // PEM file (PREFIX/ssl/default.pem)
  nginxUser: string | null;
  sidecar?: { pidFile: string }; // the external nginx reads our Lua from PREFIX/lua and keeps its pid there
  version: string;
}

/** The render options of a placement, for this nginx and balancer mode: one way for every command. */
export function renderOptionsFor(
  placement: Placement,
  bin: { features: RenderOptions['features']; luaModules: string[] },
  balancer: BalancerMode,
  bundledLuaDir: string,
): RenderOptions {
  return {
    prefix: placement.prefix,
    listenAddress: placement.listenAddress,
    httpPort: placement.httpPort,
    httpsPort: placement.httpsPort,
    internalPort: placement.internalPort,
    defaultCertificate: placement.defaultCertificate,
    user: placement.nginxUser,
    features: bin.features,
    version: placement.version,
    balancer,
    luaDir: placement.sidecar ? path.join(placement.prefix, 'lua') : bundledLuaDir,
    luaModules: bin.luaModules,
    ...(placement.sidecar ? { pidFile: placement.sidecar.pidFile } : {}),
  };
}
