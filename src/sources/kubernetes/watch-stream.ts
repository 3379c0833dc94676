// The API server streams a watch as one JSON object per line, but TCP and TLS cut the stream wherever they
// like: a chunk may end in the middle of a line, or in the middle of a multi-byte UTF-8 character.
import { StringDecoder } from 'node:string_decoder';

export type KubeObject = Record<string, unknown> & {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; [key: string]: unknown };
};

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent {
  type: WatchEventType;
  /** the object; for ERROR a metav1.Status (code, reason, message) */
  object: KubeObject;
}

const TYPES = new Set<string>(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

/** Turns chunks of a watch body into events; push() returns the events completed by that chunk. */
export class WatchLineParser {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  push(chunk: Buffer | string): WatchEvent[] {
    this.pending += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const events: WatchEvent[] = [];
    let newline = this.pending.indexOf('\n');
    while (newline >= 0) {
      const line = this.pending.slice(0, newline).trim();
      this.pending = this.pending.slice(newline + 1);
      if (line) events.push(parseEventLine(line));
      newline = this.pending.indexOf('\n');
    }
    return events;
  }

  /** What is left when the stream ends: a last line without its newline, or nothing. */
  end(): WatchEvent[] {
    const line = (this.pending + this.decoder.end()).trim();
    this.pending = '';
    return line ? [parseEventLine(line)] : [];
  }
}

/** A line that is not a watch event throws: the stream is broken and the watch must be restarted. */
export function parseEventLine(line: string): WatchEvent {
  const parsed = JSON.parse(line) as { type?: unknown; object?: unknown };
  if (typeof parsed.type !== 'string' || !TYPES.has(parsed.type)) {
    throw new Error(`watch: unexpected event type ${JSON.stringify(parsed.type)}`);
  }
  if (!parsed.object || typeof parsed.object !== 'object') throw new Error('watch: event without an object');
  return { type: parsed.type as WatchEventType, object: parsed.object as KubeObject };
}
