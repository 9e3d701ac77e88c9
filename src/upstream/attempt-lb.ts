/**
 * A grpc-js load-balancing policy that sees every call ATTEMPT: `attache_attempts` wraps the policy the
 * upstream's service config chose (round_robin or pick_first) and lets an {@link AttemptObserver} watch,
 * and rewrite the metadata of, each attempt (converted to and from attache's metadata here, at grpc-js's
 * boundary).
 *
 * Why a load-balancing policy: grpc-js runs retries and hedging (gRFC A6) in its RetryingCall, below client
 * interceptors and below `Client.makeUnaryRequest`, so nothing above the channel sees attempts. Each attempt
 * is its own LoadBalancingCall, and its `doPick()` (load-balancing-call.js) hands the channel's picker a
 * fresh clone of that attempt's metadata — the very object the stream is then created with — and, once the
 * stream exists, calls the pick result's `onCallStarted()` and, when the attempt ends, its
 * `onCallEnded(code, details, trailers)`. The attempt's metadata also carries `grpc-previous-rpc-attempts`
 * from the second attempt on (retrying-call.js `startNewAttempt`). Those are the per-attempt hooks grpc-js
 * 1.14 offers, through its `experimental` plug-in API (`registerLoadBalancerType`).
 *
 * What one attempt looks like to the picker:
 * - QUEUE (no READY subchannel yet): not an attempt outcome; grpc-js picks again, with a new metadata clone,
 *   when the child policy publishes a new picker, so the observer is asked only on the pick that decides.
 * - COMPLETE: the observer is asked once; its handle ends in `onCallEnded`. If grpc-js picks again for the
 *   same attempt (the subchannel left READY while call credentials were generated), the first handle is
 *   never ended; the clone it rewrote is discarded with it, so no upstream ever saw it.
 * - TRANSIENT_FAILURE (without wait-for-ready) and DROP: the attempt ends at once with that status, never
 *   having reached a server; the handle is ended on the spot, with the code grpc-js reports (gRFC A54).
 *
 * The plug-in point is process-wide: grpc-js keeps one registry of policy names, and builds a policy from
 * its JSON config with only a ChannelControlHelper (no way to hand it an object). So the one registry the
 * policy reads (attempt-observers.ts, which loads no grpc-js) is a map from an instance key (a random UUID,
 * written into each channel's service config) to that attache instance's observer. Two instances in one
 * process (the tests) each have their own key and observer; closing an instance removes its entry, after
 * which its pickers pass picks through untouched.
 * A config naming an unknown key fails to parse, and grpc-js then falls back to the next entry of
 * `loadBalancingConfig`, the unwrapped policy (load-balancer.js `selectLbConfigFromList`).
 */
import { experimental, status, type ChannelOptions } from '@grpc/grpc-js';
import { ATTEMPT_LB_NAME, attemptObserver } from './attempt-observers.js';
import { fromGrpcJsMetadata, replaceGrpcJsMetadata } from './grpcjs-metadata.js';

export { ATTEMPT_LB_NAME } from './attempt-observers.js';
export type { AttemptHandle, AttemptObserver } from './transport.js';

/**
 * gRFC A54: a pick that fails with a code meant for the data plane is reported as INTERNAL by grpc-js
 * (control-plane-status.js); the attempt's outcome is recorded as grpc-js reports it.
 */
const CONTROL_PLANE_FORBIDDEN: ReadonlySet<number> = new Set([
  status.OK, status.INVALID_ARGUMENT, status.NOT_FOUND, status.ALREADY_EXISTS,
  status.FAILED_PRECONDITION, status.ABORTED, status.OUT_OF_RANGE, status.DATA_LOSS,
]);

/** Wraps a child picker: asks the observer about each attempt the child picker decides. Exported for tests. */
export class AttemptPicker implements experimental.Picker {
  constructor(private readonly child: experimental.Picker, private readonly instance: string) {}

  pick(args: experimental.PickArgs): experimental.PickResult {
    const r = this.child.pick(args);
    const observer = attemptObserver(this.instance);
    if (observer === undefined) return r;
    switch (r.pickResultType) {
      case experimental.PickResultType.COMPLETE: {
        const h = observer.attempt(fromGrpcJsMetadata(args.metadata), r.subchannel?.getAddress());
        if (h === undefined) return r;
        // args.metadata is this attempt's own clone, the object its stream is created with.
        if (h.metadata !== undefined) replaceGrpcJsMetadata(args.metadata, h.metadata);
        const childEnded = r.onCallEnded;
        return {
          ...r,
          onCallEnded: (code, details, trailers) => {
            h.ended(code, details);
            childEnded?.(code, details, trailers);
          },
        };
      }
      case experimental.PickResultType.TRANSIENT_FAILURE:
      case experimental.PickResultType.DROP: {
        // With wait-for-ready grpc-js queues a TRANSIENT_FAILURE pick instead of failing the attempt
        // (load-balancing-call.js `doPick`).
        if (r.pickResultType === experimental.PickResultType.TRANSIENT_FAILURE && args.metadata.getOptions().waitForReady === true) return r;
        const code = r.status?.code ?? status.UNAVAILABLE;
        observer.attempt(fromGrpcJsMetadata(args.metadata), undefined)?.ended(CONTROL_PLANE_FORBIDDEN.has(code) ? status.INTERNAL : code, r.status?.details ?? '');
        return r;
      }
      default:
        return r;
    }
  }
}

/** `{instance, childPolicy}`: the observer's key and the wrapped policy (gRFC A24 list form). */
class AttemptLbConfig implements experimental.TypedLoadBalancingConfig {
  constructor(readonly instance: string, readonly child: experimental.TypedLoadBalancingConfig) {}
  getLoadBalancerName(): string {
    return ATTEMPT_LB_NAME;
  }
  toJsonObject(): object {
    return { [ATTEMPT_LB_NAME]: { instance: this.instance, childPolicy: [this.child.toJsonObject()] } };
  }
  /** @throws Error when the key is unknown or no child policy parses; grpc-js then uses the next entry. */
  static createFromJson(obj: unknown): AttemptLbConfig {
    const o = (typeof obj === 'object' && obj !== null ? obj : {}) as { instance?: unknown; childPolicy?: unknown };
    if (typeof o.instance !== 'string' || attemptObserver(o.instance) === undefined) throw new Error(`no attache instance ${String(o.instance)}`);
    if (!Array.isArray(o.childPolicy)) throw new Error('childPolicy must be a list');
    const child = experimental.selectLbConfigFromList(o.childPolicy);
    if (child === null) throw new Error('no usable childPolicy');
    return new AttemptLbConfig(o.instance, child);
  }
}

/** Delegates everything to the child policy; only the pickers it publishes are wrapped. */
class AttemptLoadBalancer implements experimental.LoadBalancer {
  private readonly child: experimental.ChildLoadBalancerHandler;
  private instance = '';

  constructor(helper: experimental.ChannelControlHelper) {
    this.child = new experimental.ChildLoadBalancerHandler(
      experimental.createChildChannelControlHelper(helper, {
        updateState: (state, picker, message) => helper.updateState(state, new AttemptPicker(picker, this.instance), message),
      }),
    );
  }
  updateAddressList(
    endpoints: experimental.StatusOr<experimental.Endpoint[]>,
    config: experimental.TypedLoadBalancingConfig,
    options: ChannelOptions,
    note: string,
  ): boolean {
    if (!(config instanceof AttemptLbConfig)) return false;
    this.instance = config.instance;
    return this.child.updateAddressList(endpoints, config.child, options, note);
  }
  exitIdle(): void {
    this.child.exitIdle();
  }
  resetBackoff(): void {
    this.child.resetBackoff();
  }
  destroy(): void {
    this.child.destroy();
  }
  getTypeName(): string {
    return ATTEMPT_LB_NAME;
  }
}

/** Registers the `attache_attempts` policy with grpc-js, once per process; grpc-js wires call it before building a channel. */
export function registerAttemptLbPolicy(): void {
  if (!experimental.isLoadBalancerNameRegistered(ATTEMPT_LB_NAME)) {
    experimental.registerLoadBalancerType(ATTEMPT_LB_NAME, AttemptLoadBalancer, AttemptLbConfig);
  }
}

