import { FormatRegistry, type TLiteral, type TSchema, type TUnion, Type } from '@sinclair/typebox';
import { MAX_ID_LENGTH, MAX_TEXT_LENGTH } from '../spec.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** RFC 3339 date-time with an explicit offset (Z or ±hh:mm). */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

if (!FormatRegistry.Has('uuid-v7')) FormatRegistry.Set('uuid-v7', (v) => UUID_V7.test(v));
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (v) => DATE_TIME.test(v) && !Number.isNaN(Date.parse(v)));
}

/** A string-literal union that validates with a readable message ("must be one of …"). */
export function StringEnum<const T extends readonly string[]>(values: T, options: { description?: string } = {}) {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  ) as TUnion<TLiteral<T[number]>[]>;
}

export const Uuid7 = Type.String({ format: 'uuid-v7', description: 'UUIDv7, lower-case hex.' });
export const DateTime = Type.String({ format: 'date-time', maxLength: 40, description: 'RFC 3339 time with offset.' });
export const Text = (description: string) => Type.String({ maxLength: MAX_TEXT_LENGTH, description });
export const Id = (description: string) =>
  Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH, pattern: '^[A-Za-z0-9._:@-]+$', description });
export const NonNeg = (description: string) => Type.Number({ minimum: 0, description });
export const NonNegInt = (description: string) => Type.Integer({ minimum: 0, description });
export const Ms = (description: string) => Type.Number({ minimum: 0, maximum: 86_400_000, description });
export const Bps = (description: string) => Type.Number({ minimum: 0, maximum: 1e12, description });

export function Strict<T extends TSchema>(schema: T): T {
  return { ...schema, additionalProperties: false };
}

/** Wall clock position of a Linux boot, so the collector can re-base times (DESIGN.md §3 Time). */
export const ClockRef = Type.Object(
  {
    bootId: Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'Linux boot_id, or a random id per process start elsewhere.',
    }),
    uptimeMs: Type.Number({ minimum: 0, maximum: 1e12, description: 'Milliseconds since that boot (monotonic).' }),
  },
  { additionalProperties: false },
);
