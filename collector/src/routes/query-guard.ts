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
