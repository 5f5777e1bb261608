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

/**
 * Default largest `bytes` a server serves in one `GET /speed/down` (1 GiB); `speed.maxDownBytes`
 * in the collector config changes it, never below DOWN_REQUEST_MAX_BYTES.
 */
export const MAX_SPEED_DOWN_BYTES = 1024 * 1024 * 1024;

/**
 * Default largest body a server reads in one `POST /speed/up` before answering 413 (1 GiB);
 * `speed.maxUpBytes` changes it, never below UP_REQUEST_MAX_BYTES.
 */
export const MAX_SPEED_UP_BYTES = 1024 * 1024 * 1024;

/**
 * Size of the pre-generated incompressible buffer the speed server cycles through, in bytes.
 * 4 MiB of random bytes: large enough that no middlebox dictionary compresses it.
 */
export const SPEED_PAYLOAD_BYTES = 4 * 1024 * 1024;

/** Default most speed-test transfers (down + up requests) one server runs at once; past it, 429. */
export const SPEED_MAX_CONCURRENT_TRANSFERS = 512;

/** Download streams, i-Speed style (SamKnows recommends 8). */
export const DOWNLOAD_STREAMS = 8;
/** Upload streams (LibreSpeed uses 3; we use 4). */
export const UPLOAD_STREAMS = 4;
/** Delay between the start of successive streams, ms. */
export const STREAM_STAGGER_MS = 100;
/** Interval at which transferred bytes are sampled, ms (client for downloads, server for uploads). */
export const SAMPLE_INTERVAL_MS = 100;
/** Measurement window per direction, ms (SamKnows, ndt7). */
export const TEST_WINDOW_MS = 10_000;
/** Hard cap on one direction's duration, ms, including the wait for the server's upload answers. */
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

/**
 * Largest body a hatang client asks for in one `GET /speed/down` (25 MB); a stream that finishes
 * one asks again. Servers MUST serve at least this much per request.
 */
export const DOWN_REQUEST_MAX_BYTES = 25_000_000;
/** Smallest body a hatang client asks for in one `GET /speed/down`, unless the byte cap leaves less. */
export const DOWN_REQUEST_MIN_BYTES = 256 * 1024;
/**
 * Largest body a hatang client sends in one `POST /speed/up` (64 MiB); a stream that reaches it
 * starts another request. Servers MUST accept at least this much per request.
 */
export const UP_REQUEST_MAX_BYTES = 64 * 1024 * 1024;
/**
 * Most `[ms, bytes]` samples a `POST /speed/up` answer carries. Past it the server drops every
 * other sample and doubles its sampling interval, so a long upload still fits.
 */
export const MAX_UP_SAMPLES = 512;

/** Idle latency: requests on a warm connection; the first is discarded. */
export const IDLE_LATENCY_REQUESTS = 20;
/** Server selection: pings per candidate server (the first, cold one is discarded). */
export const SELECT_PINGS = 5;
/** Time limit of one HTTP ping, ms; a server that does not answer in time loses the selection. */
export const PING_TIMEOUT_MS = 5_000;
/** Loaded latency: a separate connection pings every 200–400 ms (uniformly random) during a direction. */
export const LOADED_LATENCY_MIN_INTERVAL_MS = 200;
export const LOADED_LATENCY_MAX_INTERVAL_MS = 400;

/** Per-direction byte cap of the fixed profile (ndt7 early_exit = 250 MB). */
export const FIXED_PROFILE_CAP_BYTES = 250_000_000;
/** Per-direction byte cap of the metered profile (30 MB). */
export const METERED_PROFILE_CAP_BYTES = 30_000_000;
/** Metered stop rule (RPM draft): not before this much of a direction has run, ms… */
export const STABLE_MIN_MS = 3_000;
/** …the last this many 500 ms rates… */
export const STABLE_SLICES = 4;
/** …have a standard deviation at most this share of their mean (5 %). */
export const STABLE_TOLERANCE = 0.05;

/** Agent-limited: the agent's event loop was busy at least this share of the test (90 %)… */
export const AGENT_LIMITED_CPU_SHARE = 0.9;
/** …or the rate reached this share of the NIC's link speed (90 %). */
export const AGENT_LIMITED_LINK_SHARE = 0.9;

/** UDP echo (docs/protocol.md §UDP echo): first four bytes of every packet, "HTE1". */
export const UDP_ECHO_MAGIC = 0x48544531;
/** Fixed header of an echo packet, bytes; requests are at least this long. */
export const UDP_ECHO_HEADER_BYTES = 64;
/** Largest echo packet accepted, bytes (below any path MTU); replies are never larger than requests. */
export const UDP_ECHO_MAX_BYTES = 1200;
/** Default train: packets sent per test (MBA sends 2 000 an hour)… */
export const UDP_DEFAULT_PACKETS = 200;
/** …spread evenly over this many ms… */
export const UDP_DEFAULT_DURATION_MS = 10_000;
/** …then wait this long for late echoes, ms. */
export const UDP_WAIT_MS = 3_000;
/** Default packet size of a train, bytes (the header alone). */
export const UDP_DEFAULT_PACKET_BYTES = UDP_ECHO_HEADER_BYTES;
/** Most packets one train may send (agent config limit). */
export const UDP_MAX_PACKETS = 2_000;
/** Default echo rate limit per key (agent token or echo id), packets per second, sustained… */
export const UDP_KEY_RATE_PPS = 50;
/** …with this burst. */
export const UDP_KEY_BURST = 100;
/** Default echo rate limit per source IP address, packets per second (burst twice that). */
export const UDP_IP_RATE_PPS = 200;
/** Default echo rate limit of the whole server, packets per second (burst twice that). */
export const UDP_GLOBAL_RATE_PPS = 20_000;
/** How long the collector caches an agent's echo key (and revocation state), ms. */
export const UDP_KEY_CACHE_MS = 60_000;

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

/** IPv6 checks: a check that succeeds but takes longer than this is "slow", ms (test-ipv6.com). */
export const IPV6_SLOW_MS = 5_000;
/** IPv6 checks: time limit of one check, ms (test-ipv6.com's 15 s timeout). */
export const IPV6_CHECK_TIMEOUT_MS = 15_000;
/** IPv6 path-MTU check: size of the request sent over IPv6, bytes (test-ipv6.com's 1 600-byte probe). */
export const IPV6_PMTU_REQUEST_BYTES = 1_600;
/** IPv6 HTTP checks read at most this much of a response body, bytes; the rest is not downloaded. */
export const IPV6_HTTP_MAX_BODY_BYTES = 64 * 1024;
/** Happy Eyeballs: wait before racing the next address, ms (RFC 8305 §5 recommends 250 ms; Node's default). */
export const IPV6_HAPPY_EYEBALLS_ATTEMPT_MS = 250;
/** IPv6 targets checked at once by one agent (checks within a target run one after another). */
export const IPV6_TARGET_CONCURRENCY = 4;
/** Most IPv6 targets in one result (agent config and wire body). */
export const IPV6_MAX_TARGETS = 32;
/**
 * IPv6 weekly report: a commune "reaches a target over IPv6" (or "has IPv6") in a week when at
 * least this share of its checks that week succeeded. Hourly checks, so one bad hour never decides.
 */
export const IPV6_REACH_MIN_SHARE = 0.5;
/**
 * Ingest requests per agent per minute, on average, before 429 (token bucket). An agent sends a
 * batch after each test and drains its outbox in batches of up to 500 after an outage, so 60 a
 * minute is generous for one agent yet stops a runaway loop. Config: ingest.ratePerMinute.
 */
export const DEFAULT_INGEST_PER_MINUTE = 60;
/** Back-to-back ingest requests one agent may make (token-bucket size). Config: ingest.burst. */
export const DEFAULT_INGEST_BURST = 30;
/** Days raw results are kept by default (a little over a year, so last year's raw rows are there to compare). */
export const DEFAULT_RAW_RETENTION_DAYS = 400;

/** Deepest JSON nesting the collector parses in a request body (results nest about 5 deep). */
export const MAX_JSON_DEPTH = 32;

/** Most weeks a trend query may ask for (about five years). */
export const MAX_TREND_WEEKS = 260;
/** Most months a trend query may ask for (five years). */
export const MAX_TREND_MONTHS = 60;

/** Longest unit name, in characters (GSO names are under 40). */
export const MAX_UNIT_NAME_LENGTH = 200;

/** Largest units CSV the admin API accepts, in bytes. */
export const MAX_UNITS_CSV_BYTES = 2 * 1024 * 1024;

/** Most rows one raw-results CSV export returns; narrow the time range for more. */
export const MAX_EXPORT_ROWS = 1_000_000;

/**
 * Flags the collector stores with each result (bit mask, `results.flags`). docs/statistics.md.
 * - TIME_UNTRUSTED: the start could not be re-based from boot id and uptime; it is the agent's wall clock.
 * - AGENT_LIMITED: the agent said its CPU or NIC, not the line, set the figure.
 * - TIME_IMPLAUSIBLE: untrusted and impossible (before TIME_FLOOR_MS or after the receipt plus
 *   MAX_CLOCK_SKEW_MS): stored, but left out of statistics.
 * - CLOCK_SKEW: re-based, and the agent's wall clock was off by more than MAX_CLOCK_SKEW_MS.
 */
export const RESULT_FLAGS = {
  TIME_UNTRUSTED: 1,
  AGENT_LIMITED: 2,
  TIME_IMPLAUSIBLE: 4,
  CLOCK_SKEW: 8,
} as const;

/** Agent clock error tolerated before a result is flagged CLOCK_SKEW (or, untrusted, implausible), ms. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** No measurement by hatang can start before 2020-01-01T00:00:00Z; earlier wall times are a clock without RTC. */
export const TIME_FLOOR_MS = Date.UTC(2020, 0, 1);
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

/**
 * When the agent's disk is full (SQLite cannot write), results it measures are held in memory, at
 * most this many, written to the outbox as soon as there is room and pushed straight from memory
 * meanwhile; past it the oldest held result is dropped and counted (docs/agent.md "Outbox").
 */
export const OUTBOX_MEMORY_HOLD_MAX = 1000;

/**
 * Largest count an ingest envelope's `agentStatus` may carry (queued results, dead letters,
 * dropped results): far above what an outbox holds, small enough for any integer column.
 */
export const MAX_AGENT_STATUS_COUNT = 1_000_000_000;

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
/** Longest dashboard password accepted, characters: bounds the work one login request can cause. */
export const MAX_PASSWORD_LENGTH = 256;
/** Dashboard user names: letters, digits and . _ @ -, at most this many characters. */
export const MAX_USERNAME_LENGTH = 64;
/** Rows of recent tests shown (and exported) on a commune page. */
export const DASHBOARD_RECENT_TESTS = 50;

/**
 * Public test endpoints (HTTP speed test, ndt7): default most transfers/subtests at once from one
 * client address. 16 fits one agent's 8 download streams, a ping and loaded-latency probes, twice.
 */
export const PUBLIC_MAX_CONCURRENT_PER_IP = 16;

/** Public test endpoints: default most transfers/subtests at once from everyone. */
export const PUBLIC_MAX_CONCURRENT_TOTAL = 1024;

/**
 * Public test endpoints: default bytes one client address may move (down + up) per rolling hour,
 * 20 GB — about twenty full speed tests at 1 Gbit/s.
 */
export const PUBLIC_MAX_BYTES_PER_IP_PER_HOUR = 20_000_000_000;

/**
 * Public test endpoints: default longest one speed-test request may take, s. A client that stops
 * reading a download (or trickles an upload) is cut off at this time and its slot freed.
 */
export const PUBLIC_MAX_REQUEST_SECONDS = 120;
