/**
 * The attempt observers of the `attache_attempts` grpc-js load-balancing policy (attempt-lb.ts), kept apart
 * from the policy so that registering one loads no grpc-js: a process whose upstreams all use the lean
 * transport never loads grpc-js (nor node:http2, which grpc-js requires): ~30 ms of CPU and ~1.5 MiB of
 * every start (bench/RESULTS.md §20). grpc-js wires register the policy itself before they build a channel.
 *
 * The registry is process-wide for the policy's reason (attempt-lb.ts, module comment): grpc-js builds a
 * policy from its JSON config alone, so each channel's service config names an instance key (a random UUID)
 * and the policy looks that instance's observer up here.
 */
import { randomUUID } from 'node:crypto';
import type { AttemptObserver } from './transport.js';

/** The policy name, as it appears in `loadBalancingConfig`. */
export const ATTEMPT_LB_NAME = 'attache_attempts';

/** The one module-level cell: instance key → observer. */
const observers = new Map<string, AttemptObserver>();

/** The observer of an instance key, or undefined once that instance closed (or for a key never registered). */
export function attemptObserver(instance: string): AttemptObserver | undefined {
  return observers.get(instance);
}

/** One instance's registration. */
export interface AttemptRegistration {
  readonly instance: string;
  /**
   * A copy of `serviceConfig` whose `loadBalancingConfig` puts `attache_attempts` (wrapping the original
   * list) first and keeps the original entries as fall-backs.
   */
  wrap(serviceConfig: Readonly<Record<string, unknown>>): Record<string, unknown>;
  /** Removes the observer; pickers of channels still open pass picks through. Idempotent. */
  close(): void;
}

/** Registers `observer` under a new instance key. */
export function addAttemptObserver(observer: AttemptObserver): AttemptRegistration {
  const instance = randomUUID();
  observers.set(instance, observer);
  return {
    instance,
    wrap(serviceConfig) {
      const original = Array.isArray(serviceConfig['loadBalancingConfig']) ? (serviceConfig['loadBalancingConfig'] as unknown[]) : [{ pick_first: {} }];
      return { ...serviceConfig, loadBalancingConfig: [{ [ATTEMPT_LB_NAME]: { instance, childPolicy: original } }, ...original] };
    },
    close: () => void observers.delete(instance),
  };
}
