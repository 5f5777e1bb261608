import { HatangError } from '@hatang/shared';
import type { FastifyRequest } from 'fastify';

/**
 * preValidation hook: refuse query parameters a route does not know (a typo such as `acess=`
 * would otherwise be dropped silently and answer with the wrong figures).
 */
export function onlyQuery(allowed: readonly string[]) {
  return async (req: FastifyRequest) => {
    const q = req.query as Record<string, unknown> | undefined;
    for (const k of Object.keys(q ?? {})) {
      if (!allowed.includes(k)) {
        throw new HatangError(
          'HATANG_ERR_VALIDATION',
          `query parameter "${k.slice(0, 40)}" is not known here; allowed: ${allowed.join(', ')}`,
        );
      }
    }
  };
}

/**
 * Run `fn`; a HatangError it throws is re-thrown with the query parameter it came from named first
 * (`parent: no unit 0`), so a caller knows which of several parameters to fix.
 */
export function naming<T>(param: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof HatangError && !err.message.startsWith(`${param}:`)) {
      throw new HatangError(err.code, `${param}: ${err.message}`, {
        ...(err.hint ? { hint: err.hint } : {}),
        ...(err.details ? { details: err.details } : {}),
        cause: err,
      });
    }
    throw err;
  }
}
