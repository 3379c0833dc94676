import assert from 'node:assert/strict';
import { isRefusal, refusals } from '../../../src/model/annotations/admission.js';
import { migrationReport } from '../../../src/migration-report.js';
import { buildModel } from '../../../src/model/index.js';
import { DEFAULT_SETTINGS, parseSettings } from '../../../src/model/settings.js';
import {
  build,
  CONFIG_MAP_OPTION,
  configMap,
  endpoints,
  ingress,
  path,
  rule,
  service,
  OPTIONS,
  show,
  storeOf,
} from '../../helpers/resources.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const web = [service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })];
const ing = (annotations: Record<string, string>, name = 'site', host = 'a.example.com') =>
  ingress({ name, annotations, rules: [rule(host, path('/', 'web'))] });
const hosts = (result: ReturnType<typeof build>) => result.model.servers.map((server) => server.host);

describe('model/annotations/admission', () => {
  it('the settings: annotation-value-word-blocklist (trimmed, no empty words) and annotations-risk-level', () => {
    assert.deepEqual(DEFAULT_SETTINGS.annotationValueWordBlocklist, []);
    assert.equal(DEFAULT_SETTINGS.annotationsRiskLevel, 'Critical');
    const { settings, problems } = parseSettings(
      configMap({
        'annotation-value-word-blocklist': ' load_module, ,lua_package,{,',
        'annotations-risk-level': 'medium',
      }),
    );
    assert.deepEqual(problems, [], show(problems));
    assert.deepEqual(settings.annotationValueWordBlocklist, ['load_module', 'lua_package', '{']);
    assert.equal(settings.annotationsRiskLevel, 'Medium');
  });

  it('an unknown risk level is an error and stands for Low, the strictest, as ingress-nginx read it', () => {
    const { settings, problems } = parseSettings(configMap({ 'annotations-risk-level': 'Severe' }));
    assert.equal(problems.length, 1, show(problems));
    assert.equal(problems[0]!.severity, 'error');
    assert.equal(problems[0]!.field, 'data.annotations-risk-level');
    assert.match(problems[0]!.message, /expected Critical, High, Medium or Low; using Low/);
    assert.equal(settings.annotationsRiskLevel, 'Low');
  });

  it('by default nothing is refused', () => {
    const everything = ing({
      [`${ANNOTATION}configuration-snippet`]: '# bla_by_lua',
      [`${ANNOTATION}auth-url`]: 'http://a/',
    });
    // ingress-nginx test/e2e/settings/badannotationvalues.go "[BAD_ANNOTATIONS] should allow an ingress if there is a default blocklist config in place"
    assert.deepEqual(refusals(everything, DEFAULT_SETTINGS), []);
  });

  it('a blocked word in any nginx.ingress.kubernetes.io/ value, supported or not, refuses the Ingress', () => {
    const settings = { ...DEFAULT_SETTINGS, annotationValueWordBlocklist: ['something_forbidden', '{'] };
    const found = refusals(
      ing({
        [`${ANNOTATION}rewrite-target`]: '/a',
        [`${ANNOTATION}unknown-one`]: 'x something_forbidden y',
        [`${ANNOTATION}configuration-snippet`]: '# abc { }',
        'example.com/other': 'something_forbidden',
      }),
      settings,
    );
    assert.deepEqual(
      found.map((problem) => [problem.object, problem.field, problem.severity]),
      [
        ['Ingress default/site', `metadata.annotations["${ANNOTATION}configuration-snippet"]`, 'error'],
        ['Ingress default/site', `metadata.annotations["${ANNOTATION}unknown-one"]`, 'error'],
      ],
    );
    assert.match(
      found[0]!.message,
      /contains "\{", a word of the ConfigMap's annotation-value-word-blocklist; the Ingress is not served/,
    );
    assert.match(found[1]!.message, /contains "something_forbidden"/);
  });

  it('an annotation above annotations-risk-level refuses the Ingress; at or below it does not', () => {
    const settings = { ...DEFAULT_SETTINGS, annotationsRiskLevel: 'Medium' as const };
    const found = refusals(
      ing({
        [`${ANNOTATION}mirror-target`]: 'http://m/',
        [`${ANNOTATION}rewrite-target`]: '/',
        [`${ANNOTATION}ssl-redirect`]: 'false',
      }),
      settings,
    );
    assert.equal(found.length, 1, show(found));
    assert.equal(found[0]!.field, `metadata.annotations["${ANNOTATION}mirror-target"]`);
    assert.match(found[0]!.message, /risk is High, above the ConfigMap's annotations-risk-level Medium/);
    assert.deepEqual(
      refusals(ing({ [`${ANNOTATION}mirror-target`]: 'http://m/' }), { ...settings, annotationsRiskLevel: 'High' }),
      [],
    );
  });

  it('buildModel: the refused Ingress is not served at all, the others are', () => {
    // ingress-nginx test/e2e/settings/badannotationvalues.go "[BAD_ANNOTATIONS] should drop an ingress if there is a custom blocklist config in place and allow others to pass"
    const result = build(
      [
        ...web,
        configMap({
          'annotation-value-word-blocklist': 'something_forbidden,otherthing_forbidden',
          'annotations-risk-level': 'High',
          'allow-snippet-annotations': 'true',
        }),
        ing({ [`${ANNOTATION}configuration-snippet`]: '# something_forbidden' }, 'blocked', 'blocked.example.com'),
        ing({ [`${ANNOTATION}server-snippet`]: '# fine' }, 'risky', 'risky.example.com'),
        ing({ [`${ANNOTATION}auth-url`]: 'http://10.0.0.9/' }, 'high', 'high.example.com'),
        ing({}, 'plain', 'plain.example.com'),
      ],
      CONFIG_MAP_OPTION,
    );
    assert.deepEqual(hosts(result), ['', 'high.example.com', 'plain.example.com']);
    assert.deepEqual(
      result.problems.map((problem) => `${problem.object} ${problem.field}`),
      [
        `Ingress default/blocked metadata.annotations["${ANNOTATION}configuration-snippet"]`,
        `Ingress default/risky metadata.annotations["${ANNOTATION}server-snippet"]`,
      ],
      show(result.problems),
    );
  });

  it('a refused canary is not served either', () => {
    const result = build(
      [
        ...web,
        configMap({ 'annotation-value-word-blocklist': 'evil' }),
        ing({}, 'main'),
        ing(
          {
            [`${ANNOTATION}canary`]: 'true',
            [`${ANNOTATION}canary-weight`]: '100',
            [`${ANNOTATION}canary-by-header`]: 'evil',
          },
          'canary',
        ),
      ],
      CONFIG_MAP_OPTION,
    );
    assert.equal(result.problems.length, 1, show(result.problems));
    assert.equal(result.problems[0]!.object, 'Ingress default/canary');
    assert.deepEqual(JSON.stringify(result.model).includes('canary'), false);
  });

  it('the migration report: the refusing annotation is rejected, the others of that Ingress ignored', () => {
    const store = storeOf(
      ...web,
      configMap({ 'annotations-risk-level': 'Medium' }),
      ing({ [`${ANNOTATION}mirror-target`]: 'http://10.0.0.9/', [`${ANNOTATION}rewrite-target`]: '/' }),
    );
    const options = { ...OPTIONS, ...CONFIG_MAP_OPTION };
    const { problems } = buildModel(store, options);
    assert.ok(problems.every(isRefusal), show(problems));
    const rows = migrationReport(store, options, problems);
    assert.deepEqual(
      rows.map((row) => [row.annotation.slice(ANNOTATION.length), row.status]),
      [
        ['mirror-target', 'rejected'],
        ['rewrite-target', 'ignored'],
      ],
    );
    assert.match(rows[1]!.detail, /refuses the Ingress for another annotation: not served/);
  });
});
