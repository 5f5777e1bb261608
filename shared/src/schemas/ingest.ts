import { type Static, Type } from '@sinclair/typebox';
import { MAX_BATCH_RESULTS, MAX_UP_SAMPLES, WIRE_SCHEMA_VERSION } from '../spec.js';
import { ClockRef, DateTime, Id, Text } from './common.js';

/**
 * The ingest envelope. Results are checked one by one after the envelope passes, so one bad
 * result never sinks its batch; here each is only required to be an object.
 */
export const IngestEnvelope = Type.Object(
  {
    schema: Type.Literal(WIRE_SCHEMA_VERSION, { description: 'Wire contract version.' }),
    sentAt: DateTime,
    clock: ClockRef,
    results: Type.Array(Type.Object({}, { additionalProperties: true }), {
      maxItems: MAX_BATCH_RESULTS,
      description: `Results, at most ${MAX_BATCH_RESULTS}.`,
    }),
  },
  { additionalProperties: false },
);
export type IngestEnvelope = Static<typeof IngestEnvelope>;

export const Rejection = Type.Object({
  id: Type.Union([Type.String(), Type.Null()], { description: 'The result id, or null when it had none.' }),
  code: Id('Stable error code.'),
  message: Text('What is wrong, naming the field.'),
});
export type Rejection = Static<typeof Rejection>;

export const IngestResponse = Type.Object({
  accepted: Type.Array(Type.String()),
  duplicate: Type.Array(Type.String()),
  rejected: Type.Array(Rejection),
});
export type IngestResponse = Static<typeof IngestResponse>;

/** Body of every error answer from the collector. */
export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    hint: Type.Optional(Type.String()),
  }),
});
export type ErrorBody = Static<typeof ErrorBody>;

/** `POST /speed/up` answer: what the server received, timed by the server. */
export const SpeedUpResponse = Type.Object({
  bytes: Type.Integer({ minimum: 0, description: 'Body bytes the server received.' }),
  durationMs: Type.Number({ minimum: 0, description: 'From first to last body byte, server clock.' }),
  firstByteAt: Type.Number({ description: 'Server epoch ms of the first body byte.' }),
  lastByteAt: Type.Number({ description: 'Server epoch ms of the last body byte.' }),
  samples: Type.Optional(
    Type.Array(Type.Tuple([Type.Number({ minimum: 0 }), Type.Integer({ minimum: 0 })]), {
      maxItems: MAX_UP_SAMPLES + 1,
      description:
        'Cumulative body bytes received, as [ms since firstByteAt, bytes], about every 100 ms; the last is [durationMs, bytes].',
    }),
  ),
});
export type SpeedUpResponse = Static<typeof SpeedUpResponse>;
