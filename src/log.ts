// One-line log records on stderr: time, level, message.
export type Level = 'info' | 'warn' | 'error';
export type Logger = (level: Level, msg: string) => void;

export function stderrLogger(quiet = false): Logger {
  return (level, msg) => {
    if (quiet && level === 'info') return;
    process.stderr.write(`${new Date().toISOString()} ${level.padEnd(5)} ${msg}\n`);
  };
}
