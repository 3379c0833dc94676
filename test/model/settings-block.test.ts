import assert from 'node:assert/strict';
import { DEFAULT_SETTINGS } from '../../src/model/settings.js';
import { blocksEveryone, parseCidr, parseMapPattern } from '../../src/model/settings-block.js';
import { build, CONFIG_MAP_OPTION, configMap, show } from '../helpers/resources.js';
import { nginxAccepts, renderText } from './annotations/nginx-check.js';
import { parseData } from './settings-cases.js';

describe('settings: block-cidrs, block-user-agents, block-referers (settings-block.ts)', () => {
  it('blocks nobody by default', () => {
    for (const list of [DEFAULT_SETTINGS.blockCidrs, DEFAULT_SETTINGS.blockUserAgents, DEFAULT_SETTINGS.blockReferers])
      assert.deepEqual(list, { entries: [], invalid: [], refuses: false });
    assert.equal(blocksEveryone(DEFAULT_SETTINGS), false);
  });

  it('CIDRs: IPv4 and IPv6 addresses and networks, nothing else', () => {
    assert.equal(parseCidr('10.0.0.0/8'), '10.0.0.0/8');
    assert.equal(parseCidr('10.0.0.0/08'), '10.0.0.0/8');
    assert.equal(parseCidr('192.0.2.1'), '192.0.2.1');
    assert.equal(parseCidr('2001:db8::/32'), '2001:db8::/32');
    for (const bad of ['10.0.0.0/33', '2001:db8::/129', '10.0.0/8', '10.0.0.0/8/8', 'all', '10.0.0.0/8; allow all', ''])
      assert.equal(parseCidr(bad), undefined, bad);
  });

  it('user agents and referers: exact strings, or regexes after ~ or ~* that compile', () => {
    assert.equal(parseMapPattern('AlphaBot'), 'AlphaBot');
    assert.equal(parseMapPattern('a "quoted" \\ one'), 'a "quoted" \\ one');
    assert.equal(parseMapPattern('~*chrome\\/68\\.0'), '~*chrome\\/68\\.0');
    for (const bad of ['~*(unclosed', '~', '~*', 'tab\there', 'é']) assert.equal(parseMapPattern(bad), undefined, bad);
  });

  // the values of ingress-nginx's settings/global_access_block.go cases
  it('parses the lists, blanks around entries trimmed, empty entries and duplicates dropped', () => {
    const { settings, problems } = parseData({
      'block-cidrs': '172.16.0.0/12,192.168.0.0/16,10.0.0.0/8, ,10.0.0.0/8',
      'block-user-agents': '~*chrome\\/68\\.0\\.3440\\.106\\ safari\\/537\\.36,AlphaBot',
      'block-referers': '~*example\\.com,qwerty',
    });
    assert.deepEqual(problems, [], show(problems));
    assert.deepEqual(settings.blockCidrs.entries, ['172.16.0.0/12', '192.168.0.0/16', '10.0.0.0/8']);
    assert.deepEqual(settings.blockUserAgents.entries, [
      '~*chrome\\/68\\.0\\.3440\\.106\\ safari\\/537\\.36',
      'AlphaBot',
    ]);
    assert.deepEqual(settings.blockReferers.entries, ['~*example\\.com', 'qwerty']);
    assert.equal(blocksEveryone(settings), false);
  });

  it('an unreadable entry is an error and blocks every request, never a silent unblock', () => {
    const { settings, problems } = parseData({ 'block-cidrs': '10.0.0.0/8,10.1.0.0/33' });
    assert.deepEqual(settings.blockCidrs, { entries: ['10.0.0.0/8'], invalid: ['10.1.0.0/33'], refuses: true });
    assert.equal(blocksEveryone(settings), true);
    assert.equal(problems.length, 1, show(problems));
    assert.equal(problems[0]!.severity, 'error');
    assert.equal(problems[0]!.field, 'data.block-cidrs');
    assert.match(problems[0]!.message, /"10\.1\.0\.0\/33".*every request is refused \(403\) until it is fixed/);
    const agents = parseData({ 'block-user-agents': '~*(bad' });
    assert.equal(agents.problems[0]!.severity, 'error');
    assert.equal(agents.settings.blockUserAgents.refuses, true);
  });

  const model = (data: Record<string, string>) => build([configMap(data)], CONFIG_MAP_OPTION).model;

  it('renders nothing without the keys', () => {
    assert.doesNotMatch(renderText(model({})), /ingress_templater_block/);
  });

  it('renders a geo and two maps, quoted and escaped, a 403 in every server, and nginx -t accepts it', async () => {
    const set = model({
      'block-cidrs': '10.0.0.0/8,2001:db8::/32',
      'block-user-agents': '~*chrome\\/68\\.0,AlphaBot,default,a"b\\c',
      'block-referers': '~*example\\.com,qwerty',
    });
    const text = renderText(set);
    assert.match(
      text,
      /geo \$ingress_templater_block_address \{\n {8}default 0;\n {8}10\.0\.0\.0\/8 1;\n {8}2001:db8::\/32 1;\n/,
    );
    assert.ok(text.includes('\n        "~*chrome\\\\/68\\\\.0" 1;\n'), text);
    assert.ok(text.includes('\n        "AlphaBot" 1;\n'));
    // "default" is a map parameter: the backslash makes it a value
    assert.ok(text.includes('\n        "\\\\default" 1;\n'));
    assert.ok(text.includes('\n        "a\\"b\\\\c" 1;\n'));
    assert.ok(text.includes('\n        "~*example\\\\.com" 1;\n'));
    for (const variable of ['address', 'agent', 'referer'])
      assert.match(text, new RegExp(`if \\(\\$ingress_templater_block_${variable}\\) \\{ return 403; \\}`));
    await nginxAccepts(set);
  });

  it('an unreadable list renders as refusing everyone', async () => {
    const broken = model({ 'block-referers': 'ok,~*(bad' });
    const text = renderText(broken);
    assert.match(text, /map \$https \$ingress_templater_block_referer \{ default 1; \}/);
    assert.match(text, /if \(\$ingress_templater_block_referer\) \{ return 403; \}/);
    // the entry never reaches the config (the config-hash comment is hex and may spell "bad" by chance)
    assert.doesNotMatch(text.replace(/^# config-hash [0-9a-f]+$/m, ''), /\(bad/);
    await nginxAccepts(broken);
  });
});
