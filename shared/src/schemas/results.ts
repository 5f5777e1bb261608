import { type Static, Type } from '@sinclair/typebox';
import { IPV6_MAX_TARGETS } from '../spec.js';
import { Bps, ClockRef, DateTime, Id, Ms, NonNeg, NonNegInt, StringEnum, Text, Uuid7 } from './common.js';

export const RESULT_KINDS = ['speed', 'latency', 'udp', 'ipv6', 'ndt7'] as const;
export type ResultKind = (typeof RESULT_KINDS)[number];
export const ACCESS_TYPES = ['fixed', 'mobile'] as const;
export type AccessType = (typeof ACCESS_TYPES)[number];

const obj = Type.Object;
const opt = Type.Optional;
const strict = { additionalProperties: false } as const;

/** Summary of round-trip samples (DESIGN.md §3 Latency). */
export const LatencyStats = obj(
  {
    samples: NonNegInt('Samples kept (the first, cold one is discarded).'),
    minMs: Ms('Smallest RTT.'),
    medianMs: Ms('Median RTT: the headline.'),
    meanMs: Ms('Mean RTT.'),
    p90Ms: Ms('90th percentile RTT.'),
    jitterMs: Ms('Mean absolute difference of consecutive samples (Cloudflare).'),
    stdDevMs: Ms('Population standard deviation ("ping variance" in i-Speed).'),
  },
  strict,
);
export type LatencyStats = Static<typeof LatencyStats>;

export const LoadedLatency = obj(
  {
    samples: NonNegInt('Probes answered while the direction ran.'),
    medianMs: Ms('Median RTT under load.'),
    iqmMs: Ms('Interquartile mean RTT under load (Ookla).'),
    increaseMs: Type.Number({
      minimum: -86_400_000,
      maximum: 86_400_000,
      description: 'Median under load minus idle median.',
    }),
  },
  strict,
);
export type LoadedLatency = Static<typeof LoadedLatency>;

export const STOP_REASONS = ['window', 'cap-time', 'cap-bytes', 'stable', 'error', 'aborted'] as const;

/** One direction of a speed test. */
export const Direction = obj(
  {
    bps: Bps('Headline: application goodput after warm-up, bits per second.'),
    bytes: NonNegInt('Application bytes moved in this direction, warm-up included.'),
    durationMs: Ms('Wall time of this direction.'),
    warmupMs: Ms('Warm-up discarded from the start.'),
    streams: Type.Integer({ minimum: 1, maximum: 64, description: 'Parallel connections used.' }),
    stopReason: StringEnum(STOP_REASONS, { description: 'Why the direction ended.' }),
    trimmedMeanBps: opt(Bps('Ookla-legacy trimmed mean: 20 slices, fastest 10 % and slowest 30 % dropped.')),
    p90Bps: opt(Bps('90th percentile of 500 ms rates.')),
    serverMeasured: opt(Type.Boolean({ description: 'True when the rate is what the server received (uploads).' })),
    loaded: opt(LoadedLatency),
  },
  strict,
);

export const SpeedBody = obj(
  {
    profile: StringEnum(['fixed', 'metered'] as const, { description: 'Data profile the test ran under.' }),
    download: opt(Direction),
    upload: opt(Direction),
    idle: opt(LatencyStats),
    rpm: opt(NonNeg('Round trips per minute under load: 60000 / median RTT of all loaded probes (both directions).')),
    familyPreference: opt(
      StringEnum(['auto', '4', '6'] as const, {
        description: 'IP family asked for: auto (system preference), 4 or 6; network.family is the one used.',
      }),
    ),
    candidates: opt(
      Type.Array(
        obj(
          {
            id: Id('Configured server id.'),
            medianMs: opt(Ms('Median idle RTT during selection.')),
            code: opt(Id('Why the server was not usable, e.g. ECONNREFUSED, TIMEOUT, HTTP_503.')),
          },
          strict,
        ),
        { maxItems: 32, description: 'Servers tried during selection; the lowest median idle RTT won.' },
      ),
    ),
    cpu: opt(
      obj(
        {
          eventLoopPct: Type.Number({
            minimum: 0,
            maximum: 100,
            description: "Share of the test the agent's event loop was busy, percent.",
          }),
          processPct: NonNeg('CPU time of the agent process over wall time, percent (can pass 100 on several cores).'),
          systemPct: Type.Number({ minimum: 0, maximum: 100, description: 'Busy share of all CPUs, percent.' }),
        },
        strict,
      ),
    ),
  },
  strict,
);

export const LatencyBody = obj(
  {
    method: StringEnum(['http'] as const, { description: 'How RTTs were measured.' }),
    stats: LatencyStats,
  },
  strict,
);

export const UdpBody = obj(
  {
    sent: NonNegInt('Packets sent.'),
    received: NonNegInt('Echoes received in time.'),
    lossPct: Type.Number({ minimum: 0, maximum: 100, description: 'Lost share, percent.' }),
    rttMedianMs: opt(Ms('Median RTT of answered packets.')),
    jitterMs: opt(Ms('Mean |Δ| of consecutive RTTs.')),
    rttMinMs: opt(Ms('Smallest RTT of answered packets.')),
    rttP90Ms: opt(Ms('90th percentile RTT of answered packets.')),
    packetBytes: opt(Type.Integer({ minimum: 1, maximum: 65_535, description: 'UDP payload size of each packet.' })),
    intervalMs: opt(Ms('Time between packet sends.')),
    duplicates: opt(NonNegInt('Echoes received more than once (not counted as received twice).')),
  },
  strict,
);

export const CHECK_STATUSES = ['pass', 'slow', 'fail', 'skip'] as const;

export const Ipv6Check = obj(
  {
    check: Id('Check name, e.g. dns-aaaa, tcp-v6, http-v6, happy-eyeballs, pmtu-v6.'),
    status: StringEnum(CHECK_STATUSES),
    code: opt(Id('Stable failure code, e.g. NXDOMAIN, NODATA, ENETUNREACH, TIMEOUT, TLS, HTTP_503.')),
    ms: opt(Ms('Time the check took.')),
    detail: opt(Text('Short human detail (family chosen, HTTP status).')),
    family: opt(
      Type.Union([Type.Literal(4), Type.Literal(6)], {
        description: 'IP family the check used; for happy-eyeballs, the family the dual-stack connect chose.',
      }),
    ),
    httpStatus: opt(Type.Integer({ minimum: 100, maximum: 599, description: 'HTTP status answered, where one was.' })),
  },
  strict,
);

export const Ipv6Body = obj(
  {
    host: obj(
      {
        globalAddress: Type.Boolean({ description: 'The host has a global IPv6 address.' }),
        defaultRoute: Type.Boolean({ description: 'The host has an IPv6 default route.' }),
      },
      strict,
    ),
    targets: Type.Array(
      obj(
        {
          name: Id('Configured target name (bounded label).'),
          url: opt(Type.String({ maxLength: 512, description: 'URL checked (for people; never a metric label).' })),
          checks: Type.Array(Ipv6Check, { maxItems: 32 }),
        },
        strict,
      ),
      // The configured targets plus the collector itself.
      { maxItems: IPV6_MAX_TARGETS + 1 },
    ),
  },
  strict,
);

export const Ndt7Direction = obj(
  {
    bps: Bps('Rate: client AppInfo for download, server measurement for upload.'),
    bytes: NonNegInt('Application bytes.'),
    durationMs: Ms('Elapsed time of the subtest.'),
    minRttMs: opt(Ms('Server TCPInfo MinRTT, where given.')),
    retransPct: opt(
      Type.Number({ minimum: 0, maximum: 100, description: 'Retransmitted share of bytes, where given.' }),
    ),
    serverBps: opt(Bps("The server's own figure: its TCPInfo (BytesAcked down, BytesReceived up) or AppInfo.")),
    clientBps: opt(Bps("The client's own figure: bytes it received (down) or handed to the socket (up).")),
  },
  strict,
);

export const Ndt7Body = obj(
  {
    download: opt(Ndt7Direction),
    upload: opt(Ndt7Direction),
    serverUuid: opt(Text('ConnectionInfo.UUID from the server.')),
    mlab: opt(Type.Boolean({ description: 'True when an M-Lab server was used.' })),
    machine: opt(Text('M-Lab machine (or server host) that ran the test.')),
  },
  strict,
);

export const ResultError = obj(
  {
    code: Id('Stable error code.'),
    phase: Id('Step that failed, e.g. connect, download, upload.'),
    message: Text('Human message.'),
  },
  strict,
);

export const Network = obj(
  {
    access: StringEnum(ACCESS_TYPES, { description: 'Access type of the line.' }),
    family: Type.Union([Type.Literal(4), Type.Literal(6)], { description: 'IP family the test used.' }),
    isp: opt(Text('ISP name as configured.')),
    iface: opt(Id('Network interface used.')),
    linkMbps: opt(NonNeg('NIC link speed, Mbit/s, where the OS tells.')),
  },
  strict,
);

export const Server = obj(
  {
    id: Id('Configured server id.'),
    url: Type.String({ maxLength: 512, description: 'Server base URL.' }),
  },
  strict,
);

/** Fields every result carries, whatever its kind. */
export const ResultBase = {
  id: Uuid7,
  startedAt: DateTime,
  clock: ClockRef,
  durationMs: Ms('Wall duration of the whole test.'),
  status: StringEnum(['ok', 'partial', 'error'] as const),
  error: opt(ResultError),
  network: Network,
  server: opt(Server),
  bytesUsed: NonNegInt('Bytes this test moved over the line, both directions.'),
  agentLimited: opt(Type.Boolean({ description: 'True when the agent CPU or NIC, not the line, set the figure.' })),
  agentVersion: Type.String({ minLength: 1, maxLength: 32, description: 'Agent software version.' }),
};

function resultOf<
  K extends ResultKind,
  B extends typeof SpeedBody | typeof LatencyBody | typeof UdpBody | typeof Ipv6Body | typeof Ndt7Body,
>(kind: K, body: B) {
  return obj({ ...ResultBase, kind: Type.Literal(kind), [kind]: opt(body) } as const, strict);
}

/** One schema per kind; the collector checks `kind` first, then the matching schema. */
export const ResultSchemas = {
  speed: resultOf('speed', SpeedBody),
  latency: resultOf('latency', LatencyBody),
  udp: resultOf('udp', UdpBody),
  ipv6: resultOf('ipv6', Ipv6Body),
  ndt7: resultOf('ndt7', Ndt7Body),
} as const;

export type SpeedResult = Static<typeof ResultSchemas.speed> & { speed?: Static<typeof SpeedBody> };
export type LatencyResult = Static<typeof ResultSchemas.latency> & { latency?: Static<typeof LatencyBody> };
export type UdpResult = Static<typeof ResultSchemas.udp> & { udp?: Static<typeof UdpBody> };
export type Ipv6Result = Static<typeof ResultSchemas.ipv6> & { ipv6?: Static<typeof Ipv6Body> };
export type Ndt7Result = Static<typeof ResultSchemas.ndt7> & { ndt7?: Static<typeof Ndt7Body> };
export type Result = SpeedResult | LatencyResult | UdpResult | Ipv6Result | Ndt7Result;

export type SpeedBody = Static<typeof SpeedBody>;
export type LatencyBody = Static<typeof LatencyBody>;
export type UdpBody = Static<typeof UdpBody>;
export type Ipv6Body = Static<typeof Ipv6Body>;
export type Ndt7Body = Static<typeof Ndt7Body>;
export type Direction = Static<typeof Direction>;
export type Network = Static<typeof Network>;
