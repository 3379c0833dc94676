// One JSON request to the API server and its whole answer, for the writes of src/publish/ (the Lease, Ingress
// status): through ApiConfig.request (src/sources/kubernetes/config.ts), the one HTTP client of the controller,
// so that credentials, exec plugins and the kept-alive agent are the same as for the watches.
import type { ApiConfig } from '../sources/kubernetes/config.js';

export interface JsonReply {
  status: number;
  /** the parsed body; undefined when it is empty or not JSON */
  body: unknown;
}

export type JsonCall = (method: string, pathAndQuery: string, body?: unknown) => Promise<JsonReply>;

/** Whatever a Status body says, for logs: its message, else the HTTP status. */
export function replyMessage(reply: JsonReply): string {
  const message = (reply.body as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? `HTTP ${reply.status}: ${message}` : `HTTP ${reply.status}`;
}

/**
 * A JsonCall over api; every exchange has a deadline (a half-open connection must not hold a renewal or a
 * status write for ever).
 */
export function jsonCall(api: Pick<ApiConfig, 'request'>, deadlineMs = 10_000): JsonCall {
  return async (method, pathAndQuery, body) => {
    const response = await api.request(pathAndQuery, {
      method,
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      deadlineMs,
    });
    response.setEncoding('utf8');
    let text = '';
    for await (const chunk of response) text += chunk as string;
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.statusCode ?? 0, body: parsed };
  };
}
