/**
 * Admission control for ingest under a reconnect storm (issue 11): which requests the collector
 * processes now, and when each refused agent should come back.
 *
 * Two gates, checked per arriving request:
 * - concurrency: at most `maxInFlight` ingest requests between arrival and answer (memory stays
 *   bounded by maxInFlight × the 1 MiB body limit);
 * - saturation: when the event loop was busier than `maxEventLoopUtilization` over the last window
 *   and ingest requests kept arriving (≥ SHED_MIN_ARRIVALS), ingest may use only half of the
 *   loop's time (SATURATED_INGEST_SHARE, measured as the handlers' own time). Under a storm the
 *   loop is the bottleneck and every further agent waits unseen in the kernel's accept queue;
 *   the other half of the loop answers that queue with cheap 429s (a 429 costs a few % of an
 *   ingest), so every agent hears back within seconds instead of waiting there for minutes.
 *
 * Refused agents get a Retry-After from a schedule rather than a blind random draw: slots paced at
 * SCHEDULE_PACE_SHARE of the capacity (1 ÷ the mean handler time of an ingest request), starting
 * `retryAfterMinS` from now. Agents come back about as fast as they can be served, few are
 * refused twice, and the collector does not idle while agents sleep. Past `retryAfterMaxS` the
 * schedule is full and the rest draw uniformly from the whole [min, max] range.
 *
 * Pure: the clock (ms, monotonic), loop utilisation, handler times and randomness come from the caller.
 */

/** Ingest requests per window below which saturation never sheds (a long report query is not a storm). */
export const SHED_MIN_ARRIVALS = 8;
/** Share of the loop's time ingest handlers may use while the loop is saturated. */
export const SATURATED_INGEST_SHARE = 0.5;
/** Share of the capacity at which the Retry-After schedule brings agents back. */
export const SCHEDULE_PACE_SHARE = 0.75;
/** Weight of each new handler time in the moving average of the cost of one ingest request. */
const COST_EWMA_WEIGHT = 0.1;

export interface AdmissionOptions {
  maxInFlight: number;
  retryAfterMinS: number;
  retryAfterMaxS: number;
  /** 0–1; 1 disables the saturation gate. */
  maxEventLoopUtilization: number;
  /** Random source in [0, 1). */
  random: () => number;
}

export type AdmissionDecision =
  | { admit: true }
  | { admit: false; reason: 'in-flight' | 'saturated'; retryAfterS: number };

export interface AdmissionState {
  inFlight: number;
  /** Requests refused so far. */
  shed: number;
  /** Of which past maxInFlight, and by the saturation gate. */
  shedInFlight: number;
  shedSaturated: number;
  /** Whether the last window was saturated. */
  saturated: boolean;
  /** Mean handler time of one ingest request, ms (moving average); 0 until one was served. */
  costMs: number;
  /** Ingest requests per second the loop could serve doing nothing else (1000 ÷ costMs); 0 until measured. */
  capacityPerS: number;
}

export class IngestAdmission {
  readonly #o: AdmissionOptions;
  #inFlight = 0;
  #shedInFlight = 0;
  #shedSaturated = 0;
  #saturated = false;
  #costMs = 0;
  #arrivals = 0;
  #windowStartMs: number | undefined;
  /** Handler time spent on ingest in this window, ms. */
  #ingestMs = 0;
  #nextSlotMs = 0;

  constructor(opts: AdmissionOptions) {
    if (opts.retryAfterMinS > opts.retryAfterMaxS)
      throw new RangeError(`retryAfterMinS (${opts.retryAfterMinS}) is above retryAfterMaxS (${opts.retryAfterMaxS})`);
    this.#o = opts;
  }

  /** A request arrives at nowMs: admit it (then call complete() once it is answered) or refuse it. */
  arrive(nowMs: number): AdmissionDecision {
    this.#windowStartMs ??= nowMs;
    this.#arrivals++;
    let reason: 'in-flight' | 'saturated' | undefined;
    if (this.#inFlight >= this.#o.maxInFlight) reason = 'in-flight';
    else if (this.#saturated && this.#ingestMs > SATURATED_INGEST_SHARE * (nowMs - this.#windowStartMs))
      reason = 'saturated';
    if (reason) {
      if (reason === 'in-flight') this.#shedInFlight++;
      else this.#shedSaturated++;
      return { admit: false, reason, retryAfterS: this.#retryAfterS(nowMs) };
    }
    this.#inFlight++;
    return { admit: true };
  }

  /** The handler of an admitted request took `handlerMs` of the loop's time (0 when unknown). */
  served(handlerMs: number): void {
    if (!(handlerMs > 0)) return;
    this.#ingestMs += handlerMs;
    this.#costMs =
      this.#costMs === 0 ? handlerMs : (1 - COST_EWMA_WEIGHT) * this.#costMs + COST_EWMA_WEIGHT * handlerMs;
  }

  /** An admitted request was answered, or its client went away. */
  complete(): void {
    if (this.#inFlight > 0) this.#inFlight--;
  }

  /** End of a window at nowMs; `utilization` is the event loop's over it (0–1). */
  window(nowMs: number, utilization: number): void {
    this.#saturated = utilization > this.#o.maxEventLoopUtilization && this.#arrivals >= SHED_MIN_ARRIVALS;
    this.#windowStartMs = nowMs;
    this.#arrivals = 0;
    this.#ingestMs = 0;
  }

  get state(): AdmissionState {
    return {
      inFlight: this.#inFlight,
      shed: this.#shedInFlight + this.#shedSaturated,
      shedInFlight: this.#shedInFlight,
      shedSaturated: this.#shedSaturated,
      saturated: this.#saturated,
      costMs: this.#costMs,
      capacityPerS: this.#costMs > 0 ? 1000 / this.#costMs : 0,
    };
  }

  /** The next free slot in the return schedule, as whole seconds from now, within [min, max]. */
  #retryAfterS(nowMs: number): number {
    const { retryAfterMinS: min, retryAfterMaxS: max, maxInFlight } = this.#o;
    // Until one request was served, assume maxInFlight requests a second.
    const capacity = this.state.capacityPerS || maxInFlight;
    const slot = Math.max(this.#nextSlotMs, nowMs + min * 1000);
    if (slot - nowMs > max * 1000) {
      // The schedule is full up to max: spread the rest over the whole range.
      return min + Math.floor(this.#o.random() * (max - min + 1));
    }
    this.#nextSlotMs = slot + 1000 / (SCHEDULE_PACE_SHARE * capacity);
    return Math.min(max, Math.max(min, Math.ceil((slot - nowMs) / 1000)));
  }
}
