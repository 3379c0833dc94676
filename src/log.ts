// Log records on stderr: JSON lines (one object per line, for log shippers) or, on a terminal, one
// readable line each. Fields name what a record concerns (file, object, field, hash...).
export type Level = 'info' | 'warn' | 'error';
export type Fields = Record<string, string | number | boolean | undefined>;
export type Logger = (level: Level, msg: string, fields?: Fields) => void;
export type LogFormat = 'json' | 'text' | 'auto';

export function stderrLogger(options: { quiet?: boolean; format?: LogFormat } = {}): Logger {
  const json = options.format === 'json' || ((options.format ?? 'auto') === 'auto' && !process.stderr.isTTY);
  return (level, msg, fields = {}) => {
    if (options.quiet && level === 'info') return;
    const time = new Date().toISOString();
    if (json) {
      process.stderr.write(`${JSON.stringify({ time, level, msg, ...fields })}\n`);
      return;
    }
    const extra = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(' ');
    process.stderr.write(`${time} ${level.padEnd(5)} ${msg}${extra ? `  ${extra}` : ''}\n`);
  };
}
