import assert from 'node:assert/strict';
import { stderrLogger } from '../src/log.js';

/** What the logger writes to stderr during fn, one string per write. */
function captureStderr(fn: () => void, isTTY = false): string[] {
  const writes: string[] = [];
  const write = process.stderr.write;
  const tty = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');
  Object.defineProperty(process.stderr, 'isTTY', { value: isTTY, configurable: true });
  process.stderr.write = ((chunk: string) => {
    writes.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = write;
    if (tty) Object.defineProperty(process.stderr, 'isTTY', tty);
    else delete (process.stderr as { isTTY?: boolean }).isTTY;
  }
  return writes;
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('log', () => {
  it('json: one object per line with time, level, msg and the fields; undefined fields left out', () => {
    const writes = captureStderr(() =>
      stderrLogger({ format: 'json' })('warn', 'a problem', {
        file: 'a.yaml',
        line: 3,
        fatal: false,
        cause: undefined,
      }),
    );
    assert.equal(writes.length, 1);
    assert.ok(writes[0]!.endsWith('\n') && !writes[0]!.slice(0, -1).includes('\n'), JSON.stringify(writes[0]));
    const record = JSON.parse(writes[0]!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(record), ['time', 'level', 'msg', 'file', 'line', 'fatal']);
    assert.match(String(record.time), ISO_TIME);
    assert.deepEqual(
      { ...record, time: undefined },
      { time: undefined, level: 'warn', msg: 'a problem', file: 'a.yaml', line: 3, fatal: false },
    );
  });

  it('json: a message with a newline or quotes stays one line', () => {
    const writes = captureStderr(() => stderrLogger({ format: 'json' })('error', 'line 1\nline "2"'));
    assert.equal(writes[0]!.split('\n').length, 2);
    assert.equal((JSON.parse(writes[0]!) as { msg: string }).msg, 'line 1\nline "2"');
  });

  it('text: time, padded level, message, then the fields as key="value"', () => {
    const writes = captureStderr(() =>
      stderrLogger({ format: 'text' })('info', 'reloaded', { hash: 'abc', ms: 12, skipped: undefined }),
    );
    assert.equal(writes.length, 1);
    const match = /^(\S+) info {2}reloaded {2}hash="abc" ms=12\n$/.exec(writes[0]!);
    assert.ok(match, JSON.stringify(writes[0]));
    assert.match(match[1]!, ISO_TIME);
    const bare = captureStderr(() => stderrLogger({ format: 'text' })('error', 'no fields'));
    assert.match(bare[0]!, /^\S+ error no fields\n$/);
  });

  it('auto: text on a terminal, json otherwise (the default)', () => {
    const onTerminal = captureStderr(() => stderrLogger({ format: 'auto' })('info', 'x'), true);
    assert.match(onTerminal[0]!, /^\S+ info {2}x\n$/);
    const piped = captureStderr(() => stderrLogger()('info', 'x'), false);
    assert.equal((JSON.parse(piped[0]!) as { msg: string }).msg, 'x');
  });

  it('quiet: info records are dropped, warnings and errors kept', () => {
    const writes = captureStderr(() => {
      const log = stderrLogger({ quiet: true, format: 'json' });
      log('info', 'dropped');
      log('warn', 'kept warning');
      log('error', 'kept error');
    });
    assert.deepEqual(
      writes.map((line) => (JSON.parse(line) as { msg: string }).msg),
      ['kept warning', 'kept error'],
    );
  });
});
