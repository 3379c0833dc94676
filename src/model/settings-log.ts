// The access log's format: log-format-upstream, log-format-escape-json, log-format-escape-none, as
// ingress-nginx rendered them (log_format upstreaminfo [escape=...] '...'). The format may name nginx
// variables ($name or ${name}) and nothing else that nginx would read: every other character is text,
// escaped where it is written (render/escape.ts logFormat).
import type { TopicKey } from './settings-values.js';
import { parseBoolSetting } from './settings-values.js';

export interface LogSettings {
  logFormatUpstream: string | null; // null: the controller's own format (settings-log-format.hbs)
  logFormatEscapeJson: boolean;
  logFormatEscapeNone: boolean; // wins over escape-json, as in ingress-nginx
}

export const LOG_DEFAULTS: Readonly<LogSettings> = Object.freeze({
  logFormatUpstream: null,
  logFormatEscapeJson: false,
  logFormatEscapeNone: false,
});

// Variables of nginx's core, upstream, SSL, HTTP/2, gzip and realip modules (all in this nginx): a name
// nginx does not know would fail nginx -t and hold back every other change.
export const NGINX_VARIABLES: ReadonlySet<string> = new Set(
  (
    'args binary_remote_addr body_bytes_sent bytes_sent connection connection_requests connection_time ' +
    'content_length content_type document_root document_uri host hostname https is_args limit_rate msec ' +
    'nginx_version pid pipe proxy_protocol_addr proxy_protocol_port proxy_protocol_server_addr ' +
    'proxy_protocol_server_port query_string realpath_root remote_addr remote_port remote_user request ' +
    'request_body request_body_file request_completion request_filename request_id request_length ' +
    'request_method request_time request_uri scheme server_addr server_name server_port server_protocol ' +
    'status tcpinfo_rtt tcpinfo_rttvar tcpinfo_snd_cwnd tcpinfo_rcv_space time_iso8601 time_local uri ' +
    'upstream_addr upstream_bytes_received upstream_bytes_sent upstream_cache_status upstream_connect_time ' +
    'upstream_header_time upstream_response_length upstream_response_time upstream_status ' +
    'proxy_host proxy_port proxy_add_x_forwarded_for ' +
    'ssl_cipher ssl_ciphers ssl_client_escaped_cert ssl_client_fingerprint ssl_client_i_dn ssl_client_s_dn ' +
    'ssl_client_serial ssl_client_verify ssl_client_v_start ssl_client_v_end ssl_client_v_remain ' +
    'ssl_curves ssl_early_data ssl_protocol ssl_server_name ssl_session_id ssl_session_reused ' +
    'http2 gzip_ratio realip_remote_addr realip_remote_port ' +
    // the controller's own: the upstream name of the location (http.hbs)
    'proxy_upstream_name'
  ).split(' '),
);
// families of variables named after a header, cookie or argument
const VARIABLE_PREFIXES =
  /^(?:http|sent_http|sent_trailer|cookie|arg|upstream_http|upstream_cookie|upstream_trailer)_./;
// ingress-nginx's names for what the controller has under another name
const RENAMED: ReadonlyMap<string, string> = new Map([['req_id', 'ingress_templater_request_id']]);

const VARIABLE = /\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))?/g;

/**
 * log-format-upstream: printable ASCII whose "$" each begin a known variable. ingress-nginx's $req_id
 * becomes the controller's request id variable (the same value); its other own variables ($namespace,
 * $ingress_name, $service_name, $proxy_alternative_upstream_name...) are not defined here and are refused.
 */
export function parseLogFormat(value: string): string | undefined {
  if (!/^[\x20-\x7e]{1,4096}$/.test(value)) return undefined;
  let known = true;
  const renamed = value.replace(VARIABLE, (match, braced?: string, bare?: string) => {
    const name = braced ?? bare;
    if (name === undefined || !(NGINX_VARIABLES.has(name) || VARIABLE_PREFIXES.test(name) || RENAMED.has(name))) {
      known = false;
      return match;
    }
    const ours = RENAMED.get(name) ?? name;
    return braced === undefined ? `$${ours}` : `\${${ours}}`;
  });
  return known ? renamed : undefined;
}

export const LOG_KEYS: Record<string, TopicKey> = {
  'log-format-upstream': [
    'logFormatUpstream',
    parseLogFormat,
    'printable text in which each "$" begins an nginx variable ($remote_addr, ${status}, $http_NAME...)',
  ],
  'log-format-escape-json': ['logFormatEscapeJson', parseBoolSetting, '"true" or "false"'],
  'log-format-escape-none': ['logFormatEscapeNone', parseBoolSetting, '"true" or "false"'],
};
