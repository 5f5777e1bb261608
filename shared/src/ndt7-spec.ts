/**
 * Every ndt7 protocol number, in one place (ndt-server's `ndt7/spec/spec.go` pattern).
 * Source: m-lab/ndt-server spec/ndt7-protocol.md v0.11.0 [ND7], ndt7/spec/spec.go and
 * ndt7/download/sender/sender.go [ND7S], m-lab/locate USAGE.md [LOC] — see
 * methodology-sources.md §3. docs/ndt7.md and docs/protocol.md §4 are the normative text.
 */

/** Path of the download subtest [ND7]. */
export const NDT7_DOWNLOAD_PATH = '/ndt/v7/download';
/** Path of the upload subtest [ND7]. */
export const NDT7_UPLOAD_PATH = '/ndt/v7/upload';
/** WebSocket subprotocol every ndt7 upgrade MUST carry; the server refuses the upgrade without it [ND7]. */
export const NDT7_SUBPROTOCOL = 'net.measurementlab.ndt.v7';

/** Smallest binary message a party should send, bytes (2^10) [ND7S MinMessageSize]. */
export const NDT7_MIN_MESSAGE_BYTES = 1 << 10;
/** First binary message size, bytes (2^13) [ND7S InitialMessageSize]. */
export const NDT7_INITIAL_MESSAGE_BYTES = 1 << 13;
/** The sender stops doubling its message size here, bytes (2^20) [ND7S MaxScaledMessageSize]. */
export const NDT7_MAX_SCALED_MESSAGE_BYTES = 1 << 20;
/**
 * Largest message either party accepts, bytes (2^24) [ND7S MaxMessageSize]. A larger message
 * makes the receiver close with 1009 (message too big).
 */
export const NDT7_MAX_MESSAGE_BYTES = 1 << 24;
/** The message size doubles while it is at most 1/this of the bytes sent so far [ND7S ScalingFraction]. */
export const NDT7_SCALING_FRACTION = 16;

/** Default length of a subtest, counted from the end of the WebSocket handshake, ms [ND7S DefaultRuntime]. */
export const NDT7_DEFAULT_DURATION_MS = 10_000;
/** Hard limit of a subtest, ms: past it the connection is dropped [ND7S MaxRuntime]. */
export const NDT7_MAX_DURATION_MS = 15_000;
/** Shortest subtest an operator may configure, ms (tests use it; a real line needs the default). */
export const NDT7_MIN_DURATION_MS = 1_000;
/** Time limit of the WebSocket handshake, ms (the spec asks for 5–10 s). */
export const NDT7_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Mean interval between the server's measurement messages, ms (Poisson sampling) [ND7]. */
export const NDT7_MEASUREMENT_MEAN_MS = 250;
/** Shortest interval between measurement messages, ms (clamp of the Poisson draw) [ND7]. */
export const NDT7_MEASUREMENT_MIN_MS = 25;
/** Longest interval between measurement messages, ms (clamp of the Poisson draw) [ND7]. */
export const NDT7_MEASUREMENT_MAX_MS = 625;
/** Interval of the client's own progress measurements, ms (ndt7-js reports every 250 ms). */
export const NDT7_CLIENT_MEASUREMENT_MS = 250;
/** Largest text (JSON measurement) message the server reads from a client, bytes. */
export const NDT7_MAX_TEXT_MESSAGE_BYTES = 64 * 1024;

/** Longest query string the server accepts and stores as metadata, bytes [ND7]. */
export const NDT7_MAX_QUERY_BYTES = 4096;
/** Query keys with this prefix are reserved for the server and ignored [ND7]. */
export const NDT7_RESERVED_QUERY_PREFIX = 'server_';
/** The only value `early_exit` may take, in MB [ND7]. */
export const NDT7_EARLY_EXIT_MB = 250;
/** With `early_exit=250` the download ends once this many bytes are acknowledged (250 × 10^6) [ND7]. */
export const NDT7_EARLY_EXIT_BYTES = NDT7_EARLY_EXIT_MB * 1_000_000;

/** Default number of ndt7 subtests the collector runs at once (each is one TCP stream). */
export const NDT7_DEFAULT_MAX_CONCURRENT = 4;
/** Seconds a refused client is asked to wait (Retry-After) when every slot is taken. */
export const NDT7_BUSY_RETRY_AFTER_S = 30;
/** Interval at which the server reads the kernel's TCP_INFO (via `ss`) for running tests, ms. */
export const NDT7_TCPINFO_INTERVAL_MS = 500;

/** M-Lab's locate v2 endpoint for ndt7 servers [LOC]. Used only when the config accepts M-Lab's data policy. */
export const MLAB_LOCATE_URL = 'https://locate.measurementlab.net/v2/nearest/ndt/ndt7';
/** Means of the back-off waits after locate answers 204 (no capacity), ms: 60 → 960 s [ND7]. */
export const MLAB_LOCATE_BACKOFF_MS: readonly number[] = [60_000, 120_000, 240_000, 480_000, 960_000];
/** Standard deviation of each back-off wait, as a share of its mean (5 %) [ND7]. */
export const MLAB_LOCATE_BACKOFF_JITTER = 0.05;
/** Mean interval between unattended ndt7 tests against M-Lab, ms (6 h, exponential) [ND7]. */
export const MLAB_SCHEDULE_MEAN_MS = 21_600_000;
/** Shortest interval between unattended ndt7 tests against M-Lab, ms (2 160 s = 36 min) [ND7]. */
export const MLAB_SCHEDULE_MIN_MS = 2_160_000;
/** Longest interval between unattended ndt7 tests against M-Lab, ms (54 000 s = 15 h) [ND7]. */
export const MLAB_SCHEDULE_MAX_MS = 54_000_000;

/**
 * Recommended cadence of ndt7 against the province's own collector: every 6 h (4 a day), at a
 * random offset, never overlapping other tests. ndt7 is a single-stream cross-reference, not the
 * headline, so a few runs a day suffice and keep data use small (≈ 2 × rate × 10 s each).
 */
export const NDT7_RECOMMENDED_EVERY_MS = 6 * 3_600_000;
