// The endpoint fast path in one process, step by step, at N Services: where the time of an EndpointSlice change
// goes inside the controller once the event has arrived (bench/kubernetes.ts measures it end to end). The API
// source is fed objects shaped as bench/kubernetes.ts's (one Ingress, Service and 10-endpoint slice each), then
// one slice changes per step and each piece of the sync's fast path is timed: the source's load, the store's
// changes, updateEndpoints, and what the Pusher does per push (src/nginx/endpoints.ts: the changed payloads
// against the desired map, the desired map diffed against the acknowledged one and copied; no HTTP here).
//   node dist/bench/fast-path.js [N=10000] [steps=200]
import { ApiSource, type ObjectFeed, watchedKinds } from '../src/sources/kubernetes/api-source.js';
import { buildModel } from '../src/model/index.js';
import { servicesOf, updateEndpoints } from '../src/model/endpoint-update.js';
import { backendPayload } from '../src/nginx/endpoints.js';
import type { Kind } from '../src/resources.js';
import { Store } from '../src/store.js';
import { percentile } from './lib.js';

const count = Number(process.argv[2] ?? 10_000);
const steps = Number(process.argv[3] ?? 200);
const now = () => performance.now();

const address = (index: number) => {
  const offset = (64 << 16) + Math.floor(index / 254) * 256 + (index % 254) + 1;
  return `100.${(offset >> 16) & 255}.${(offset >> 8) & 255}.${offset & 255}`;
};
const slice = (namespace: string, name: string, addresses: string[]) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: `${name}-abcde`, namespace, labels: { 'kubernetes.io/service-name': name } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: addresses.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
});

const feeds = new Map<Kind, ObjectFeed>();
const store = new Store();
const source = new ApiSource({
  store,
  kinds: watchedKinds({}),
  watch: (kind) => ({ start: (feed) => feeds.set(kind.kind, feed), stop: async () => undefined }),
  log: () => undefined,
});
source.start(() => undefined);
const ingresses: unknown[] = [];
const services: unknown[] = [];
const slices: unknown[] = [];
for (let index = 0; index < count; index++) {
  const namespace = `team-${Math.floor(index / 100)}`;
  const name = `app-${index}`;
  const backend = { service: { name, port: { number: 80 } } };
  ingresses.push({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace },
    spec: {
      ingressClassName: 'nginx',
      rules: [
        { host: `${name}.${namespace}.example.com`, http: { paths: [{ path: '/', pathType: 'Prefix', backend }] } },
      ],
    },
  });
  services.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  slices.push(
    slice(
      namespace,
      name,
      Array.from({ length: 10 }, (_, k) => address(index * 10 + k)),
    ),
  );
}
feeds.get('Ingress')!.replace(ingresses);
feeds.get('Service')!.replace(services);
feeds.get('EndpointSlice')!.replace(slices);
feeds.get('Secret')!.replace([]);
feeds.get('IngressClass')!.replace([
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: 'nginx' },
    spec: { controller: 'ingress-templater.dev/controller' },
  },
]);
let started = now();
await source.load(true);
store.takeChanges();
const loadMs = now() - started;
started = now();
let model = buildModel(store, {
  ingressClass: 'nginx',
  controllerClass: 'ingress-templater.dev/controller',
  watchWithoutClass: true,
  resolved: new Map(),
  balancer: 'lua',
}).model;
console.log(
  `${count} Services: first load ${loadMs.toFixed(0)} ms, build ${(now() - started).toFixed(0)} ms, ${model.backends.length} backends`,
);

const desired = new Map(model.backends.map((backend) => [backend.name, JSON.stringify(backendPayload(backend))]));
let acknowledged = new Map(desired);
const times: Record<string, number[]> = { load: [], changes: [], updateEndpoints: [], pusher: [], total: [] };
for (let step = 0; step < steps; step++) {
  const index = (step * 37) % count;
  const t0 = now();
  feeds
    .get('EndpointSlice')!
    .upsert(slice(`team-${Math.floor(index / 100)}`, `app-${index}`, [`198.18.99.${1 + (step % 2)}`]));
  await source.load(false);
  const t1 = now();
  const changed = servicesOf(store.takeChanges());
  const t2 = now();
  const update = updateEndpoints(model, store, changed!);
  if (!update) throw new Error('the fast path asked for a full build');
  model = update.model;
  const t3 = now();
  const payloads = update.changed.map(backendPayload).map((payload) => [payload.name, JSON.stringify(payload)]);
  for (const [name, json] of payloads) if (desired.get(name!) !== json) desired.set(name!, json!);
  const body = [...desired].filter(([name, json]) => acknowledged.get(name) !== json).map(([, json]) => json);
  const removed = [...acknowledged.keys()].filter((name) => !desired.has(name));
  acknowledged = new Map(desired);
  const t4 = now();
  if (body.length !== 1 || removed.length) throw new Error(`a push of ${body.length} backends`);
  times.load!.push(t1 - t0);
  times.changes!.push(t2 - t1);
  times.updateEndpoints!.push(t3 - t2);
  times.pusher!.push(t4 - t3);
  times.total!.push(t4 - t0);
}
for (const [name, samples] of Object.entries(times)) {
  const sorted = [...samples].sort((a, b) => a - b);
  console.log(
    `${name}: p50 ${percentile(sorted, 50).toFixed(2)} ms, p90 ${percentile(sorted, 90).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms`,
  );
}
