// The dedicated `nginx -t` of snippet annotations (model/annotations/snippets.ts). Each distinct snippet is
// included, alone, in a throwaway config with one minimal server (server-snippet) or one location of it
// (configuration-snippet), written to a temporary prefix, and tested. A refused snippet is left out of the
// model and its Ingress's paths answer 503 (denySnippets), so one tenant's broken snippet neither reaches
// nginx nor blocks everyone else's changes. Verdicts are remembered by file name, which carries the
// content hash: only new or changed snippets cost an nginx -t.
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { SnippetCheck } from '../model/annotations/snippets.js';
import { snippetKey } from '../plan.js';
import type { NginxBinary } from './binary.js';
import { featureModules } from '../render/view.js';
import { nginxArgs } from './configtest.js';

export class SnippetChecker {
  private verdicts = new Map<string, string | null>(); // "context file" -> nginx's complaint, or null when accepted

  /**
   * @param tmpDir where the throwaway prefixes go (PREFIX/tmp)
   * @param luaModules load_module lines of the real config, so a Lua directive passes only if it would there
   */
  constructor(
    private readonly bin: NginxBinary,
    private readonly tmpDir: string,
    private readonly luaModules: string[],
  ) {}

  /** nginx's verdicts so far, by snippetKey (src/plan.ts): an Environment's snippetVerdicts. */
  get known(): ReadonlyMap<string, string | null> {
    return this.verdicts;
  }

  /** Test each snippet without a verdict yet; the verdicts of all of them, by snippetKey. */
  async verdictsFor(checks: SnippetCheck[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    for (const check of checks) {
      const key = snippetKey(check);
      let verdict = this.verdicts.get(key);
      if (verdict === undefined) {
        verdict = await this.test(check).catch((e: Error) => `cannot test it: ${e.message}`);
        // a failure to run the test is retried on the next sync; nginx's verdict on a text is final
        if (!verdict?.startsWith('cannot test it')) this.verdicts.set(key, verdict);
      }
      out.set(key, verdict);
    }
    return out;
  }

  /** Forget the verdicts on snippets no Ingress has any more. */
  keepOnly(checks: SnippetCheck[]): void {
    const seen = new Set(checks.map(snippetKey));
    for (const key of [...this.verdicts.keys()]) if (!seen.has(key)) this.verdicts.delete(key);
  }

  /** nginx's complaint about the snippet, or null when nginx accepts it. */
  async test(check: SnippetCheck): Promise<string | null> {
    let prefix: string;
    try {
      prefix = await fs.mkdtemp(path.join(this.tmpDir, 'snippet-check-'));
    } catch (err) {
      return `cannot test it: ${(err as Error).message}`;
    }
    try {
      const snippet = path.join(prefix, 'snippet.conf');
      await fs.writeFile(snippet, check.text, { mode: 0o600 });
      const conf = path.join(prefix, 'nginx.conf');
      await fs.writeFile(
        conf,
        throwawayConfig(
          prefix,
          snippet,
          check.context,
          // headers-more too, as the real config loads it: a more_set_headers snippet passes only if it would there
          [...this.luaModules, ...featureModules(this.bin.features)],
          this.bin.features.tempPaths,
        ),
        { mode: 0o600 },
      );
      const result = await execa(this.bin.path, ['-t', '-q', ...nginxArgs(this.bin, prefix, conf)], {
        all: true,
        reject: false,
        timeout: 60_000,
      });
      if (result.exitCode === 0 && !result.timedOut) return null;
      const output = (result.all ?? '').trim();
      const first =
        output.split('\n').find((l) => /\[(emerg|alert|crit|error)\]/.test(l)) ??
        output.split('\n')[0] ??
        'nginx -t failed';
      // name the snippet's own line, not the temporary file
      return first
        .replace(/^nginx: /, '')
        .replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d (\[\w+\]) \d+#\d+: /, '$1 ')
        .split(snippet)
        .join('snippet')
        .replace(` in ${conf}:`, ' in the test config, line ');
    } finally {
      await fs.rm(prefix, { recursive: true, force: true });
    }
  }
}

/**
 * One server with one location, the variables the real config defines at http level, and the snippet
 * included where it would be. Nothing listens: nginx -t does not bind.
 */
export function throwawayConfig(
  prefix: string,
  snippet: string,
  context: 'server' | 'location',
  luaModules: string[],
  tempPaths: string[],
): string {
  const quoted = (s: string) => JSON.stringify(s); // paths we made: no quotes or '$' in them
  const include = `include ${quoted(snippet)};`;
  return [
    ...luaModules.map((m) => `load_module ${quoted(m)};`),
    `pid ${quoted(path.join(prefix, 'nginx.pid'))};`,
    'events {}',
    'http {',
    `    client_body_temp_path ${quoted(path.join(prefix, 'client_body'))};`,
    `    proxy_temp_path ${quoted(path.join(prefix, 'proxy'))};`,
    ...tempPaths.map((t) => `    ${t}_temp_path ${quoted(path.join(prefix, t))};`),
    `    access_log off;`,
    '    map $http_upgrade $connection_upgrade { default upgrade; "" ""; }',
    '    map $http_host $best_http_host { default $http_host; "" $host; }',
    '    upstream upstream_balancer { server 127.0.0.1:9; }',
    '    server {',
    '        listen 127.0.0.1:9;',
    '        server_name _;',
    ...(context === 'server' ? [`        ${include}`] : []),
    '        location / {',
    '            set $proxy_upstream_name "-";',
    ...(context === 'location' ? [`            ${include}`] : []),
    '            proxy_pass http://upstream_balancer;',
    '        }',
    '    }',
    '}',
    '',
  ].join('\n');
}
