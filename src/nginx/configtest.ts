// nginx -t on a candidate file, with failures traced back to the Ingress that produced the bad line.
import { execa } from 'execa';
import { ConfigTestError } from '../errors.js';
import type { NginxBinary } from './binary.js';
import { versionAtLeast } from './binary.js';

export function nginxArgs(bin: NginxBinary, prefix: string, conf: string): string[] {
  // -e keeps nginx from opening its compiled-in error log (often /var/log/nginx, not ours to touch)
  return ['-p', prefix, '-c', conf, ...(versionAtLeast(bin.version, '1.19.5') ? ['-e', 'stderr'] : [])];
}

export async function testConfig(
  bin: NginxBinary,
  prefix: string,
  file: string,
  text: string,
  timeoutMs = 60_000,
): Promise<void> {
  const result = await execa(bin.path, ['-t', '-q', ...nginxArgs(bin, prefix, file)], {
    all: true,
    reject: false,
    timeout: timeoutMs,
  });
  if (result.exitCode === 0 && !result.timedOut) return;
  const output = (result.all ?? '').trim();
  // killed, nginx said nothing: an empty reason read as if the config were wrong
  if (result.timedOut)
    throw new ConfigTestError(
      `nginx -t did not finish within ${timeoutMs / 1000} s (${text.length} bytes of config); it was stopped`,
      output,
    );
  throw new ConfigTestError(`nginx -t rejected the candidate: ${explainTestFailure(output, file, text)}`, output);
}

/** Name the Ingress and server behind the line nginx complains about, using the rendered comments. */
export function explainTestFailure(output: string, file: string, text: string): string {
  const first = output.split('\n').find((l) => /\[(emerg|alert|crit|error)\]/.test(l)) ?? output.split('\n')[0] ?? '';
  // "nginx: " (nginx -t) or "2026/11/27 19:59:42 [emerg] 12702#12702: " (-e stderr) before the text
  const message = first
    .replace(/^nginx: /, '')
    .replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[(\w+)\] \d+#\d+: /, '[$1] ');
  const match = new RegExp(`in ${escapeRe(file)}:(\\d+)`).exec(first);
  if (!match) return message;
  const lines = text.split('\n');
  const at = Number(match[1]) - 1;
  let ingress: string | undefined;
  let server: string | undefined;
  for (let i = Math.min(at, lines.length - 1); i >= 0; i--) {
    const line = lines[i]!.trim();
    if (!ingress) ingress = /^# ingress (\S+)/.exec(line)?.[1] ?? /default backend of ingress (\S+)/.exec(line)?.[1];
    const startedServer = /^## start server (\S+)/.exec(line)?.[1];
    if (startedServer) {
      server = startedServer;
      break;
    }
    if (/^## end server /.test(line)) break;
  }
  const where = [ingress && `Ingress ${ingress}`, server && `server ${server}`, `line ${at + 1}`]
    .filter(Boolean)
    .join(', ');
  return `${where}: ${message} (${(lines[at] ?? '').trim()})`;
}

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
