import { type Static, Type } from '@sinclair/typebox';
import { MAX_AGENT_STATUS_COUNT, MAX_BATCH_RESULTS, MAX_UP_SAMPLES, WIRE_SCHEMA_VERSION } from '../spec.js';
import { ClockRef, DateTime, Id, Text } from './common.js';

const StatusCount = (description: string) => Type.Integer({ minimum: 0, maximum: MAX_AGENT_STATUS_COUNT, description });

/**
 * The agent's outbox as it stood when it sent the batch (docs/protocol.md §1.1 "Agent status"),
 * for the dashboard's agents page and the per-agent gauges. Counts leave out the batch itself:
 * they are what stays queued once the batch is acknowledged.
 */
export const AgentStatus = Type.Object(
  {
    queued: StatusCount('Results still waiting in the outbox besides the ones in this batch.'),
    oldestQueued: Type.Optional(
      Type.Object(
        {
          startedAt: DateTime,
          clock: ClockRef,
        },
        {
          additionalProperties: false,
          description:
            'The oldest of those waiting results: its startedAt and clock, copied from the result, so the ' +
            'collector re-bases it like a result. Absent when none is waiting.',
        },
      ),
    ),
    deadLetters: StatusCount('Results the collector refused that the agent keeps as dead letters.'),
    dropped: StatusCount(
      'Results the agent dropped unsent since its outbox was made (disk bound or memory hold full).',
    ),
  },
  { additionalProperties: false },
);
export type AgentStatus = Static<typeof AgentStatus>;

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
    agentStatus: Type.Optional(AgentStatus),
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
