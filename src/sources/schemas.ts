// JSON schemas for the manifests we consume. Anything that may later reach nginx.conf is
// constrained here with the shapes from syntax.ts; unknown fields are allowed and not read.
import net from 'node:net';
import { Ajv, type ErrorObject, type SchemaObject, type ValidateFunction } from 'ajv';
import {
  DATA_KEY,
  DNS_LABEL,
  DNS_SUBDOMAIN,
  PORT_NAME,
  isIngressPath,
  isIP,
  isIngressHost,
  isQualifiedName,
} from '../syntax.js';
import type { Kind } from '../resources.js';

interface Format {
  check: (value: string) => boolean;
  description: string; // completes "must be ..."
}

const DIGITS = /^[0-9]+$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const KIND_NAME = /^[A-Za-z][A-Za-z0-9]{0,62}$/;
// IngressClass spec.controller: a domain-prefixed path, e.g. "k8s.io/ingress-nginx".
const CONTROLLER_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/[A-Za-z0-9\-._~/%]{0,249}$/;
const PRINTABLE = /^[\x21-\x7e]{1,253}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const FORMATS: Readonly<Record<string, Format>> = {
  'dns-label': {
    check: (s) => DNS_LABEL.test(s),
    description: 'a DNS label (lower-case letters, digits and "-", at most 63 characters)',
  },
  'dns-subdomain': {
    check: (s) => DNS_SUBDOMAIN.test(s),
    description: 'a DNS subdomain (dot-separated lower-case DNS labels, at most 253 characters)',
  },
  // Service spec.externalName: Kubernetes trims one final dot (a fully qualified name) before checking it
  'external-name': {
    check: (s) => DNS_SUBDOMAIN.test(s.endsWith('.') ? s.slice(0, -1) : s),
    description:
      'a DNS subdomain (dot-separated lower-case DNS labels, at most 253 characters), optionally with a final "."',
  },
  'ingress-host': {
    check: isIngressHost,
    description: 'a host name (lower-case DNS name, optionally starting with "*.", not an IP address)',
  },
  'http-path': {
    // regex paths are allowed here; the model accepts them only from an Ingress in regex mode
    check: isIngressPath,
    description:
      'an HTTP path, or a regular expression for use-regex (starting with "/"; no spaces, quotes, ";", "#" or control characters; "$" only as an anchor; braces only as a repetition such as {3} or {1,3})',
  },
  'port-name': { check: (s) => PORT_NAME.test(s), description: 'a port name (lower-case letters, digits and "-")' },
  // Endpoints, slices and single-port Services may carry an empty port name.
  'port-name-or-empty': {
    check: (s) => s === '' || PORT_NAME.test(s),
    description: 'a port name (lower-case letters, digits and "-")',
  },
  'legacy-service-port': {
    check: (s) => (DIGITS.test(s) ? Number(s) >= 1 && Number(s) <= 65535 : PORT_NAME.test(s)),
    description: 'a port number (1-65535) or port name',
  },
  // As the API server: ".", ".." and "..x" are refused; keys may become file names.
  'data-key': {
    check: (s) => DATA_KEY.test(s) && s !== '.' && !s.startsWith('..'),
    description: 'a data key (letters, digits, "-", "_" and ".", not starting with "..")',
  },
  'qualified-name': { check: isQualifiedName, description: 'a qualified name such as "example.com/some-key"' },
  ip: { check: isIP, description: 'an IPv4 or IPv6 address' },
  ipv4: { check: (s) => net.isIPv4(s), description: 'an IPv4 address' },
  ipv6: { check: (s) => net.isIPv6(s), description: 'an IPv6 address' },
  'cluster-ip': { check: (s) => s === 'None' || s === '' || isIP(s), description: 'an IP address or "None"' },
  // Go's base64 decoder, which the API server uses, skips line breaks.
  base64: {
    check: (value) => {
      const joined = value.replace(/[\r\n]/g, '');
      return joined.length % 4 === 0 && BASE64.test(joined);
    },
    description: 'a base64 string',
  },
  timestamp: { check: (s) => RFC3339.test(s), description: 'an RFC 3339 timestamp' },
  'kind-name': { check: (s) => KIND_NAME.test(s), description: 'a kind name (letters and digits)' },
  'controller-name': {
    check: (s) => CONTROLLER_NAME.test(s),
    description: 'a domain-prefixed path such as "example.com/ingress"',
  },
  'secret-type': { check: (s) => PRINTABLE.test(s), description: 'a secret type (printable characters, no spaces)' },
};

export const API_VERSIONS: Readonly<Record<Kind, readonly string[]>> = {
  Ingress: ['networking.k8s.io/v1', 'networking.k8s.io/v1beta1', 'extensions/v1beta1'],
  IngressClass: ['networking.k8s.io/v1', 'networking.k8s.io/v1beta1'],
  Service: ['v1'],
  Endpoints: ['v1'],
  EndpointSlice: ['discovery.k8s.io/v1', 'discovery.k8s.io/v1beta1'],
  Secret: ['v1'],
  ConfigMap: ['v1'],
};

export function isLegacyIngress(apiVersion: string): boolean {
  return apiVersion !== 'networking.k8s.io/v1';
}

const str = (format: string): SchemaObject => ({ type: 'string', format });
const arr = (items: SchemaObject, minItems = 0): SchemaObject => ({
  type: 'array',
  items,
  ...(minItems ? { minItems } : {}),
});
const bool: SchemaObject = { type: 'boolean' };
const port: SchemaObject = { type: 'integer', minimum: 1, maximum: 65535 };
const protocol: SchemaObject = { enum: ['TCP', 'UDP', 'SCTP'] };
const stringMap = (keyFormat: string, valueFormat?: string): SchemaObject => ({
  type: 'object',
  propertyNames: { format: keyFormat },
  additionalProperties: valueFormat ? str(valueFormat) : { type: 'string' },
});

function metadata(nameFormat: string, extraLabels?: SchemaObject): SchemaObject {
  const labels = stringMap('qualified-name');
  return {
    type: 'object',
    required: extraLabels ? ['name', 'labels'] : ['name'],
    properties: {
      name: str(nameFormat),
      namespace: str('dns-label'),
      creationTimestamp: str('timestamp'),
      annotations: stringMap('qualified-name'),
      labels: extraLabels ? { ...labels, ...extraLabels } : labels,
    },
  };
}

const object = (
  properties: Record<string, SchemaObject>,
  required: string[] = [],
  extra: SchemaObject = {},
): SchemaObject => ({
  type: 'object',
  ...(required.length ? { required } : {}),
  properties,
  ...extra,
});

const objectRef = object({ kind: str('kind-name'), name: str('dns-subdomain'), namespace: str('dns-label') });
const typedRef = object({ apiGroup: str('dns-subdomain'), kind: str('kind-name'), name: str('dns-subdomain') }, [
  'kind',
  'name',
]);

const backendV1 = object(
  {
    service: object(
      {
        name: str('dns-label'),
        port: object({ number: port, name: str('port-name') }, [], { exactlyOne: ['number', 'name'] }),
      },
      ['name', 'port'],
    ),
    resource: typedRef,
  },
  [],
  { exactlyOne: ['service', 'resource'] },
);

const backendLegacy = object(
  {
    serviceName: str('dns-label'),
    servicePort: { type: ['integer', 'string'], minimum: 1, maximum: 65535, format: 'legacy-service-port' },
    resource: typedRef,
  },
  [],
  { exactlyOne: ['serviceName', 'resource'], dependencies: { serviceName: ['servicePort'] } },
);

function ingress(legacy: boolean): SchemaObject {
  const backend = legacy ? backendLegacy : backendV1;
  const path = object(
    { path: str('http-path'), pathType: { enum: ['Exact', 'Prefix', 'ImplementationSpecific'] }, backend },
    legacy ? ['backend'] : ['pathType', 'backend'],
    // Only ImplementationSpecific may leave the path out (it then means "/").
    {
      if: { required: ['pathType'], properties: { pathType: { enum: ['Exact', 'Prefix'] } } },
      then: { required: ['path'] },
    },
  );
  const rule = object({ host: str('ingress-host'), http: object({ paths: arr(path, 1) }, ['paths']) });
  const tls = object({ hosts: arr(str('ingress-host')), secretName: str('dns-subdomain') });
  const spec = object({
    ingressClassName: str('dns-subdomain'),
    [legacy ? 'backend' : 'defaultBackend']: backend,
    tls: arr(tls),
    rules: arr(rule),
  });
  return object({ metadata: metadata('dns-subdomain'), spec }, ['metadata', 'spec']);
}

const ingressClass = object(
  { metadata: metadata('dns-subdomain'), spec: object({ controller: str('controller-name') }, ['controller']) },
  ['metadata', 'spec'],
);

const service = object(
  {
    metadata: metadata('dns-label'),
    spec: object(
      {
        type: { enum: ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] },
        clusterIP: str('cluster-ip'),
        externalName: str('external-name'),
        ports: arr(
          object(
            {
              name: str('port-name-or-empty'),
              port,
              targetPort: { type: ['integer', 'string'], minimum: 1, maximum: 65535, format: 'port-name' },
              protocol,
              nodePort: port,
            },
            ['port'],
          ),
        ),
      },
      [],
      {
        if: { required: ['type'], properties: { type: { const: 'ExternalName' } } },
        then: { required: ['externalName'] },
      },
    ),
  },
  ['metadata', 'spec'],
);

const address = object({ ip: str('ip'), hostname: str('dns-label'), targetRef: objectRef }, ['ip']);
const endpoints = object(
  {
    metadata: metadata('dns-subdomain'),
    subsets: arr(
      object({
        addresses: arr(address),
        notReadyAddresses: arr(address),
        ports: arr(object({ name: str('port-name-or-empty'), port, protocol }, ['port'])),
      }),
    ),
  },
  ['metadata'],
);

const sliceAddresses = (type: string, format: string): SchemaObject => ({
  if: { required: ['addressType'], properties: { addressType: { const: type } } },
  then: { properties: { endpoints: { items: { properties: { addresses: { items: str(format) } } } } } },
});

const endpointSlice = object(
  {
    metadata: metadata('dns-subdomain', {
      required: ['kubernetes.io/service-name'],
      properties: { 'kubernetes.io/service-name': str('dns-label') },
    }),
    addressType: { enum: ['IPv4', 'IPv6', 'FQDN'] },
    endpoints: arr(
      object(
        {
          addresses: arr({ type: 'string' }, 1),
          conditions: object({ ready: bool, serving: bool, terminating: bool }),
          hostname: str('dns-label'),
          targetRef: objectRef,
        },
        ['addresses'],
      ),
    ),
    ports: arr(object({ name: str('port-name-or-empty'), port, protocol })),
  },
  ['metadata', 'addressType'],
  { allOf: [sliceAddresses('IPv4', 'ipv4'), sliceAddresses('IPv6', 'ipv6'), sliceAddresses('FQDN', 'dns-subdomain')] },
);

const secret = object(
  {
    metadata: metadata('dns-subdomain'),
    type: str('secret-type'),
    data: stringMap('data-key', 'base64'),
    stringData: stringMap('data-key'),
  },
  ['metadata'],
);

const configMap = object({ metadata: metadata('dns-subdomain'), data: stringMap('data-key') }, ['metadata']);

// "exactlyOne: [a, b]": the object has exactly one of these properties.
type KeywordCheck = ((schema: string[], data: Record<string, unknown>) => boolean) & {
  errors?: Partial<ErrorObject>[];
};
const exactlyOne: KeywordCheck = (schema, data) => {
  const present = schema.filter((k) => data[k] !== undefined);
  if (present.length === 1) return true;
  const list = schema.map((k) => `"${k}"`).join(' or ');
  exactlyOne.errors = [
    {
      keyword: 'exactlyOne',
      message: present.length ? `must set only one of ${list}, not both` : `must set one of ${list}`,
      params: { allowed: schema, present },
    },
  ];
  return false;
};

function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false });
  for (const [name, format] of Object.entries(FORMATS)) ajv.addFormat(name, format.check);
  ajv.addKeyword({ keyword: 'exactlyOne', type: 'object', schemaType: 'array', errors: true, validate: exactlyOne });
  return ajv;
}

export function schemaFor(kind: Kind, apiVersion: string): SchemaObject | undefined {
  if (!API_VERSIONS[kind].includes(apiVersion)) return undefined;
  switch (kind) {
    case 'Ingress':
      return isLegacyIngress(apiVersion) ? ingress(true) : ingress(false);
    case 'IngressClass':
      return ingressClass;
    case 'Service':
      return service;
    case 'Endpoints':
      return endpoints;
    case 'EndpointSlice':
      return endpointSlice;
    case 'Secret':
      return secret;
    case 'ConfigMap':
      return configMap;
  }
}

let ajv: Ajv | undefined;
const compiled = new Map<string, ValidateFunction>();

// Compiled on first use: most directories hold only a few kinds.
export function validatorFor(kind: Kind, apiVersion: string): ValidateFunction | undefined {
  const key = `${kind}@${apiVersion}`;
  let validate = compiled.get(key);
  if (!validate) {
    const schema = schemaFor(kind, apiVersion);
    if (!schema) return undefined;
    ajv ??= createAjv();
    validate = ajv.compile(schema);
    compiled.set(key, validate);
  }
  return validate;
}
