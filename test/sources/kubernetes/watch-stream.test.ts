import assert from 'node:assert/strict';
import { parseEventLine, WatchLineParser } from '../../../src/sources/kubernetes/watch-stream.js';

const line = (type: string, name: string, version: string) =>
  `${JSON.stringify({ type, object: { kind: 'ConfigMap', metadata: { name, resourceVersion: version } } })}\n`;

describe('sources/kubernetes/watch-stream WatchLineParser', () => {
  it('yields each event once its line is complete, whatever the chunk boundaries', () => {
    const body = Buffer.from(
      line('ADDED', 'é-first', '1') + line('BOOKMARK', '', '2') + line('DELETED', 'ünïcode', '3'),
    );
    // every split point, including inside the two-byte characters
    for (let cut = 0; cut <= body.length; cut++) {
      const parser = new WatchLineParser();
      const events = [...parser.push(body.subarray(0, cut)), ...parser.push(body.subarray(cut)), ...parser.end()];
      assert.deepEqual(
        events.map((event) => `${event.type} ${event.object.metadata?.name} ${event.object.metadata?.resourceVersion}`),
        ['ADDED é-first 1', 'BOOKMARK  2', 'DELETED ünïcode 3'],
        `cut at byte ${cut}`,
      );
    }
  });

  it('byte by byte, and a last line without its newline at the end', () => {
    const body = Buffer.from(line('MODIFIED', 'a', '7') + line('ADDED', 'b', '8').trimEnd());
    const parser = new WatchLineParser();
    const names: string[] = [];
    for (const byte of body)
      for (const event of parser.push(Buffer.from([byte]))) names.push(event.object.metadata!.name!);
    assert.deepEqual(names, ['a']);
    assert.deepEqual(
      parser.end().map((event) => event.object.metadata?.name),
      ['b'],
    );
  });

  it('skips blank lines and refuses what is not a watch event', () => {
    const parser = new WatchLineParser();
    assert.deepEqual(parser.push('\n\r\n'), []);
    assert.throws(() => parseEventLine('{"type":"SOMETHING","object":{}}'), /unexpected event type/);
    assert.throws(() => parseEventLine('{"type":"ADDED"}'), /without an object/);
    assert.throws(() => parseEventLine('{"type":"ADD'), SyntaxError);
    const status = parseEventLine('{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}}');
    assert.equal((status.object as { code?: number }).code, 410);
  });
});
