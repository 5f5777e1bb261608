import { HatangError, Validator } from '@hatang/shared';
import type { TSchema } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';

/**
 * Validate request parts with TypeBox's compiled checker instead of Ajv, so unknown fields are
 * refused (Ajv as fastify configures it would drop them silently) and the message names the field.
 * Call inside an encapsulated route plugin: it applies to that plugin's routes only.
 */
export function useTypeboxValidation(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const v = new Validator(schema as TSchema);
    const where = httpPart === 'body' ? 'body' : (httpPart ?? 'request');
    return (data: unknown) => {
      if (v.is(data)) return { value: data };
      return { error: new HatangError('HATANG_ERR_VALIDATION', `${where}${v.explain(data) ?? ' is invalid'}`) };
    };
  });
}
