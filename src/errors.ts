// The few named failures the CLI maps to exit codes (see cli.ts). Each keeps its cause.

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
  constructor(message: string, readonly output: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** nginx could not be started, reloaded or confirmed. */
export class NginxError extends Error {
  override name = 'NginxError';
}

export const EXIT_CODES: Record<string, number> = {
  UsageError: 64,
  ManifestsRejectedError: 2,
  ConfigTestError: 3,
  TemplateError: 4,
  NginxError: 5,
};
