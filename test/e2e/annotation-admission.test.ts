// The ConfigMap refusing Ingresses whole, through the controller and real nginx: a word of
// annotation-value-word-blocklist in an annotation value, or an annotation above annotations-risk-level,
// and the Ingress is not served (its host answers 404) while the others keep working; the status names
// the Ingress, the annotation and the word or level. Changing the ConfigMap serves it again.
import assert from 'node:assert/strict';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, configMap, endpoints, ingress, service } from '../helpers/manifests.js';
import { json, serve, type Recorder } from '../helpers/recorder.js';
import { waitFor } from '../helpers/wait.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const NS = 'default';
const APP = '127.0.113.5';
const SETTINGS = {
  'allow-snippet-annotations': 'true',
  'annotation-value-word-blocklist': 'something_forbidden,otherthing_forbidden,content_by_lua_block,{',
  'annotations-risk-level': 'Medium',
};

describe('e2e: annotation-value-word-blocklist and annotations-risk-level', function () {
  this.timeout(60_000);
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let app: Recorder;

  const statusOf = async (host: string) => (await ctl!.http(host, '/')).status;

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('annotation-admission');
    app = await serve(APP, (_req, res) => json(res, 200, { from: 'app' }));
    manifests.write('services.yaml', [
      service('app', { ports: [{ port: 80, targetPort: app.port }] }),
      endpoints('app', { ready: [APP], port: app.port }),
    ]);
    manifests.write('settings.yaml', configMap('settings', NS, SETTINGS));
    const site = (name: string, annotations: Record<string, string>) =>
      ingress(name, { host: `${name}.test`, paths: [{ path: '/', service: 'app' }], annotations });
    manifests.write('ingresses.yaml', [
      // ingress-nginx test/e2e/settings/badannotationvalues.go "[BAD_ANNOTATIONS] should drop an ingress if there is an invalid character in some annotation"
      site('invalid-character', { [`${ANNOTATION}configuration-snippet`]: '\n# abc { }' }),
      // ingress-nginx test/e2e/settings/badannotationvalues.go "[BAD_ANNOTATIONS] should drop an ingress if there is a forbidden word in some annotation"
      site('forbidden-word', {
        [`${ANNOTATION}configuration-snippet`]:
          'default_type text/plain;\ncontent_by_lua_block {\n  ngx.say("Hello World")\n}',
      }),
      // ingress-nginx test/e2e/settings/badannotationvalues.go "[BAD_ANNOTATIONS] should drop an ingress if there is a custom blocklist config in place and allow others to pass"
      site('custom-word', { [`${ANNOTATION}configuration-snippet`]: '\n# something_forbidden' }),
      // mirror-target is High, above Medium
      site('risky', { [`${ANNOTATION}mirror-target`]: 'http://127.0.113.6/' }),
      // rewrite-target is Medium: at the level, served
      site('medium', { [`${ANNOTATION}rewrite-target`]: '/' }),
      site('plain', {}),
      // ingress-nginx test/e2e/settings/validations/validations.go "should allow ingress based on their risk on webhooks"
      // (there a webhook refuses the object; here the Ingress is not served): Low and Medium pass at Medium...
      site('low-medium', {
        [`${ANNOTATION}default-backend`]: 'app',
        [`${ANNOTATION}denylist-source-range`]: '1.1.1.1/32',
      }),
      // ...and a High one is refused, even of an annotation this controller does not implement
      site('modsecurity', {
        [`${ANNOTATION}default-backend`]: 'app',
        [`${ANNOTATION}modsecurity-transaction-id`]: 'bla123',
      }),
    ]);
    ctl = await startController({ manifests: manifests.dir, extraArgs: ['--configmap', `${NS}/settings`] });
  });

  stopAfter(
    () => ctl,
    async () => {
      await app?.close();
      manifests?.cleanup();
    },
  );

  it('an Ingress with a blocked word in an annotation value is not served (404); the others are', async () => {
    for (const host of ['invalid-character.test', 'forbidden-word.test', 'custom-word.test'])
      assert.equal(await statusOf(host), 404, host);
    for (const host of ['plain.test', 'medium.test']) assert.equal(await statusOf(host), 200, host);
    const { problems } = await ctl!.status();
    for (const [ingressName, word] of [
      ['invalid-character', '{'],
      ['forbidden-word', 'content_by_lua_block'],
      ['custom-word', 'something_forbidden'],
    ]) {
      const pattern = new RegExp(
        `Ingress default/${ingressName}.*configuration-snippet.*contains ${JSON.stringify(word).replace(/[{}]/g, '\\$&')}, a word of the ConfigMap's annotation-value-word-blocklist; the Ingress is not served`,
      );
      assert.ok(
        problems.some((problem) => pattern.test(problem)),
        `${pattern}\n${problems.join('\n')}`,
      );
    }
  });

  it('an Ingress with an annotation above annotations-risk-level is not served (404)', async () => {
    assert.equal(await statusOf('risky.test'), 404);
    assert.equal(await statusOf('modsecurity.test'), 404);
    assert.equal(await statusOf('low-medium.test'), 200);
    const { problems } = await ctl!.status();
    assert.ok(
      problems.some((problem) =>
        /Ingress default\/risky.*mirror-target.*risk is High, above the ConfigMap's annotations-risk-level Medium/.test(
          problem,
        ),
      ),
      problems.join('\n'),
    );
  });

  it('without the word in the list and at level Critical, the same Ingresses are served', async () => {
    manifests.write(
      'settings.yaml',
      configMap('settings', NS, {
        ...SETTINGS,
        'annotation-value-word-blocklist': 'otherthing_forbidden',
        // snippets are Critical: allow-snippet-annotations alone does not let them through a lower level
        'annotations-risk-level': 'Critical',
      }),
    );
    await waitFor(async () => (await statusOf('custom-word.test')) === 200, { what: 'custom-word.test served' });
    // the reload done: no old worker left to take a connection with the previous config
    await ctl!.settle();
    for (const host of ['invalid-character.test', 'risky.test', 'plain.test'])
      assert.equal(await statusOf(host), 200, host);
    // content_by_lua_block in a snippet is refused by the snippet checks themselves: its paths answer 503
    assert.equal(await statusOf('forbidden-word.test'), 503);
  });
});
