// Objects exactly as the API serves them: captured from the tests' kube-apiserver (v1.33.13, test/helpers/cluster.ts)
// with GETs of each object after a `kubectl apply` (hence managedFields, uid, resourceVersion, status and
// kubectl's last-applied-configuration annotation); IngressList is a GET of the collection, whose items omit
// kind and apiVersion as the API's lists do. apiObject returns a fresh copy each time.
const CAPTURED = {
  Ingress: {
    kind: 'Ingress',
    apiVersion: 'networking.k8s.io/v1',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: 'cb126dc2-e169-4ca3-b666-32f01a6e66c2',
      resourceVersion: '210',
      generation: 1,
      creationTimestamp: '2026-12-07T21:25:15Z',
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration':
          '{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"annotations":{"nginx.ingress.kubernetes.io/rewrite-target":"/"},"name":"web","namespace":"default"},"spec":{"ingressClassName":"nginx","rules":[{"host":"web.example.com","http":{"paths":[{"backend":{"service":{"name":"web","port":{"name":"http"}}},"path":"/","pathType":"Prefix"}]}}],"tls":[{"hosts":["web.example.com"],"secretName":"web-tls"}]}}\n',
        'nginx.ingress.kubernetes.io/rewrite-target': '/',
      },
      managedFields: [
        {
          manager: 'kubectl-client-side-apply',
          operation: 'Update',
          apiVersion: 'networking.k8s.io/v1',
          time: '2026-12-07T21:25:15Z',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': {
              'f:annotations': {
                '.': {},
                'f:kubectl.kubernetes.io/last-applied-configuration': {},
                'f:nginx.ingress.kubernetes.io/rewrite-target': {},
              },
            },
            'f:spec': {
              'f:ingressClassName': {},
              'f:rules': {},
              'f:tls': {},
            },
          },
        },
      ],
    },
    spec: {
      ingressClassName: 'nginx',
      tls: [
        {
          hosts: ['web.example.com'],
          secretName: 'web-tls',
        },
      ],
      rules: [
        {
          host: 'web.example.com',
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: {
                  service: {
                    name: 'web',
                    port: {
                      name: 'http',
                    },
                  },
                },
              },
            ],
          },
        },
      ],
    },
    status: {
      loadBalancer: {},
    },
  },
  IngressClass: {
    kind: 'IngressClass',
    apiVersion: 'networking.k8s.io/v1',
    metadata: {
      name: 'nginx',
      uid: 'fdeba84c-fc33-4bcd-a193-e60dbb6de676',
      resourceVersion: '202',
      generation: 1,
      creationTimestamp: '2026-12-07T21:25:15Z',
      annotations: {
        'ingressclass.kubernetes.io/is-default-class': 'true',
        'kubectl.kubernetes.io/last-applied-configuration':
          '{"apiVersion":"networking.k8s.io/v1","kind":"IngressClass","metadata":{"annotations":{"ingressclass.kubernetes.io/is-default-class":"true"},"name":"nginx"},"spec":{"controller":"k8s.io/ingress-nginx"}}\n',
      },
      managedFields: [
        {
          manager: 'kubectl-client-side-apply',
          operation: 'Update',
          apiVersion: 'networking.k8s.io/v1',
          time: '2026-12-07T21:25:15Z',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': {
              'f:annotations': {
                '.': {},
                'f:ingressclass.kubernetes.io/is-default-class': {},
                'f:kubectl.kubernetes.io/last-applied-configuration': {},
              },
            },
            'f:spec': {
              'f:controller': {},
            },
          },
        },
      ],
    },
    spec: {
      controller: 'k8s.io/ingress-nginx',
    },
  },
  Service: {
    kind: 'Service',
    apiVersion: 'v1',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: '0540e174-d93a-441d-9583-c6fe0de5fae0',
      resourceVersion: '205',
      creationTimestamp: '2026-12-07T21:25:15Z',
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration':
          '{"apiVersion":"v1","kind":"Service","metadata":{"annotations":{},"name":"web","namespace":"default"},"spec":{"ports":[{"name":"http","port":80,"targetPort":8080}],"selector":{"app":"web"}}}\n',
      },
      managedFields: [
        {
          manager: 'kubectl-client-side-apply',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2026-12-07T21:25:15Z',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': {
              'f:annotations': {
                '.': {},
                'f:kubectl.kubernetes.io/last-applied-configuration': {},
              },
            },
            'f:spec': {
              'f:internalTrafficPolicy': {},
              'f:ports': {
                '.': {},
                'k:{"port":80,"protocol":"TCP"}': {
                  '.': {},
                  'f:name': {},
                  'f:port': {},
                  'f:protocol': {},
                  'f:targetPort': {},
                },
              },
              'f:selector': {},
              'f:sessionAffinity': {},
              'f:type': {},
            },
          },
        },
      ],
    },
    spec: {
      ports: [
        {
          name: 'http',
          protocol: 'TCP',
          port: 80,
          targetPort: 8080,
        },
      ],
      selector: {
        app: 'web',
      },
      clusterIP: '10.96.96.239',
      clusterIPs: ['10.96.96.239'],
      type: 'ClusterIP',
      sessionAffinity: 'None',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
    },
    status: {
      loadBalancer: {},
    },
  },
  EndpointSlice: {
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    metadata: {
      name: 'web-abc12',
      namespace: 'default',
      uid: '6ff4a47d-a6a2-4183-bac3-17eefb59a1c5',
      resourceVersion: '206',
      generation: 1,
      creationTimestamp: '2026-12-07T21:25:15Z',
      labels: {
        'kubernetes.io/service-name': 'web',
      },
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration':
          '{"addressType":"IPv4","apiVersion":"discovery.k8s.io/v1","endpoints":[{"addresses":["10.0.0.1"],"conditions":{"ready":true,"serving":true,"terminating":false},"nodeName":"node-1","targetRef":{"kind":"Pod","name":"web-1","namespace":"default"}},{"addresses":["10.0.0.2"],"conditions":{"ready":false,"serving":true,"terminating":true}}],"kind":"EndpointSlice","metadata":{"annotations":{},"labels":{"kubernetes.io/service-name":"web"},"name":"web-abc12","namespace":"default"},"ports":[{"name":"http","port":8080,"protocol":"TCP"}]}\n',
      },
      managedFields: [
        {
          manager: 'kubectl-client-side-apply',
          operation: 'Update',
          apiVersion: 'discovery.k8s.io/v1',
          time: '2026-12-07T21:25:15Z',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:addressType': {},
            'f:endpoints': {},
            'f:metadata': {
              'f:annotations': {
                '.': {},
                'f:kubectl.kubernetes.io/last-applied-configuration': {},
              },
              'f:labels': {
                '.': {},
                'f:kubernetes.io/service-name': {},
              },
            },
            'f:ports': {},
          },
        },
      ],
    },
    addressType: 'IPv4',
    endpoints: [
      {
        addresses: ['10.0.0.1'],
        conditions: {
          ready: true,
          serving: true,
          terminating: false,
        },
        targetRef: {
          kind: 'Pod',
          namespace: 'default',
          name: 'web-1',
        },
        nodeName: 'node-1',
      },
      {
        addresses: ['10.0.0.2'],
        conditions: {
          ready: false,
          serving: true,
          terminating: true,
        },
      },
    ],
    ports: [
      {
        name: 'http',
        protocol: 'TCP',
        port: 8080,
      },
    ],
  },
  Endpoints: {
    kind: 'Endpoints',
    apiVersion: 'v1',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: '057354ca-261a-4d03-95ca-edc0041a123e',
      resourceVersion: '207',
      creationTimestamp: '2026-12-07T21:25:15Z',
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration':
          '{"apiVersion":"v1","kind":"Endpoints","metadata":{"annotations":{},"name":"web","namespace":"default"},"subsets":[{"addresses":[{"ip":"10.0.0.1"}],"ports":[{"name":"http","port":8080}]}]}\n',
      },
      managedFields: [
        {
          manager: 'kubectl-client-side-apply',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2026-12-07T21:25:15Z',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': {
              'f:annotations': {
                '.': {},
                'f:kubectl.kubernetes.io/last-applied-configuration': {},
              },
            },
            'f:subsets': {},
          },
        },
      ],
    },
    subsets: [
      {
        addresses: [
          {
            ip: '10.0.0.1',
          },
        ],
        ports: [
          {
            name: 'http',
            port: 8080,
            protocol: 'TCP',
          },
        ],
      },
    ],
  },
  Secret: {
    kind: 'Secret',
    apiVersion: 'v1',
    metadata: {
      name: 'web-tls',
      namespace: 'default',
      uid: '591eab9d-9b90-44bf-b5cf-e574feeb5e80',
      resourceVersion: '208',
      creationTimestamp: '2026-12-07T21:25:15Z',
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration':
          '{"apiVersion":"v1","kind":"Secret","metadata":{"annotations":{},"name":"web-tls","namespace":"default"},"stringData":{"tls.crt":"CERT","tls.key":"KEY"},"type":"kubernetes.io/tls"}\n',
      },
      managedFields: [
        {
          manager: 'kubectl-client-side-apply',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2026-12-07T21:25:15Z',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:data': {
              '.': {},
              'f:tls.crt': {},
              'f:tls.key': {},
            },
            'f:metadata': {
              'f:annotations': {
                '.': {},
                'f:kubectl.kubernetes.io/last-applied-configuration': {},
              },
            },
            'f:type': {},
          },
        },
      ],
    },
    data: {
      'tls.crt': 'Q0VSVA==',
      'tls.key': 'S0VZ',
    },
    type: 'kubernetes.io/tls',
  },
  ConfigMap: {
    kind: 'ConfigMap',
    apiVersion: 'v1',
    metadata: {
      name: 'ingress-settings',
      namespace: 'default',
      uid: '8d777c8a-349c-466f-ad4f-cd6d38f61921',
      resourceVersion: '209',
      creationTimestamp: '2026-12-07T21:25:15Z',
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration':
          '{"apiVersion":"v1","data":{"proxy-body-size":"8m"},"kind":"ConfigMap","metadata":{"annotations":{},"name":"ingress-settings","namespace":"default"}}\n',
      },
      managedFields: [
        {
          manager: 'kubectl-client-side-apply',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2026-12-07T21:25:15Z',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:data': {
              '.': {},
              'f:proxy-body-size': {},
            },
            'f:metadata': {
              'f:annotations': {
                '.': {},
                'f:kubectl.kubernetes.io/last-applied-configuration': {},
              },
            },
          },
        },
      ],
    },
    data: {
      'proxy-body-size': '8m',
    },
  },
  IngressList: {
    kind: 'IngressList',
    apiVersion: 'networking.k8s.io/v1',
    metadata: {
      resourceVersion: '210',
    },
    // the one item is the Ingress above as the list serves it: the same object without kind and apiVersion
    items: [] as unknown[],
  },
} as const;

{
  const { kind: _kind, apiVersion: _apiVersion, ...item } = CAPTURED.Ingress;
  CAPTURED.IngressList.items.push(item);
}

export type CapturedKind = keyof typeof CAPTURED;

// biome-ignore lint/suspicious/noExplicitAny: tests edit the copies freely
export function apiObject(kind: CapturedKind): any {
  return structuredClone(CAPTURED[kind]);
}
