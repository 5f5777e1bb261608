import type { TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';

/** A field that failed validation: JSON-pointer path plus a sentence saying what it must be. */
export interface FieldProblem {
  path: string;
  message: string;
}

function describe(e: ValueError): string {
  const s = e.schema as Record<string, unknown>;
  // A schema may carry its own sentence for its constraint (e.g. URL patterns).
  if (typeof s.errorMessage === 'string' && e.type !== ValueErrorType.ObjectRequiredProperty) return s.errorMessage;
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.ObjectAdditionalProperties:
      return 'is not allowed (unknown field)';
    case ValueErrorType.String:
      return 'must be a string';
    case ValueErrorType.Number:
      return 'must be a number';
    case ValueErrorType.Integer:
      return 'must be an integer';
    case ValueErrorType.Boolean:
      return 'must be true or false';
    case ValueErrorType.Object:
      return 'must be an object';
    case ValueErrorType.Array:
      return 'must be an array';
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.IntegerMinimum:
      return `must be >= ${String(s.minimum)}`;
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.IntegerMaximum:
      return `must be <= ${String(s.maximum)}`;
    case ValueErrorType.StringMinLength:
      return `must be at least ${String(s.minLength)} characters`;
    case ValueErrorType.StringMaxLength:
      return `must be at most ${String(s.maxLength)} characters`;
    case ValueErrorType.ArrayMaxItems:
      return `must have at most ${String(s.maxItems)} items`;
    case ValueErrorType.ArrayMinItems:
      return `must have at least ${String(s.minItems)} items`;
    case ValueErrorType.StringPattern:
      return `must match ${String(s.pattern)}`;
    case ValueErrorType.StringFormat:
      return s.format === 'uuid-v7'
        ? 'must be a lower-case UUIDv7'
        : s.format === 'date-time'
          ? 'must be an RFC 3339 date-time with offset'
          : `must be a ${String(s.format)}`;
    case ValueErrorType.Literal:
      return `must be ${JSON.stringify(s.const)}`;
    case ValueErrorType.Union: {
      const literals = (s.anyOf as Array<{ const?: unknown }> | undefined)?.map((x) => x.const);
      if (literals?.every((l) => l !== undefined))
        return `must be one of ${literals.map((l) => JSON.stringify(l)).join(', ')}`;
      return 'does not match any allowed shape';
    }
    case ValueErrorType.Kind:
      if (Array.isArray(s.enum)) return `must be one of ${s.enum.map((l) => JSON.stringify(l)).join(', ')}`;
      return e.message;
    default:
      return e.message.replace(/^Expected/, 'must be');
  }
}

/** A compiled validator that reports the first problem as one clear sentence. */
export class Validator<T extends TSchema> {
  readonly #check: TypeCheck<T>;
  readonly schema: T;
  constructor(schema: T) {
    this.schema = schema;
    this.#check = TypeCompiler.Compile(schema);
  }
  is(value: unknown): boolean {
    return this.#check.Check(value);
  }
  /** All problems, most specific first; empty when valid. */
  problems(value: unknown, max = 10): FieldProblem[] {
    const out: FieldProblem[] = [];
    for (const e of this.#check.Errors(value)) {
      // enum-valued Unsafe schemas report as Kind; skip duplicates at the same path
      if (out.some((p) => p.path === (e.path || '/'))) continue;
      out.push({ path: e.path || '/', message: describe(e) });
      if (out.length >= max) break;
    }
    return out;
  }
  /** The first problem as "`/path` must …", or undefined when valid. */
  explain(value: unknown): string | undefined {
    if (this.is(value)) return undefined;
    const p = this.problems(value, 1)[0];
    return p ? `${p.path} ${p.message}` : 'is invalid';
  }
}
