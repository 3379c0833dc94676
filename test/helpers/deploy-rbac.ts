// The controller's permissions as deploy/ grants them: `kubectl kustomize deploy/` (the real kubectl, offline),
// its Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding, Role and RoleBinding, applied to a test
// cluster. The test cluster has no token controller, so the ServiceAccount's user is a static token user of
// test/helpers/cluster.ts with the name and groups the API server gives a ServiceAccount's tokens.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import YAML from 'yaml';
import type { TestCluster } from './cluster.js';
import { REPO } from './controller.js';
import { type Obj, yamlDocs } from './manifests.js';

const RBAC_KINDS = new Set(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

export interface DeployRbac {
  /** the Namespace and RBAC documents of the rendered deploy/, as kubectl kustomize printed them */
  documents: Obj[];
  /** the ServiceAccount every binding names, as the API server authenticates its tokens */
  user: { name: string; groups: string[] };
  /** the ServiceAccount's namespace: where its Role holds (the settings ConfigMap, the Lease) */
  namespace: string;
}

/** Every document `kubectl kustomize DIR` renders (default: deploy/, the API-mode deployment). */
export function renderDeploy(dir = path.join(REPO, 'deploy')): Obj[] {
  const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return YAML.parseAllDocuments(out)
    .map((document) => document.toJS() as Obj | null)
    .filter((document): document is Obj => document !== null);
}

const kindOf = (document: Obj) => document.kind as string;

/** The RBAC of the rendered deploy/, and the one user its bindings grant it to (throws if they name another). */
export function deployRbac(): DeployRbac {
  const documents = renderDeploy().filter((document) => RBAC_KINDS.has(kindOf(document)));
  const accounts = documents.filter((document) => kindOf(document) === 'ServiceAccount');
  if (accounts.length !== 1) throw new Error(`deploy/ renders ${accounts.length} ServiceAccounts, expected one`);
  const meta = accounts[0]!.metadata as { name: string; namespace: string };
  for (const binding of documents.filter((document) => /Binding$/.test(kindOf(document)))) {
    const subjects = (binding.subjects ?? []) as Subject[];
    const onlyTheAccount = subjects.every(
      (subject) =>
        subject.kind === 'ServiceAccount' && subject.name === meta.name && subject.namespace === meta.namespace,
    );
    if (!subjects.length || !onlyTheAccount) {
      throw new Error(`${kindOf(binding)} ${JSON.stringify(binding.metadata)} binds ${JSON.stringify(subjects)}`);
    }
  }
  return {
    documents,
    user: {
      name: `system:serviceaccount:${meta.namespace}:${meta.name}`,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${meta.namespace}`],
    },
    namespace: meta.namespace,
  };
}

/** Applies the Namespace and RBAC of deploy/ to the cluster (as its admin), as `kubectl apply -k deploy/` would. */
export function applyDeployRbac(cluster: TestCluster, rbac: DeployRbac): void {
  cluster.kubectl(['apply', '-f', '-'], { input: yamlDocs(rbac.documents) });
}
