/**
 * One error base with stable codes (undici/pnpm style). Match on `.code`, never on the message.
 * Every code is documented in docs/errors.md; a test keeps the two in step.
 */
export const ERROR_CODES = {
  HATANG_ERR_CONFIG: 'A configuration file or value is invalid.',
  HATANG_ERR_CONFIG_NOT_FOUND: 'A configuration file does not exist.',
  HATANG_ERR_VALIDATION: 'A request or message does not match the wire contract.',
  HATANG_ERR_UNAUTHORIZED: 'The bearer token is missing, unknown or revoked.',
  HATANG_ERR_FORBIDDEN: 'The credential is valid but may not do this.',
  HATANG_ERR_NOT_FOUND: 'The thing asked for does not exist.',
  HATANG_ERR_PAYLOAD_TOO_LARGE: 'A body or batch is past its documented limit.',
  HATANG_ERR_RATE_LIMITED: 'Too many requests; retry after the time given.',
  HATANG_ERR_UNSUPPORTED_MEDIA: 'The body is not JSON (or gzip-compressed JSON).',
  HATANG_ERR_ID_TAKEN: 'A result id already belongs to another agent.',
  HATANG_ERR_OUT_OF_RANGE: 'A numeric parameter is outside its documented range.',
  HATANG_ERR_COLLECTOR: 'The collector answered with an unexpected status.',
  HATANG_ERR_NETWORK: 'A network operation failed.',
  HATANG_ERR_TIMEOUT: 'An operation ran past its time limit.',
  HATANG_ERR_ABORTED: 'An operation was aborted.',
  HATANG_ERR_STORAGE: 'The local database failed.',
  HATANG_ERR_INTERNAL: 'A bug: something that should not happen did.',
  HATANG_ERR_ENROLL_CODE: 'The enrolment code is unknown, already used, revoked or expired.',
  HATANG_ERR_UNAVAILABLE: 'The service is not ready yet; retry after the time given.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface HatangErrorOptions {
  /** What the user can do about it, shown under the message. */
  hint?: string;
  cause?: unknown;
  /** Structured detail safe to show a client (never secrets). */
  details?: Record<string, unknown>;
}

export class HatangError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: HatangErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HatangError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }
}

export function isHatangError(err: unknown): err is HatangError {
  return (
    err instanceof HatangError ||
    (typeof err === 'object' &&
      err !== null &&
      typeof (err as { code?: unknown }).code === 'string' &&
      (err as { code: string }).code in ERROR_CODES)
  );
}
