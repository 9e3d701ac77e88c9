/**
 * The call policy driver: one unary call as one or more attempts over a {@link Transport}, per gRFC A6
 * (https://github.com/grpc/proposal/blob/master/A6-client-retries.md) — retries with exponential backoff,
 * hedging, server pushback, retry throttling and transparent retries — plus attache's per-try timeout.
 * With grpc-js these live in its RetryingCall; with attache's own transport (h2/) they live here, above the
 * seam, so every transport gets the same semantics. Consumers see the same `RunningCall` as call.ts.
 *
 * Deadline. The call has one deadline (`now + timeoutMs`, A6: "the call deadline applies across all
 * attempts"). Every attempt carries `min(call deadline, per-try deadline)` and the transport ends it there
 * (its contract: DEADLINE_EXCEEDED at `deadline`), and the driver never waits — backoff, pushback, hedging
 * delay — past the call deadline: a retry that could only start after it is not made, and the failure that
 * asked for it is the call's. So the call ends by its deadline without a call-level timer: the hot path
 * has no timer but the transport's.
 *
 * Attempt numbers. Attempt n > 1 carries `grpc-previous-rpc-attempts: n-1` in its own copy of the caller's
 * metadata (A6 "Exposed Retry Metadata"); the first attempt sends the caller's object as is. As grpc-js does,
 * the deciding attempt's number is also written into the outcome (a copy of its headers, or of its trailers
 * when it had none), where telemetry/exchange.ts `attemptsOf` reads the attempt count. A transparent retry keeps the
 * number of the attempt it replaces.
 *
 * At most once for unsafe methods. An attempt whose outcome is unknown (AttemptEnd.unknown: delivered, then
 * lost before a status) may have run in the server application; it is sent again — retried or, after a
 * hedge, left to the others — only when the method is safe to repeat (`MethodPolicy.safe`: GET bindings,
 * an idempotency_level, or a rule's `retry.idempotent`). Otherwise its failure is the call's. A status the
 * upstream answered itself follows the retry policy whatever the method.
 *
 * Ending. `done` resolves exactly once. `cancel()` resolves it at once (CANCELLED "Cancelled on client") and
 * cancels every running attempt; an attempt's later `onEnd` is ignored. Timers (backoff, hedging delay) are
 * unref'd and cleared whenever the call ends.
 */
import { Code, codeName } from '../status/status.js';
import { CallMetadata } from './call-metadata.js';
import type { CallStatus, RunningCall, UnaryOutcome } from './call.js';
import type { HedgingPolicy, MethodPolicy, RetryPolicy } from './policy.js';
import type { RetryThrottle } from './retry-throttle.js';
import type { AttemptControl, AttemptEnd, AttemptListener, Transport } from './transport.js';

export type { RetryThrottle } from './retry-throttle.js';
export { createRetryThrottle } from './retry-throttle.js';

/** Time and randomness, injectable for tests. `now` is epoch ms; `random` is in [0, 1). */
export interface PolicyClock {
  now(): number;
  random(): number;
}

/** A6 "Exposed Retry Metadata": how many attempts preceded this one. */
export const PREVIOUS_ATTEMPTS_KEY = 'grpc-previous-rpc-attempts';
/** A6 "Pushback": the server's retry delay in ms; negative or malformed means "do not retry". */
export const RETRY_PUSHBACK_KEY = 'grpc-retry-pushback-ms';

/** Read through `Date.now`/`Math.random` at call time, so test fakes installed later apply. */
const SYSTEM_CLOCK: PolicyClock = Object.freeze({ now: () => Date.now(), random: () => Math.random() });

const INT32_MAX = 2147483647;
/** A6: "an ASCII encoded signed 32-bit integer with no unnecessary leading zeros". */
const PUSHBACK_SYNTAX = /^(?:0|-?[1-9][0-9]{0,9})$/;

/**
 * The server's pushback in `trailers`: undefined when there is none, else the delay in ms, or -1 for
 * "do not retry" (A6: a negative or unparseable value). Never throws.
 */
export function pushbackOf(trailers: CallMetadata): number | undefined {
  const v = trailers.get(RETRY_PUSHBACK_KEY);
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !PUSHBACK_SYNTAX.test(v)) return -1;
  const n = Number(v);
  return n > INT32_MAX || n < 0 ? -1 : n;
}

/** The call's outcome from the attempt that decided it (numbered `attempt`). Mirrors call.ts's mapping. */
function outcomeOf(end: AttemptEnd, attempt: number): UnaryOutcome {
  let headers = end.headers;
  let trailers = end.trailers;
  if (attempt > 1) {
    if (headers !== undefined) headers = headers.with(PREVIOUS_ATTEMPTS_KEY, String(attempt - 1));
    else trailers = trailers.with(PREVIOUS_ATTEMPTS_KEY, String(attempt - 1));
  }
  if (end.code === Code.OK && end.response !== undefined) {
    return { response: end.response, error: undefined, headers, trailers };
  }
  // An OK status without a message is what grpc-js's unary client reports as INTERNAL (call.ts does too).
  const error: CallStatus =
    end.code === Code.OK
      ? { code: Code.INTERNAL, details: 'No message received', metadata: trailers }
      : { code: end.code, details: end.details, metadata: trailers };
  return { response: undefined, error, headers, trailers };
}

/** An outcome the driver decides itself (cancel), after `attempts` attempts. */
function localOutcome(code: Code, details: string, attempts: number): UnaryOutcome {
  const trailers = attempts > 1 ? CallMetadata.EMPTY.with(PREVIOUS_ATTEMPTS_KEY, String(attempts - 1)) : CallMetadata.EMPTY;
  return { response: undefined, error: { code, details, metadata: trailers }, headers: undefined, trailers };
}

/** The caller's metadata for attempt `n`: the object itself for the first, else a copy numbered per A6. */
function metadataFor(metadata: CallMetadata, n: number): CallMetadata {
  return n === 1 ? metadata : metadata.with(PREVIOUS_ATTEMPTS_KEY, String(n - 1));
}

function resumeAfterBackoff(call: SerialCall): void {
  call.resume();
}

/**
 * A SerialCall's listener, as the transport sees it: a forwarder the call cuts when it settles. A transport
 * may hold its listener long after the attempt ended: node:http2 keeps every client stream reachable until
 * the next mark-compact (its `request()` binds the stream into an AsyncResource whose per-call accessor and
 * prototype objects live in the old generation; bench/RESULTS.md §0.7.2), and with it the transport's
 * attempt. Cut, that retained attempt reaches one small object instead of the call, its message, metadata
 * and outcome, which would otherwise survive every scavenge until then. Late reports after the cut are
 * dropped, as the call itself drops them once settled.
 */
class SerialListener implements AttemptListener {
  constructor(public call: SerialCall | undefined) {}

  onHeaders(): void {
    this.call?.onHeaders();
  }

  onEnd(end: AttemptEnd): void {
    this.call?.onEnd(end);
  }
}

/**
 * No policy, or a retry policy: at most one attempt runs at a time, so one listener serves every attempt
 * (two objects per call on the hot path; no closures, no promise but `done`).
 */
class SerialCall implements RunningCall, AttemptListener {
  readonly done: Promise<UnaryOutcome>;
  private resolve!: (o: UnaryOutcome) => void;
  /** The running (or next, during backoff) attempt's number. */
  private attempt = 1;
  private attemptMetadata: CallMetadata;
  private attemptDeadline = 0;
  /** Bumped per start, so a start whose attempt ended synchronously does not overwrite a newer control. */
  private starts = 0;
  private control: AttemptControl | undefined;
  /** An attempt is running (started, its onEnd not seen yet). */
  private running = false;
  private transparentUsed = false;
  /** Response headers seen: A6 commits the call to this attempt. */
  private committed = false;
  private settled = false;
  private timer: NodeJS.Timeout | undefined;
  /** The failure that asked for the pending retry: the call's outcome if the retry is not made. */
  private lastEnd: AttemptEnd | undefined;
  /** The upper bound of the next random backoff (A6: initialBackoff × multiplier^(n-1), capped). */
  private backoffMs: number;
  private readonly listener = new SerialListener(this);

  constructor(
    private readonly transport: Transport,
    private readonly path: string,
    private readonly message: Buffer,
    private readonly metadata: CallMetadata,
    private readonly deadline: number,
    private readonly retry: RetryPolicy | undefined,
    /** The method is safe to repeat: an attempt of unknown outcome may be retried. */
    private readonly safe: boolean,
    private readonly throttle: RetryThrottle,
    private readonly clock: PolicyClock,
  ) {
    this.done = new Promise<UnaryOutcome>((r) => (this.resolve = r));
    this.attemptMetadata = metadata;
    this.backoffMs = retry === undefined ? 0 : retry.initialBackoffMs;
  }

  begin(): void {
    this.startAttempt();
  }

  private startAttempt(): void {
    const n = ++this.starts;
    const perTry = this.retry?.perTryTimeoutMs;
    this.attemptDeadline = perTry === undefined ? this.deadline : Math.min(this.deadline, this.clock.now() + perTry);
    this.running = true;
    const control = this.transport.start(this.path, this.attemptMetadata, this.message, this.attemptDeadline, this.listener);
    // The transport may end the attempt inside start() (e.g. UNAVAILABLE in TRANSIENT_FAILURE), and that end
    // may already have started the next attempt: keep only the control of an attempt still running.
    if (this.starts === n && this.running) this.control = control;
  }

  onHeaders(): void {
    this.committed = true;
  }

  onEnd(end: AttemptEnd): void {
    if (this.settled) return;
    this.running = false;
    this.control = undefined;
    // A6 "Transparent Retries": the attempt never reached the server application, so it is sent again at
    // once, whatever the policy, without counting against maxAttempts or the throttle; once per attempt.
    if (end.unprocessed && !this.committed && !this.transparentUsed && this.clock.now() < this.deadline) {
      this.transparentUsed = true;
      this.startAttempt();
      return;
    }
    if (end.code === Code.OK) {
      this.throttle.succeeded();
      this.finish(end);
      return;
    }
    const retry = this.retry;
    if (retry === undefined || this.committed || (end.unknown && !this.safe) || !this.retryable(end.code, retry)) {
      this.finish(end);
      return;
    }
    this.throttle.failed();
    const pushback = pushbackOf(end.trailers);
    if ((pushback !== undefined && pushback < 0) || this.attempt >= retry.maxAttempts || !this.throttle.allows()) {
      this.finish(end);
      return;
    }
    let delay: number;
    if (pushback === undefined) {
      delay = this.clock.random() * Math.min(this.backoffMs, retry.maxBackoffMs);
      this.backoffMs = Math.min(this.backoffMs * retry.backoffMultiplier, retry.maxBackoffMs);
    } else {
      // A6: pushback replaces the backoff, and the backoff sequence starts again from initialBackoff.
      delay = pushback;
      this.backoffMs = retry.initialBackoffMs;
    }
    if (this.clock.now() + delay >= this.deadline) {
      this.finish(end);
      return;
    }
    this.lastEnd = end;
    if (delay <= 0) {
      this.startNext();
      return;
    }
    this.timer = setTimeout(resumeAfterBackoff, delay, this);
    this.timer.unref();
  }

  /**
   * Whether a failed attempt may be retried by its code. DEADLINE_EXCEEDED of an attempt cut by its per-try
   * timeout is retried like a retryable code (attempts.ts); once the call's own deadline has passed it never
   * is (nothing is left to retry in).
   */
  private retryable(code: number, retry: RetryPolicy): boolean {
    if (code === Code.DEADLINE_EXCEEDED) {
      if (this.attemptDeadline < this.deadline) return true;
      if (this.clock.now() >= this.deadline) return false;
    }
    return retry.retryableStatusCodes.includes(codeName(code as Code));
  }

  /** The backoff timer fired. The throttle is asked again: other calls may have drained it meanwhile. */
  resume(): void {
    this.timer = undefined;
    if (this.settled) return;
    if (!this.throttle.allows()) {
      this.finish(this.lastEnd!);
      return;
    }
    this.startNext();
  }

  private startNext(): void {
    this.lastEnd = undefined;
    this.attempt++;
    this.transparentUsed = false;
    this.attemptMetadata = metadataFor(this.metadata, this.attempt);
    this.startAttempt();
  }

  private finish(end: AttemptEnd): void {
    this.settled = true;
    this.listener.call = undefined;
    this.resolve(outcomeOf(end, this.attempt));
  }

  cancel(): void {
    if (this.settled) return;
    this.settled = true;
    this.listener.call = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const control = this.control;
    this.control = undefined;
    control?.cancel();
    this.resolve(localOutcome(Code.CANCELLED, 'Cancelled on client', this.attempt));
  }
}

/**
 * One attempt of a hedged call: its own listener, since several run at once. It forgets the call once its
 * attempt ended (nothing is reported after `onEnd`), for the reason SerialListener gives.
 */
class HedgeAttempt implements AttemptListener {
  control: AttemptControl | undefined;
  ended = false;
  cancelled = false;

  constructor(
    private call: HedgedCall | undefined,
    readonly n: number,
    /** This attempt is the transparent retry of attempt `n`. */
    readonly transparent: boolean,
  ) {}

  onHeaders(): void {
    if (!this.ended && !this.cancelled) this.call?.attemptHeaders(this);
  }

  onEnd(end: AttemptEnd): void {
    if (this.ended) return;
    this.ended = true;
    const call = this.call;
    this.call = undefined;
    this.control = undefined;
    if (!this.cancelled) call?.attemptEnded(this, end);
  }

  cancel(): void {
    if (this.ended || this.cancelled) return;
    this.cancelled = true;
    this.control?.cancel();
  }
}

function hedgeTimerFired(call: HedgedCall): void {
  call.hedgeTimerFired();
}

/**
 * A6 hedging: attempt 1 at once, another every `hedgingDelay` while the call is not committed, attempts
 * are left and the throttle allows. Response headers, OK or a fatal code commit to that attempt and cancel
 * the others; a non-fatal code sends the next hedge at once (or after the server's pushback; a "do not
 * retry" pushback stops hedging). When no attempt is left running and no more will be sent, the last
 * non-fatal failure is the call's.
 */
class HedgedCall implements RunningCall {
  readonly done: Promise<UnaryOutcome>;
  private resolve!: (o: UnaryOutcome) => void;
  private readonly live: HedgeAttempt[] = [];
  /** Attempt numbers used so far (transparent retries reuse theirs). */
  private started = 0;
  private committed: HedgeAttempt | undefined;
  /** No more hedges: a "do not retry" pushback, or the throttle said no. */
  private stopped = false;
  private settled = false;
  private timer: NodeJS.Timeout | undefined;
  private lastEnd: AttemptEnd | undefined;
  private lastN = 1;

  constructor(
    private readonly transport: Transport,
    private readonly path: string,
    private readonly message: Buffer,
    private readonly metadata: CallMetadata,
    private readonly deadline: number,
    private readonly hedging: HedgingPolicy,
    private readonly throttle: RetryThrottle,
    private readonly clock: PolicyClock,
  ) {
    this.done = new Promise<UnaryOutcome>((r) => (this.resolve = r));
  }

  begin(): void {
    this.startHedge();
    if (this.hedging.hedgingDelayMs > 0) return;
    // hedgingDelay 0: every attempt at once (A6).
    while (this.mayHedge()) this.startHedge();
  }

  /** Whether another hedge may be sent now; a throttle refusal stops hedging for this call. */
  private mayHedge(): boolean {
    if (this.settled || this.committed !== undefined || this.stopped || this.started >= this.hedging.maxAttempts) return false;
    if (this.clock.now() >= this.deadline) return false;
    if (!this.throttle.allows()) {
      this.stop();
      return false;
    }
    return true;
  }

  /** Sends the next attempt and restarts the hedging delay from it (A6: later hedges "resume at hedgingDelay"). */
  private startHedge(): void {
    this.clearTimer();
    const n = ++this.started;
    this.startAttempt(n, false);
    if (this.hedging.hedgingDelayMs > 0 && this.started < this.hedging.maxAttempts) this.armTimer(this.hedging.hedgingDelayMs);
  }

  private startAttempt(n: number, transparent: boolean): void {
    const a = new HedgeAttempt(this, n, transparent);
    this.live.push(a);
    a.control = this.transport.start(this.path, metadataFor(this.metadata, n), this.message, this.deadline, a);
  }

  /** A timer for the next hedge; none when it would fire at or after the call deadline. */
  private armTimer(ms: number): void {
    this.clearTimer();
    if (this.clock.now() + ms >= this.deadline) return;
    this.timer = setTimeout(hedgeTimerFired, ms, this);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private stop(): void {
    this.stopped = true;
    this.clearTimer();
  }

  hedgeTimerFired(): void {
    this.timer = undefined;
    if (this.settled) return;
    if (this.mayHedge()) this.startHedge();
    else this.decideIfIdle();
  }

  attemptHeaders(a: HedgeAttempt): void {
    if (this.settled || this.committed !== undefined) return;
    // A6: response headers commit the call to this attempt; the others are cancelled, no more are sent.
    this.committed = a;
    this.clearTimer();
    this.cancelOthers(a);
  }

  attemptEnded(a: HedgeAttempt, end: AttemptEnd): void {
    if (this.settled) return;
    const i = this.live.indexOf(a);
    if (i >= 0) this.live.splice(i, 1);
    if (end.unprocessed && this.committed === undefined && !a.transparent && this.clock.now() < this.deadline) {
      this.startAttempt(a.n, true);
      return;
    }
    // Hedging is for safe methods only (policy.ts), so an attempt of unknown outcome (AttemptEnd.unknown) may
    // be followed by the next hedge like any other non-fatal failure.
    if (this.committed === a || end.code === Code.OK || !this.hedging.nonFatalStatusCodes.includes(codeName(end.code as Code))) {
      if (end.code === Code.OK) this.throttle.succeeded();
      this.decide(end, a.n);
      return;
    }
    this.throttle.failed();
    this.lastEnd = end;
    this.lastN = a.n;
    const pushback = pushbackOf(end.trailers);
    if (pushback !== undefined && pushback < 0) this.stop();
    else if (pushback !== undefined) {
      if (this.started < this.hedging.maxAttempts) this.armTimer(pushback);
    } else if (this.mayHedge()) this.startHedge(); // A6: a non-fatal code shortcuts the hedging delay
    this.decideIfIdle();
  }

  /** Nothing running and nothing scheduled: the last non-fatal failure is the call's. */
  private decideIfIdle(): void {
    if (!this.settled && this.live.length === 0 && this.timer === undefined && this.lastEnd !== undefined) this.decide(this.lastEnd, this.lastN);
  }

  private cancelOthers(keep: HedgeAttempt | undefined): void {
    const others = this.live.filter((x) => x !== keep);
    this.live.length = 0;
    if (keep !== undefined) this.live.push(keep);
    for (const x of others) x.cancel();
  }

  private decide(end: AttemptEnd, n: number): void {
    this.settled = true;
    this.clearTimer();
    this.cancelOthers(undefined);
    this.resolve(outcomeOf(end, n));
  }

  cancel(): void {
    if (this.settled) return;
    this.settled = true;
    this.clearTimer();
    this.cancelOthers(undefined);
    this.resolve(localOutcome(Code.CANCELLED, 'Cancelled on client', this.started));
  }
}

/**
 * Starts one unary call of `path` with `message` on `transport` under `policy`'s retry or hedging policy
 * (neither: one attempt, plus a transparent retry). `throttle` is the upstream's (one per upstream, shared
 * by all its methods). `timeoutMs` is relative; the call's deadline is `clock.now() + timeoutMs`.
 * Never throws: every failure, the driver's own included, is the outcome's `error`
 * (`{code, details, metadata: trailers}` of the deciding attempt, or CANCELLED "Cancelled on client").
 * `metadata` is sent as is on the first attempt (it is immutable; later attempts send numbered copies).
 */
export function callWithPolicy(
  transport: Transport,
  path: string,
  message: Buffer,
  metadata: CallMetadata,
  timeoutMs: number,
  policy: MethodPolicy,
  throttle: RetryThrottle,
  clock: PolicyClock = SYSTEM_CLOCK,
): RunningCall {
  const deadline = clock.now() + timeoutMs;
  if (policy.hedging !== undefined) {
    const hedged = new HedgedCall(transport, path, message, metadata, deadline, policy.hedging, throttle, clock);
    hedged.begin();
    return hedged;
  }
  const call = new SerialCall(transport, path, message, metadata, deadline, policy.retry, policy.safe, throttle, clock);
  call.begin();
  return call;
}
