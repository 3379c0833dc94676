import assert from 'node:assert/strict';
import {
  ConfigTestError,
  EXIT_CODES,
  FAILURE_REASONS,
  failureReason,
  ManifestsRejectedError,
  NameError,
  NginxError,
  NotConfirmedError,
  TemplateError,
  UnsafeValueError,
  UsageError,
} from '../src/errors.js';

/** An error as Node's fs throws it: an errno code on an Error. */
function errnoError(code: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: no space left on device, write`);
  err.code = code;
  return err;
}

describe('errors', () => {
  describe('failureReason', () => {
    it('names what failed: nginx -t, the confirmation, the reload, the plan', () => {
      assert.equal(failureReason(new ConfigTestError('rejected', 'nginx: [emerg] ...')), 'config_test');
      assert.equal(failureReason(new NotConfirmedError('kept the old config')), 'not_confirmed');
      assert.equal(failureReason(new NginxError('cannot start nginx')), 'reload');
      assert.equal(failureReason(new TemplateError('bad partial')), 'plan');
      assert.equal(failureReason(new UnsafeValueError('str', 'a"b')), 'plan');
      assert.equal(failureReason(new NameError('two objects, one name')), 'plan');
    });

    it('a NotConfirmedError is an NginxError, but counted as not_confirmed, not as reload', () => {
      const err = new NotConfirmedError('nginx exited while starting');
      assert.ok(err instanceof NginxError);
      assert.equal(failureReason(err), 'not_confirmed');
    });

    it('an error with an errno code is a filesystem failure (a full disk, a permission)', () => {
      assert.equal(failureReason(errnoError('ENOSPC')), 'filesystem');
      assert.equal(failureReason(errnoError('EACCES')), 'filesystem');
    });

    it('anything else is internal: codes that are not errno codes, plain errors, thrown non-errors', () => {
      assert.equal(failureReason(errnoError('ERR_INVALID_ARG_TYPE')), 'internal');
      assert.equal(failureReason(new TypeError("cannot read properties of undefined (reading 'x')")), 'internal');
      assert.equal(failureReason(new UsageError('--http-port')), 'internal');
      assert.equal(failureReason('a string'), 'internal');
      assert.equal(failureReason(undefined), 'internal');
      // a code on something that is not an Error says nothing about the filesystem
      assert.equal(failureReason({ code: 'ENOSPC' }), 'internal');
    });

    it('every reason it returns is one the metrics export (FAILURE_REASONS), each listed once', () => {
      const returned = [
        new ConfigTestError('x', ''),
        new NotConfirmedError('x'),
        new NginxError('x'),
        new TemplateError('x'),
        errnoError('EIO'),
        new Error('x'),
      ].map(failureReason);
      assert.deepEqual([...new Set(returned)].sort(), [...FAILURE_REASONS].sort());
      assert.equal(new Set(FAILURE_REASONS).size, FAILURE_REASONS.length);
    });
  });

  describe('EXIT_CODES', () => {
    it('maps each named error, by its name, to the exit code the usage text promises', () => {
      const code = (err: Error) => EXIT_CODES[err.name];
      assert.equal(code(new UsageError('x')), 64);
      assert.equal(code(new ManifestsRejectedError('x')), 2);
      assert.equal(code(new ConfigTestError('x', '')), 3);
      assert.equal(code(new TemplateError('x')), 4);
      assert.equal(code(new UnsafeValueError('tok', 'a b')), 4);
      assert.equal(code(new NameError('x')), 4);
      assert.equal(code(new NginxError('x')), 5);
      assert.equal(code(new NotConfirmedError('x')), 5);
      // anything unnamed falls through to the CLI's 1
      assert.equal(code(new Error('x')), undefined);
    });
  });

  describe('the errors themselves', () => {
    it('keep their cause, and ConfigTestError keeps what nginx said', () => {
      const cause = errnoError('ENOENT');
      const err = new ConfigTestError('nginx -t rejected the candidate', 'nginx: [emerg] unknown directive', { cause });
      assert.equal(err.output, 'nginx: [emerg] unknown directive');
      assert.equal(err.cause, cause);
      assert.equal(new NginxError('cannot run nginx -V', { cause }).cause, cause);
    });

    it('UnsafeValueError names the helper and shows the refused value, quoted and cut to 120 characters', () => {
      assert.equal(new UnsafeValueError('str', 'a"b').message, 'refusing to render "a\\"b" with {{str}}');
      const long = new UnsafeValueError('path', `/${'x'.repeat(500)}`);
      assert.ok(long.message.startsWith('refusing to render "/xxx'));
      assert.ok(long.message.length < 160, long.message);
      assert.match(long.message, / with \{\{path\}\}$/);
    });
  });
});
