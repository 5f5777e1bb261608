/**
 * Every protocol number of hatang, in one place (the ndt-server `spec.go` pattern).
 * docs/protocol.md is the normative text; each constant here names its source.
 */

/** Version of the wire contract; every ingest envelope carries it as `schema`. */
export const WIRE_SCHEMA_VERSION = 1;

/** Path prefix of the versioned collector API. */
export const API_PREFIX = '/api/v1';

/** Most results in one ingest batch (DESIGN.md §4). */
export const MAX_BATCH_RESULTS = 500;

/** Largest ingest request body in bytes, after gzip decoding (DESIGN.md §4: 1 MiB). */
export const MAX_INGEST_BODY_BYTES = 1024 * 1024;

/** Largest gzip-compressed ingest body accepted on the wire, in bytes. */
export const MAX_INGEST_COMPRESSED_BYTES = 1024 * 1024;

/** Longest free-text string (error messages, ISP names) in a result, in characters. */
export const MAX_TEXT_LENGTH = 512;

/** Longest identifier-like string (server id, interface name, codes), in characters. */
export const MAX_ID_LENGTH = 64;

/** Largest `bytes` a client may ask of `GET /speed/down` in one request (1 GiB). */
export const MAX_SPEED_DOWN_BYTES = 1024 * 1024 * 1024;

/** Largest body `POST /speed/up` reads before answering 413 (1 GiB). */
export const MAX_SPEED_UP_BYTES = 1024 * 1024 * 1024;

/**
 * Size of the pre-generated incompressible buffer the speed server cycles through, in bytes.
 * 4 MiB of random bytes: large enough that no middlebox dictionary compresses it.
 */
export const SPEED_PAYLOAD_BYTES = 4 * 1024 * 1024;

/** Download streams, i-Speed style (SamKnows recommends 8). */
export const DOWNLOAD_STREAMS = 8;
/** Upload streams (LibreSpeed uses 3; we use 4). */
export const UPLOAD_STREAMS = 4;
/** Delay between the start of successive streams, ms. */
export const STREAM_STAGGER_MS = 100;
/** Interval at which transferred bytes are sampled, ms. */
export const SAMPLE_INTERVAL_MS = 100;
/** Measurement window per direction, ms (SamKnows, ndt7). */
export const TEST_WINDOW_MS = 10_000;
/** Hard cap on one direction's duration, ms. */
export const TEST_HARD_CAP_MS = 15_000;
/** Longest warm-up discarded from a download, ms (LibreSpeed grace time). */
export const DOWNLOAD_WARMUP_MS = 1_500;
/** Longest warm-up discarded from an upload, ms (LibreSpeed grace time). */
export const UPLOAD_WARMUP_MS = 3_000;
/** Length of the slices whose rates decide that warm-up ended early, ms. */
export const WARMUP_SLICE_MS = 500;
/** Warm-up ends early once this many consecutive slice rates agree… */
export const WARMUP_AGREE_SLICES = 3;
/** …within this relative spread (10 %). */
export const WARMUP_AGREE_TOLERANCE = 0.1;

/** Idle latency: requests on a warm connection; the first is discarded. */
export const IDLE_LATENCY_REQUESTS = 20;

/** Per-direction byte cap of the fixed profile (ndt7 early_exit = 250 MB). */
export const FIXED_PROFILE_CAP_BYTES = 250_000_000;
/** Per-direction byte cap of the metered profile (30 MB). */
export const METERED_PROFILE_CAP_BYTES = 30_000_000;

/** Plan targets for download speed measured by i-Speed, Mbit/s (Son La plan 2023–2025). */
export const PLAN_TARGETS_MBPS: Readonly<Record<number, { mobile: number; fixed: number }>> = {
  2023: { mobile: 33, fixed: 88 },
  2024: { mobile: 36, fixed: 89 },
  2025: { mobile: 40, fixed: 90 },
};

/** Samples a unit needs in a month for its figure to count (Công văn 5691/BTTTT-CVT). */
export const MIN_MONTHLY_SAMPLES = 300;

/** Time zone of every week, month and hour of day hatang reports. */
export const REPORT_TIME_ZONE = 'Asia/Ho_Chi_Minh';
/** Offset of Asia/Ho_Chi_Minh from UTC in ms; Vietnam keeps no daylight saving time. */
export const REPORT_TZ_OFFSET_MS = 7 * 3_600_000;

/** Office hours, local time, [start, end) in hours. */
export const OFFICE_HOURS: readonly [number, number] = [8, 17];
/** Evening peak, local time, [start, end) in hours. */
export const EVENING_PEAK_HOURS: readonly [number, number] = [19, 23];

// ---------------------------------------------------------------------------------------------
// Agent daemon: schedule, outbox, uplink, budget, enrolment (docs/agent.md, docs/protocol.md §4–5)
// ---------------------------------------------------------------------------------------------

/** One scheduled test kind: a cron expression (agent's schedule.timezone) plus its limits. */
export interface TestScheduleDefault {
  /** Cron expression (5 fields, or 6 with seconds) for fixed lines. */
  cron: string;
  /** Cron expression used instead when speed.profile is `metered`; absent: same as `cron`. */
  meteredCron?: string;
  /** Each run moves by a uniform random amount in ±jitterMinutes. */
  jitterMinutes: number;
  /** A run longer than this is aborted and recorded as overrun, seconds. */
  timeoutSeconds: number;
}

/**
 * Built-in schedule per test kind (DESIGN.md §3 "Schedule"): latency, UDP and IPv6 hourly (at
 * different minutes so they do not queue behind each other), speed every 2 h ± 30 min on fixed
 * lines (≈360 a month, above the 300 samples/month of Công văn 5691/BTTTT-CVT) and every 4 h on
 * metered ones, ndt7 three times a day. A kind the agent's probe registry lacks is not scheduled.
 */
export const DEFAULT_TEST_SCHEDULE: Readonly<Record<string, TestScheduleDefault>> = {
  latency: { cron: '0 * * * *', jitterMinutes: 0, timeoutSeconds: 60 },
  udp: { cron: '20 * * * *', jitterMinutes: 0, timeoutSeconds: 90 },
  ipv6: { cron: '40 * * * *', jitterMinutes: 0, timeoutSeconds: 120 },
  speed: { cron: '0 */2 * * *', meteredCron: '0 */4 * * *', jitterMinutes: 30, timeoutSeconds: 180 },
  ndt7: { cron: '0 4,12,20 * * *', jitterMinutes: 30, timeoutSeconds: 120 },
};

/** The scheduler re-reads the wall clock at least this often, ms, so a clock step (NTP) is noticed. */
export const SCHEDULER_MAX_SLEEP_MS = 60_000;

/**
 * After an overrunning test is aborted, how long the scheduler waits for the probe to wind down
 * before it abandons it, records an error result and moves on, ms.
 */
export const OVERRUN_GRACE_MS = 15_000;

/** First backoff step after a failed push, ms; doubles per failure. */
export const UPLINK_MIN_BACKOFF_MS = 1_000;
/** Longest backoff between failed pushes, ms (15 min). */
export const UPLINK_MAX_BACKOFF_MS = 15 * 60_000;
/** Longest `Retry-After` the agent honours, ms (1 h); longer values are cut to this. */
export const UPLINK_MAX_RETRY_AFTER_MS = 3_600_000;

/** Characters of an enrolment code (Crockford base32, 5 bits each: 60 bits of entropy). */
export const ENROLL_CODE_CHARS = 12;
/** Default lifetime of an enrolment code, ms (7 days). */
export const ENROLL_CODE_DEFAULT_TTL_MS = 7 * 86_400_000;
/** Longest lifetime of an enrolment code, ms (90 days). */
export const ENROLL_CODE_MAX_TTL_MS = 90 * 86_400_000;

/** Version of the central agent config document (`GET /api/v1/agent/config`). */
export const CENTRAL_CONFIG_SCHEMA_VERSION = 1;
