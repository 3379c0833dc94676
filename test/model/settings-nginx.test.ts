import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { DEFAULT_SETTINGS } from '../../src/model/settings.js';
import { dhParamProblem } from '../../src/model/settings-dhparam.js';
import { parseCpuAffinity, parseHideHeaders, parseSkipUrls } from '../../src/model/settings-nginx.js';
import { referencedObjects } from '../../src/model/references.js';
import {
  build,
  CONFIG_MAP_OPTION,
  configMap,
  endpoints,
  ingress,
  path,
  rule,
  secret,
  service,
  OPTIONS,
  show,
  storeOf,
} from '../helpers/resources.js';
import { nginxAccepts, renderText } from './annotations/nginx-check.js';
import { parseData, toleratedCases, validCases } from './settings-cases.js';

// RFC 7919's ffdhe2048 group as OpenSSL writes it: DH parameters without the minutes dhparam takes
const DH_PEM = execFileSync('openssl', ['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'group:ffdhe2048'], {
  encoding: 'utf8',
});
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('settings: nginx-level keys (settings-nginx.ts, settings-dhparam.ts)', () => {
  it("has ingress-nginx's defaults; those nginx shares are not written (null)", () => {
    assert.equal(DEFAULT_SETTINGS.defaultType, 'text/html');
    assert.equal(DEFAULT_SETTINGS.errorLogLevel, 'notice');
    assert.equal(DEFAULT_SETTINGS.keepAliveRequests, null, '1000');
    assert.equal(DEFAULT_SETTINGS.upstreamKeepaliveRequests, 10000);
    assert.equal(DEFAULT_SETTINGS.upstreamKeepaliveTime, null, '1h');
    assert.equal(DEFAULT_SETTINGS.upstreamKeepaliveTimeout, null, '60');
    assert.equal(DEFAULT_SETTINGS.maxWorkerOpenFiles, null, 'the limit nginx starts with');
    assert.equal(DEFAULT_SETTINGS.enableMultiAccept, true);
    assert.equal(DEFAULT_SETTINGS.reusePort, true);
    assert.equal(DEFAULT_SETTINGS.variablesHashBucketSize, 256);
    assert.equal(DEFAULT_SETTINGS.variablesHashMaxSize, 2048);
    assert.equal(DEFAULT_SETTINGS.ignoreInvalidHeaders, true);
    assert.equal(DEFAULT_SETTINGS.enableUnderscoresInHeaders, false);
  });

  it('worker-cpu-affinity, hide-headers, skip-access-log-urls parsers', () => {
    assert.equal(parseCpuAffinity('auto'), 'auto');
    assert.equal(parseCpuAffinity('auto 1010'), 'auto 1010');
    assert.equal(parseCpuAffinity('0101  1010'), '0101 1010');
    assert.equal(parseCpuAffinity('auto 01 10'), undefined);
    assert.equal(parseCpuAffinity('0102'), undefined);
    assert.deepEqual(parseHideHeaders(' X-Powered-By, ,Server '), ['X-Powered-By', 'Server']);
    assert.equal(parseHideHeaders('X-A;'), undefined);
    assert.deepEqual(parseSkipUrls('/health, /ready?full=1'), ['/health', '/ready?full=1']);
    assert.equal(parseSkipUrls('~^/health'), undefined);
    assert.equal(parseSkipUrls('/a"b'), undefined);
  });

  it('dhparam.pem: one PEM block of DH parameters with a prime of 1024 bits or more', () => {
    assert.equal(dhParamProblem(DH_PEM), null);
    assert.match(dhParamProblem(DH_PEM.replace(/DH PARAMETERS/g, 'CERTIFICATE')) ?? '', /not one PEM block/);
    assert.match(dhParamProblem(`${DH_PEM}${DH_PEM}`) ?? '', /not one PEM block/);
    // a 512-bit prime (generator 2)
    const der = Buffer.concat([
      Buffer.from([0x30, 0x46, 0x02, 0x41, 0x00]),
      Buffer.alloc(64, 0xff),
      Buffer.from([0x02, 0x01, 0x02]),
    ]);
    const lines = der
      .toString('base64')
      .match(/.{1,64}/g)!
      .join('\n');
    const small = `-----BEGIN DH PARAMETERS-----\n${lines}\n-----END DH PARAMETERS-----\n`;
    assert.match(dhParamProblem(small) ?? '', /512 bits/);
    const notDh = `-----BEGIN DH PARAMETERS-----\n${Buffer.from('hello').toString('base64')}\n-----END DH PARAMETERS-----\n`;
    assert.match(dhParamProblem(notDh) ?? '', /not a DER sequence/);
  });

  validCases([
    ['default-type', 'application/octet-stream', 'defaultType', 'application/octet-stream'],
    ['error-log-level', 'warn', 'errorLogLevel', 'warn'],
    ['keep-alive-requests', '200', 'keepAliveRequests', 200],
    ['upstream-keepalive-requests', '200', 'upstreamKeepaliveRequests', 200],
    ['upstream-keepalive-time', '75s', 'upstreamKeepaliveTime', '75s'],
    ['upstream-keepalive-timeout', '120', 'upstreamKeepaliveTimeout', 120],
    ['max-worker-open-files', '65536', 'maxWorkerOpenFiles', 65536],
    ['max-worker-open-files', '0', 'maxWorkerOpenFiles', null],
    ['enable-multi-accept', 'false', 'enableMultiAccept', false],
    ['reuse-port', 'false', 'reusePort', false],
    ['worker-cpu-affinity', 'auto', 'workerCpuAffinity', 'auto'],
    ['map-hash-bucket-size', '128', 'mapHashBucketSize', 128],
    ['proxy-headers-hash-bucket-size', '128', 'proxyHeadersHashBucketSize', 128],
    ['proxy-headers-hash-max-size', '1024', 'proxyHeadersHashMaxSize', 1024],
    ['variables-hash-bucket-size', '128', 'variablesHashBucketSize', 128],
    ['variables-hash-max-size', '4096', 'variablesHashMaxSize', 4096],
    ['http2-max-concurrent-streams', '64', 'http2MaxConcurrentStreams', 64],
    ['hide-headers', 'X-Powered-By,X-Version', 'hideHeaders', ['X-Powered-By', 'X-Version']],
    ['allow-backend-server-header', 'true', 'allowBackendServerHeader', true],
    ['enable-underscores-in-headers', 'true', 'enableUnderscoresInHeaders', true],
    ['ignore-invalid-headers', 'false', 'ignoreInvalidHeaders', false],
    ['skip-access-log-urls', '/health,/ready', 'skipAccessLogUrls', ['/health', '/ready']],
    ['ssl-dh-param', 'default/dhparam', 'sslDhParam', 'default/dhparam'],
    ['ssl-early-data', 'true', 'sslEarlyData', true],
    ['ssl-reject-handshake', 'true', 'sslRejectHandshake', true],
  ]);

  toleratedCases([
    ['default-type', 'text/html; charset=utf-8'],
    ['default-type', 'html'],
    ['error-log-level', 'verbose'],
    ['keep-alive-requests', '0'],
    ['upstream-keepalive-requests', '1e3'],
    ['upstream-keepalive-time', '1 h'],
    ['upstream-keepalive-timeout', '60s'],
    ['max-worker-open-files', '64k'],
    ['enable-multi-accept', 'on'],
    ['reuse-port', 'yes'],
    ['worker-cpu-affinity', 'auto; daemon off'],
    ['map-hash-bucket-size', '16'],
    ['proxy-headers-hash-max-size', 'big'],
    ['variables-hash-bucket-size', '-1'],
    ['http2-max-concurrent-streams', '0'],
    ['hide-headers', 'X-A X-B'],
    ['allow-backend-server-header', '1'],
    ['enable-underscores-in-headers', 'on'],
    ['ignore-invalid-headers', 'off'],
    ['skip-access-log-urls', 'health'],
    ['ssl-dh-param', 'dhparam'],
    ['ssl-early-data', 'on'],
    ['ssl-reject-handshake', 'on'],
  ]);

  it('http2-max-field-size, -header-size, -requests: ignored with a warning (nginx 1.22 no longer reads them)', () => {
    const { problems } = parseData({ 'http2-max-field-size': '8k', 'http2-max-requests': '100' });
    assert.deepEqual(
      problems.map((problem) => [problem.severity, problem.field]),
      [
        ['warning', 'data.http2-max-field-size'],
        ['warning', 'data.http2-max-requests'],
      ],
    );
    assert.match(problems[0]!.message, /obsolete since nginx 1\.19\.7; large-client-header-buffers/);
  });

  const resources = (data: Record<string, string>, extra: ReturnType<typeof secret>[] = []) => [
    configMap(data),
    service({ name: 'app' }),
    endpoints({ name: 'app', subsets: [{ ready: ['10.0.0.1'] }] }),
    ingress({ name: 'web', rules: [rule('a.example.com', path('/', 'app'))] }),
    ...extra,
  ];
  const built = (data: Record<string, string>, extra: ReturnType<typeof secret>[] = []) =>
    build(resources(data, extra), CONFIG_MAP_OPTION);

  it("renders ingress-nginx's defaults where they differ from nginx's, nothing where they agree", () => {
    const text = renderText(built({}).model);
    assert.match(text, /\n {4}default_type text\/html;\n/);
    assert.match(text, /\nerror_log \S+ notice;\n/);
    assert.match(text, /\n {4}multi_accept on;\n/);
    assert.match(text, /\n {4}variables_hash_bucket_size 256;\n {4}variables_hash_max_size 2048;\n/);
    assert.match(text, /\n {8}keepalive 320;\n {8}keepalive_requests 10000;\n {4}\}/);
    assert.match(text, /listen 127\.0\.0\.1:8080 default_server reuseport;/);
    assert.match(text, /listen 127\.0\.0\.1:8443 ssl http2 default_server reuseport;/);
    assert.equal(text.match(/reuseport/g)?.length, 2, 'once per address and port');
    assert.doesNotMatch(
      text,
      /worker_rlimit_nofile|worker_cpu_affinity|map_hash|proxy_headers_hash|keepalive_requests 1000;|keepalive_time |http2_max|underscores_in_headers|ignore_invalid_headers|ssl_early_data|ssl_reject_handshake|proxy_hide_header|proxy_pass_header|ssl_dhparam|loggable/,
    );
  });

  it('renders what the keys set, and nginx -t accepts it in both balancer modes', async () => {
    const { model, problems } = built(
      {
        'default-type': 'application/octet-stream',
        'error-log-level': 'warn',
        'keep-alive-requests': '200',
        'upstream-keepalive-requests': '200',
        'upstream-keepalive-time': '75s',
        'upstream-keepalive-timeout': '120',
        'max-worker-open-files': '4096',
        'enable-multi-accept': 'false',
        'reuse-port': 'false',
        'worker-cpu-affinity': 'auto',
        'map-hash-bucket-size': '128',
        'proxy-headers-hash-bucket-size': '128',
        'proxy-headers-hash-max-size': '1024',
        'variables-hash-bucket-size': '128',
        'variables-hash-max-size': '4096',
        'http2-max-concurrent-streams': '64',
        'hide-headers': 'X-Powered-By,X-Version',
        'allow-backend-server-header': 'true',
        'enable-underscores-in-headers': 'true',
        'ignore-invalid-headers': 'false',
        'skip-access-log-urls': '/health,/ready?x=1',
        'ssl-dh-param': 'default/dhparam',
        'ssl-early-data': 'true',
        'ssl-reject-handshake': 'true',
      },
      [secret({ name: 'dhparam', type: 'Opaque', data: { 'dhparam.pem': b64(DH_PEM) } })],
    );
    assert.deepEqual(problems, [], show(problems));
    const text = renderText(model);
    for (const line of [
      'worker_cpu_affinity auto;',
      'worker_rlimit_nofile 4096;',
      'error_log "/srv/it/logs/error.log" warn;',
    ])
      assert.ok(text.includes(`\n${line}\n`), line);
    for (const line of [
      'default_type application/octet-stream;',
      'keepalive_requests 200;',
      'map_hash_bucket_size 128;',
      'proxy_headers_hash_bucket_size 128;',
      'proxy_headers_hash_max_size 1024;',
      'variables_hash_bucket_size 128;',
      'variables_hash_max_size 4096;',
      'http2_max_concurrent_streams 64;',
      'underscores_in_headers on;',
      'ignore_invalid_headers off;',
      'ssl_early_data on;',
      'proxy_pass_header Server;',
      'proxy_hide_header X-Powered-By;',
      'proxy_hide_header X-Version;',
      'access_log "/srv/it/logs/access.log" upstreaminfo if=$ingress_templater_loggable;',
      `ssl_dhparam "/srv/it/files/${model.files.find((file) => file.name.startsWith('dhparam-'))?.name}";`,
    ])
      assert.ok(text.includes(`\n    ${line}\n`), line);
    assert.match(text, /\n {8}"\/health" 0;\n {8}"\/ready\?x=1" 0;\n {8}default 1;\n/);
    assert.match(text, /\n {8}keepalive_requests 200;\n {8}keepalive_time 75s;\n {8}keepalive_timeout 120s;\n/);
    assert.match(text, /\n {8}ssl_reject_handshake on;\n/);
    assert.doesNotMatch(text, /multi_accept|reuseport/);
    const dhFile = model.files.find((file) => file.name.startsWith('dhparam-'));
    assert.equal(dhFile?.mode, 0o600);
    assert.equal(dhFile?.content, DH_PEM);
    await nginxAccepts(model);
  });

  it('ssl-dh-param: a missing Secret, a missing key or bad parameters are warnings, and no ssl_dhparam', () => {
    for (const [extra, says] of [
      [[], /Secret default\/dhparam named by the setting ssl-dh-param not found/],
      [[secret({ name: 'dhparam', type: 'Opaque', data: { 'dh.pem': b64(DH_PEM) } })], /has no key dhparam\.pem/],
      [[secret({ name: 'dhparam', type: 'Opaque', data: { 'dhparam.pem': b64('x') } })], /not one PEM block/],
    ] as const) {
      const { model, problems } = built({ 'ssl-dh-param': 'default/dhparam' }, [...extra]);
      assert.equal(problems.length, 1, show(problems));
      assert.equal(problems[0]!.severity, 'warning');
      assert.match(problems[0]!.message, says);
      assert.doesNotMatch(renderText(model), /ssl_dhparam/);
    }
  });

  it('allow-backend-server-header with headers-more: the backend Server header replaces the cleared one', () => {
    const { model } = built({ 'allow-backend-server-header': 'true' });
    const text = renderText(model, 'static', { tempPaths: [], headersMore: { module: null } });
    assert.match(text, /\n {4}more_set_headers "Server: \$upstream_http_server";\n/);
    assert.doesNotMatch(text, /more_clear_headers Server/);
  });

  // the API source fetches Secrets by name: the one ssl-dh-param names is among them, valid or not yet there
  it('ssl-dh-param: its Secret is one of the objects the sources fetch by name', () => {
    const refs = referencedObjects(storeOf(configMap({ 'ssl-dh-param': 'infra/lb-dhparam' })), {
      ...OPTIONS,
      ...CONFIG_MAP_OPTION,
    });
    assert.deepEqual(refs, [{ kind: 'Secret', namespace: 'infra', name: 'lb-dhparam' }]);
  });
});
