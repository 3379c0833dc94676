import assert from 'node:assert/strict';
import { SUPPORTED } from '../../../src/model/annotations/index.js';
import { SERVICE_UPSTREAM, serviceUpstream } from '../../../src/model/annotations/service-upstream.js';
import { payloadFor } from '../../../src/nginx/endpoints.js';
import {
  build,
  CONFIG_MAP_OPTION,
  configMap,
  endpoints,
  ingress,
  path,
  rule,
  service,
  show,
  slice,
} from '../../helpers/resources.js';
import { renderText } from './nginx-check.js';

const web = (clusterIP?: string) => [
  service({
    name: 'web',
    ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    ...(clusterIP !== undefined ? { clusterIP } : {}),
  }),
  endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.2', '10.0.0.1'] }] }),
];
const ing = (annotations: Record<string, string>, name = 'web', host = 'a.example.com', created?: string) =>
  ingress({ name, annotations, ...(created ? { created } : {}), rules: [rule(host, path('/', 'web'))] });

describe('model/annotations/service-upstream', () => {
  it('is a supported annotation; true only for "true"', () => {
    assert.ok(SUPPORTED.has(SERVICE_UPSTREAM));
    assert.equal(serviceUpstream(ing({ [SERVICE_UPSTREAM]: 'true' })), true);
    for (const value of ['false', 'yes', 'TRUE', ''])
      assert.equal(serviceUpstream(ing({ [SERVICE_UPSTREAM]: value })), false, value);
    assert.equal(serviceUpstream(ing({})), false);
  });

  it('the backend becomes the Service ClusterIP and port, one endpoint', () => {
    const { model, problems } = build([...web('10.96.0.10'), ing({ [SERVICE_UPSTREAM]: 'true' })]);
    assert.deepEqual(problems, [], show(problems));
    assert.deepEqual(
      model.backends.map((b) => [b.name, b.endpoints, b.serviceUpstream]),
      [['default_web_80', [{ address: '10.96.0.10', port: 80 }], true]],
    );
    // what the Lua balancer is given
    assert.deepEqual(JSON.parse(payloadFor(model)).backends[0].endpoints, [{ address: '10.96.0.10', port: 80 }]);
    // and the static upstream block
    assert.match(renderText(model), /upstream default_web_80 \{[^}]*server 10\.96\.0\.10:80/);
  });

  it('IPv6 ClusterIPs work too', () => {
    const { model } = build([...web('fd00:10:96::a'), ing({ [SERVICE_UPSTREAM]: 'true' })]);
    assert.deepEqual(model.backends[0]!.endpoints, [{ address: 'fd00:10:96::a', port: 80 }]);
  });

  it('without the annotation (or "false") the pod endpoints are used', () => {
    for (const annotations of [{}, { [SERVICE_UPSTREAM]: 'false' }] as Record<string, string>[]) {
      const { model } = build([...web('10.96.0.10'), ing(annotations)]);
      assert.deepEqual(model.backends[0]!.endpoints, [
        { address: '10.0.0.1', port: 8080 },
        { address: '10.0.0.2', port: 8080 },
      ]);
      assert.equal(model.backends[0]!.serviceUpstream, undefined);
    }
  });

  it('a headless Service or one without a ClusterIP keeps its endpoints, with a warning', () => {
    for (const ip of ['None', undefined]) {
      const { model, problems } = build([...web(ip), ing({ [SERVICE_UPSTREAM]: 'true' })]);
      assert.equal(model.backends[0]!.endpoints.length, 2);
      assert.equal(problems.length, 1, show(problems));
      assert.equal(problems[0]!.severity, 'warning');
      assert.match(problems[0]!.message, /service-upstream: Service default\/web has no ClusterIP/);
    }
  });

  it('EndpointSlices do not matter with service-upstream', () => {
    const { model } = build([
      service({ name: 'web', clusterIP: '10.96.0.11' }),
      slice({ name: 'web-a', service: 'web', endpoints: ['10.0.0.7'] }),
      ing({ [SERVICE_UPSTREAM]: 'true' }),
    ]);
    assert.deepEqual(model.backends[0]!.endpoints, [{ address: '10.96.0.11', port: 80 }]);
  });

  it('an invalid value is reported and ignored (as ingress-nginx): the endpoints are used', () => {
    const { model, problems } = build([...web('10.96.0.10'), ing({ [SERVICE_UPSTREAM]: 'yes' })]);
    assert.equal(problems.length, 1, show(problems));
    assert.equal(problems[0]!.severity, 'warning');
    assert.equal(problems[0]!.field, `metadata.annotations["${SERVICE_UPSTREAM}"]`);
    assert.match(problems[0]!.message, /"yes".*ignored, its default applies/);
    assert.equal(model.servers.find((s) => s.host === 'a.example.com')!.locations[0]!.denied, null);
    assert.notDeepEqual(model.backends[0]!.endpoints, [{ address: '10.96.0.10', port: 80 }]);
  });

  it('a backend shared by Ingresses follows the oldest; the other is told', () => {
    const { model, problems } = build([
      ...web('10.96.0.10'),
      ing({ [SERVICE_UPSTREAM]: 'true' }, 'old', 'a.example.com', '2024-01-01T00:00:00Z'),
      ing({}, 'new', 'b.example.com', '2025-01-01T00:00:00Z'),
    ]);
    assert.deepEqual(model.backends[0]!.endpoints, [{ address: '10.96.0.10', port: 80 }]);
    assert.equal(problems.length, 1, show(problems));
    assert.equal(problems[0]!.object, 'Ingress default/new');
    assert.match(problems[0]!.message, /proxies to the Service ClusterIP as an older Ingress says/);
  });
});

describe('model/annotations/service-upstream: the ConfigMap default', () => {
  it('service-upstream: "true" makes every Ingress use ClusterIPs; the annotation overrides it', () => {
    const withDefault = (annotations: Record<string, string>) =>
      build([...web('10.96.0.10'), configMap({ 'service-upstream': 'true' }), ing(annotations)], CONFIG_MAP_OPTION);
    for (const annotations of [{}, { [SERVICE_UPSTREAM]: 'true' }, { [SERVICE_UPSTREAM]: 'yes' }] as Record<
      string,
      string
    >[]) {
      const { model } = withDefault(annotations);
      assert.deepEqual(
        model.backends[0]!.endpoints,
        [{ address: '10.96.0.10', port: 80 }],
        JSON.stringify(annotations),
      );
    }
    const { model, problems } = withDefault({ [SERVICE_UPSTREAM]: 'false' });
    assert.deepEqual(problems, [], show(problems));
    assert.equal(model.backends[0]!.endpoints.length, 2);
    assert.equal(serviceUpstream(ing({}), true), true);
    assert.equal(serviceUpstream(ing({ [SERVICE_UPSTREAM]: 'false' }), true), false);
  });
});
