import { type ErrorCode, HatangError } from '@hatang/shared';
import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** HTTP status for each stable code. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  HATANG_ERR_VALIDATION: 400,
  HATANG_ERR_OUT_OF_RANGE: 400,
  HATANG_ERR_UNAUTHORIZED: 401,
  HATANG_ERR_FORBIDDEN: 403,
  HATANG_ERR_NOT_FOUND: 404,
  HATANG_ERR_PAYLOAD_TOO_LARGE: 413,
  HATANG_ERR_UNSUPPORTED_MEDIA: 415,
  HATANG_ERR_ID_TAKEN: 409,
  HATANG_ERR_RATE_LIMITED: 429,
  HATANG_ERR_ENROLL_CODE: 403,
  HATANG_ERR_UNAVAILABLE: 503,
};

/** Fastify's own client-error codes, mapped to ours with a message a person can act on. */
function fromFastify(err: FastifyError): HatangError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HatangError(
        'HATANG_ERR_PAYLOAD_TOO_LARGE',
        'request body is larger than the limit for this endpoint',
        {
          hint: 'Send smaller batches (see docs/protocol.md for limits).',
        },
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HatangError('HATANG_ERR_UNSUPPORTED_MEDIA', err.message);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new HatangError('HATANG_ERR_VALIDATION', `body is not valid JSON: ${err.message}`);
    default:
      break;
  }
  if (err.validation) {
    return new HatangError('HATANG_ERR_VALIDATION', `${err.validationContext ?? 'request'} ${err.message}`.trim());
  }
  if (err instanceof SyntaxError)
    return new HatangError('HATANG_ERR_VALIDATION', `body is not valid JSON: ${err.message}`);
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return new HatangError(
      err.statusCode === 413 ? 'HATANG_ERR_PAYLOAD_TOO_LARGE' : 'HATANG_ERR_VALIDATION',
      err.message,
    );
  }
  return undefined;
}

export function statusFor(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

/** One error shape for every route: `{ error: { code, message, hint? } }`. No 5xx for client input. */
export const errorsPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((err: FastifyError, req, reply) => {
      // The client went away mid-request (an aborted speed test): nothing to answer, nothing wrong here.
      if (err.code === 'ECONNRESET' || req.raw.socket?.destroyed) {
        req.log.debug({ err }, 'client closed the connection');
        return reply.code(499).send();
      }
      const he = err instanceof HatangError ? err : fromFastify(err);
      if (!he) {
        req.log.error({ err }, 'unhandled error');
        return reply
          .code(500)
          .send({ error: { code: 'HATANG_ERR_INTERNAL', message: 'internal error; see the collector log' } });
      }
      const status = statusFor(he.code);
      if (status >= 500) req.log.error({ err }, he.message);
      if (he.details?.retryAfterS !== undefined) {
        reply.header('retry-after', String(he.details.retryAfterS));
      }
      return reply
        .code(status)
        .send({ error: { code: he.code, message: he.message, ...(he.hint ? { hint: he.hint } : {}) } });
    });
    app.setNotFoundHandler((req, reply) => {
      reply
        .code(404)
        .send({ error: { code: 'HATANG_ERR_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
    });
  },
  { name: 'hatang-errors' },
);
