// One real HTTP(S) request to 127.0.0.1 with a chosen Host header and SNI name; a fresh connection each
// time (agent: false), so every request is accepted anew by whichever nginx worker the kernel picks.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { PodAnswer } from './pods.js';

export interface RequestOptions {
  https?: boolean;
  servername?: string | null; // SNI; defaults to host; null sends none
  address?: string; // where to connect, default 127.0.0.1
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

export interface CertInfo {
  subject: Record<string, string>;
  issuer: Record<string, string>;
  subjectaltname: string; // "DNS:a.example.com, ..." or ''
  fingerprint256: string;
}

export interface Reply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  cert?: CertInfo; // the certificate nginx presented (HTTPS only)
  /** the pod's answer when a fake pod answered, else undefined (an nginx error page, say) */
  pod?: PodAnswer;
}

export function request(port: number, host: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  const address = options.address ?? '127.0.0.1';
  if (!/^127\./.test(address)) return Promise.reject(new Error(`requests stay on loopback, not ${address}`));
  const lib = options.https ? https : http;
  // SNI carries names only (RFC 6066), never an IP literal
  const servername = options.servername === undefined ? (net.isIP(host) ? null : host) : options.servername;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      {
        host: address,
        port,
        path,
        method: options.method ?? 'GET',
        agent: false,
        headers: { host, ...options.headers },
        // '' sends no SNI; left unset, node would derive it from the Host header
        ...(options.https ? { rejectUnauthorized: false, servername: servername ?? '' } : {}),
        timeout: options.timeoutMs ?? 5000,
      },
      (res) => {
        let cert: CertInfo | undefined;
        if (options.https) {
          const peer = (res.socket as TLSSocket).getPeerCertificate() as PeerCertificate;
          if (peer?.subject) {
            cert = {
              subject: { ...peer.subject } as Record<string, string>,
              issuer: { ...peer.issuer } as Record<string, string>,
              subjectaltname: peer.subjectaltname ?? '',
              fingerprint256: peer.fingerprint256,
            };
          }
        }
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('error', reject);
        res.on('end', () => {
          let pod: PodAnswer | undefined;
          if (res.headers['x-pod']) {
            try {
              pod = JSON.parse(body) as PodAnswer;
            } catch {
              /* not a pod */
            }
          }
          resolve({
            status: res.statusCode ?? 0,
            body,
            headers: res.headers,
            ...(cert ? { cert } : {}),
            ...(pod ? { pod } : {}),
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${address}:${port} ${host}${path} timed out`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Send `count` requests one after another; the pod that answered each, or "status <code>" when no pod did. */
export async function whoAnswers(count: number, send: () => Promise<Reply>): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const reply = await send();
    out.push(reply.pod ? reply.pod.pod : `status ${reply.status}`);
  }
  return out;
}

export interface TlsReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json?: unknown; // the body parsed, when it is JSON
}

/** One HTTPS request to nginx on 127.0.0.1 with SNI = host and, optionally, a client certificate. */
export function tlsRequest(
  port: number,
  host: string,
  urlPath: string,
  options: { client?: { cert: string; key: string }; headers?: Record<string, string> } = {},
): Promise<TlsReply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method: 'GET',
        agent: false,
        servername: host,
        rejectUnauthorized: false,
        headers: { host, ...options.headers },
        timeout: 5000,
        ...(options.client ? { cert: options.client.cert, key: options.client.key } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('error', reject);
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(body);
          } catch {
            /* an nginx page */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`https ${host}${urlPath} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** An Authorization header value for HTTP basic auth. */
export const basicAuth = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
