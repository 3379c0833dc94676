// Client buffers and timeouts, the default retries and request buffering of every location, and the
// workers' shutdown time: ConfigMap keys with ingress-nginx's names and defaults (settings-client.hbs,
// nginx.conf.hbs). A null value is one ingress-nginx shares with nginx's own default: it is not written,
// so that a config that does not set the key stays as it was.
import { NEXT_UPSTREAM_CONDITIONS, parseNextUpstream } from './annotations/proxy.js';
import type { TopicKey } from './settings-values.js';
import { bufferSizeSetting, intSetting, timeSetting } from './settings-values.js';

export interface HttpSettings {
  largeClientHeaderBuffers: { number: number; size: string } | null; // null: "4 8k"
  clientHeaderBufferSize: string | null; // null: 1k
  clientHeaderTimeout: number | null; // seconds; null: 60
  clientBodyBufferSize: string; // 8k, written: nginx's own default is 16k on 64-bit machines
  clientBodyTimeout: number | null; // seconds; null: 60
  // the defaults of the annotations of the same names (annotations/proxy.ts), which override them per location
  proxyNextUpstream: readonly string[];
  proxyNextUpstreamTimeout: number; // seconds, 0: no limit
  proxyNextUpstreamTries: number; // 0: no limit
  proxyRequestBuffering: boolean; // proxy_request_buffering on (nginx's default too) or off
  workerShutdownTimeout: string; // nginx time
}

export const HTTP_DEFAULTS: Readonly<HttpSettings> = Object.freeze({
  largeClientHeaderBuffers: null,
  clientHeaderBufferSize: null,
  clientHeaderTimeout: null,
  clientBodyBufferSize: '8k',
  clientBodyTimeout: null,
  proxyNextUpstream: Object.freeze(['error', 'timeout']),
  proxyNextUpstreamTimeout: 0,
  proxyNextUpstreamTries: 3,
  proxyRequestBuffering: true,
  workerShutdownTimeout: '240s',
});

/** large-client-header-buffers: "NUMBER SIZE", such as "4 8k". */
export function parseHeaderBuffers(value: string): { number: number; size: string } | undefined {
  const match = /^([0-9]{1,4})[ \t]+([0-9]{1,9}[kKmM]?)$/.exec(value);
  if (!match) return undefined;
  const number = Number(match[1]);
  const size = bufferSizeSetting(match[2]!) as string | undefined;
  return number >= 1 && size !== undefined ? Object.freeze({ number, size }) : undefined;
}

export const HTTP_KEYS: Record<string, TopicKey> = {
  'large-client-header-buffers': [
    'largeClientHeaderBuffers',
    parseHeaderBuffers,
    'a number of buffers and their size, such as "4 8k"',
  ],
  'client-header-buffer-size': ['clientHeaderBufferSize', bufferSizeSetting, 'a non-zero size such as 1k'],
  'client-header-timeout': ['clientHeaderTimeout', intSetting(1, 86400), 'seconds, 1-86400'],
  'client-body-buffer-size': ['clientBodyBufferSize', bufferSizeSetting, 'a non-zero size such as 8k'],
  'client-body-timeout': ['clientBodyTimeout', intSetting(1, 86400), 'seconds, 1-86400'],
  'proxy-next-upstream': [
    'proxyNextUpstream',
    (value) => {
      const conditions = parseNextUpstream(value);
      return conditions ? Object.freeze(conditions) : undefined;
    },
    `space-separated conditions among ${NEXT_UPSTREAM_CONDITIONS.join(' ')} ("off" alone)`,
  ],
  'proxy-next-upstream-timeout': ['proxyNextUpstreamTimeout', intSetting(0, 86400), 'seconds, 0-86400 (0: no limit)'],
  'proxy-next-upstream-tries': ['proxyNextUpstreamTries', intSetting(0, 999_999_999), 'a whole number (0: no limit)'],
  'proxy-request-buffering': [
    'proxyRequestBuffering',
    (value) => (value === 'on' ? true : value === 'off' ? false : undefined),
    '"on" or "off"',
  ],
  'worker-shutdown-timeout': ['workerShutdownTimeout', timeSetting, 'an nginx time such as 240s or 5m'],
};
