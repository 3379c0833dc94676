// API configurations for tests against a scripted or real API server, made the way users have them: a
// kubeconfig file (written to a directory of its own, read by the controller's loader, then removed).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ApiConfig, loadApiConfig } from '../../src/sources/kubernetes/config.js';

/** The API configuration of a kubeconfig given as an object. */
export function configFrom(kubeconfig: object): ApiConfig {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-kubeconfig-'));
  const file = path.join(dir, 'kubeconfig');
  fs.writeFileSync(file, JSON.stringify(kubeconfig), { mode: 0o600 });
  try {
    return loadApiConfig({ kubeconfig: file });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A configuration for a plain http server (kubectl proxy's kind) with no credentials. */
export function plainConfig(serverUrl: string): ApiConfig {
  return configFrom({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'fake', cluster: { server: serverUrl } }],
    users: [{ name: 'nobody', user: {} }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'nobody' } }],
    'current-context': 'fake',
  });
}
