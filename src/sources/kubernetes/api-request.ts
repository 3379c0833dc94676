// GET requests to the API server with the credentials of the API configuration (config.ts: client-node's
// KubeConfig applied per request, one kept-alive agent, plain http for kubectl proxy), and the API's errors
// as ApiStatusError with the status and Retry-After.
import type { IncomingMessage } from 'node:http';
import type { ApiConfig } from './config.js';

export class ApiStatusError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: string,
    /** seconds from a Retry-After header, when the server sent one */
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(`HTTP ${statusCode}: ${summary(body)}`);
  }
}

function summary(body: string): string {
  try {
    const status = JSON.parse(body) as { message?: string; reason?: string };
    if (status.message) return status.message;
  } catch {
    // not a Status: the text itself
  }
  return body.slice(0, 200) || '(no body)';
}

function retryAfter(response: IncomingMessage): number | undefined {
  const header = response.headers['retry-after'];
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

export class ApiClient {
  constructor(private readonly api: ApiConfig) {}

  /**
   * GET pathAndQuery (relative to the server's path); resolves with the response once its status is 200,
   * rejects with ApiStatusError for any other status (its body read), or with the transport's error.
   * Credentials are applied on every request (config.ts) so that exec plugins can refresh expiring tokens.
   */
  async get(pathAndQuery: string, signal: AbortSignal, timeoutMs: number): Promise<IncomingMessage> {
    const response = await this.api.request(pathAndQuery, {
      headers: { accept: 'application/json' },
      signal,
      deadlineMs: timeoutMs,
    });
    if (response.statusCode === 200) return response;
    return new Promise((_resolve, reject) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (body.length < 64 * 1024) body += chunk;
      });
      response.on('error', reject);
      response.on('end', () => reject(new ApiStatusError(response.statusCode ?? 0, body, retryAfter(response))));
    });
  }
}
