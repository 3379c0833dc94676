// The named failures: the CLI maps them to exit codes (EXIT_CODES, read by cli.ts), the controller to the
// reason it counts a failed sync by (failureReason). Each keeps its cause.

/** Bad command-line usage. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Some manifests were rejected (render/validate report them and exit non-zero). */
export class ManifestsRejectedError extends Error {
  override name = 'ManifestsRejectedError';
}

/** nginx -t refused the candidate configuration. */
export class ConfigTestError extends Error {
  override name = 'ConfigTestError';
  constructor(
    message: string,
    readonly output: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** nginx could not be started, reloaded or confirmed. */
export class NginxError extends Error {
  override name = 'NginxError';
}

/** nginx did not confirm the new config: it kept the old one, or exited while starting. */
export class NotConfirmedError extends NginxError {
  override name = 'NotConfirmedError';
}

/** A template is unusable, or rendering failed. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** A value that a template helper refuses to write into nginx.conf (render/escape.ts). */
export class UnsafeValueError extends Error {
  override name = 'UnsafeValueError';
  constructor(helper: string, value: unknown) {
    super(`refusing to render ${JSON.stringify(String(value)).slice(0, 120)} with {{${helper}}}`);
  }
}

/** Two objects would share a derived name (model/names.ts): refused, never an overwrite. */
export class NameError extends Error {
  override name = 'NameError';
}

/** What failed in a sync, as reload_failures_total{reason} counts it. */
export type FailureReason = 'plan' | 'filesystem' | 'config_test' | 'reload' | 'not_confirmed' | 'internal';
export const FAILURE_REASONS: readonly FailureReason[] = [
  'plan',
  'filesystem',
  'config_test',
  'reload',
  'not_confirmed',
  'internal',
];

export function failureReason(err: unknown): FailureReason {
  if (err instanceof ConfigTestError) return 'config_test';
  if (err instanceof NotConfirmedError) return 'not_confirmed';
  if (err instanceof NginxError) return 'reload';
  if (err instanceof TemplateError || err instanceof UnsafeValueError || err instanceof NameError) return 'plan';
  // writes under the prefix (a full disk, permissions): Node's errors carry the errno code
  if (
    err instanceof Error &&
    typeof (err as NodeJS.ErrnoException).code === 'string' &&
    /^E[A-Z]+$/.test((err as NodeJS.ErrnoException).code!)
  )
    return 'filesystem';
  return 'internal';
}

export const EXIT_CODES: Record<string, number> = {
  UsageError: 64,
  ManifestsRejectedError: 2,
  ConfigTestError: 3,
  TemplateError: 4,
  UnsafeValueError: 4,
  NameError: 4,
  NginxError: 5,
  NotConfirmedError: 5,
};
