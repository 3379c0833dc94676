// Table-driven cases for the topic modules of the settings ConfigMap (settings-tls.ts, settings-gzip.ts...):
// a valid value sets its field and nothing else; an invalid one is a warning and the default applies.
import assert from 'node:assert/strict';
import { DEFAULT_SETTINGS, parseSettings } from '../../src/model/settings.js';
import type { Settings } from '../../src/model/settings.js';
import { configMap, show } from '../helpers/resources.js';

export const parseData = (data: Record<string, string>) => parseSettings(configMap(data));

export function validCases(cases: [string, string, keyof Settings, unknown][]): void {
  for (const [key, value, field, want] of cases) {
    it(`parses ${key}: ${JSON.stringify(value)}`, () => {
      const { settings, problems } = parseData({ [key]: value });
      assert.deepEqual(problems, [], show(problems));
      assert.deepEqual(settings[field], want);
      assert.deepEqual(
        { ...settings, [field]: DEFAULT_SETTINGS[field] },
        DEFAULT_SETTINGS,
        'only that setting changes',
      );
    });
  }
}

export function toleratedCases(cases: [string, string][]): void {
  for (const [key, value] of cases) {
    it(`ignores ${key}: ${JSON.stringify(value)} with a warning, and its default applies`, () => {
      const { settings, problems } = parseData({ [key]: value });
      assert.deepEqual(settings, DEFAULT_SETTINGS);
      assert.equal(problems.length, 1, show(problems));
      const problem = problems[0]!;
      assert.equal(problem.severity, 'warning');
      assert.equal(problem.field, `data.${key}`);
      assert.equal(problem.object, 'ConfigMap default/ingress-templater');
      assert.equal(problem.file, 'test.yaml');
      assert.ok(problem.message.includes(JSON.stringify(value)), problem.message);
      assert.match(problem.message, /expected .+; ignored, its default applies/);
    });
  }
}
