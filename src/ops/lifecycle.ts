/**
 * The process lifecycle as one small state machine: starting → ready → draining → stopped.
 * Readiness is derived from it; nothing else decides whether attache is ready.
 */
export type Phase = 'starting' | 'ready' | 'draining' | 'stopped';

export interface Lifecycle {
  phase(): Phase;
  /** Moves forward only: a drain never becomes ready again. */
  advance(to: Phase): void;
}

const ORDER: Readonly<Record<Phase, number>> = { starting: 0, ready: 1, draining: 2, stopped: 3 };

export function createLifecycle(): Lifecycle {
  let current: Phase = 'starting';
  return {
    phase: () => current,
    advance(to) {
      if (ORDER[to] > ORDER[current]) current = to;
    },
  };
}
