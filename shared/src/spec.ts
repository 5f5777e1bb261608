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
