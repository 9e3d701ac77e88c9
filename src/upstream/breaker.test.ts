import { describe, expect, it } from 'vitest';
import { createBreaker, isBreakerFailure, type BreakerOptions } from './breaker.js';

const OPTS: BreakerOptions = { consecutiveFailures: 3, failureRatio: 0.5, windowMs: 1000, minimumCalls: 4, openMs: 500, halfOpenProbes: 2 };
const OK = 0;
const UNAVAILABLE = 14;

describe('isBreakerFailure', () => {
  it.each([
    [14, true], [4, true], [13, true],
    [0, false], [1, false], [2, false], [3, false], [5, false], [7, false], [8, false], [9, false], [12, false], [16, false],
  ])('code %i → %s', (code, failure) => expect(isBreakerFailure(code)).toBe(failure));
});

describe('createBreaker', () => {
  it('opens after consecutive failures and refuses until openMs has passed', () => {
    const b = createBreaker(OPTS);
    for (let i = 0; i < 3; i++) b.record(b.admit(0)!, UNAVAILABLE, 0);
    expect(b.state(0)).toBe('open');
    expect(b.admit(100)).toBeUndefined();
    expect(b.retryAfterMs(100)).toBe(400);
    expect(b.admit(499)).toBeUndefined();
    expect(b.admit(500)).toBe('probe');
  });

  it('a success resets the consecutive count', () => {
    const b = createBreaker({ ...OPTS, minimumCalls: 1000 });
    for (let i = 0; i < 10; i++) b.record(b.admit(i)!, i % 3 === 2 ? OK : UNAVAILABLE, i);
    expect(b.state(10)).toBe('closed');
  });

  it('opens on the failure ratio once the window holds minimumCalls', () => {
    const b = createBreaker({ ...OPTS, consecutiveFailures: 100 });
    b.record(b.admit(0)!, OK, 0);
    b.record(b.admit(1)!, UNAVAILABLE, 1);
    b.record(b.admit(2)!, OK, 2);
    expect(b.state(3)).toBe('closed');
    b.record(b.admit(3)!, UNAVAILABLE, 3); // 2 of 4
    expect(b.state(4)).toBe('open');
  });

  it('forgets calls older than the window', () => {
    const b = createBreaker({ ...OPTS, consecutiveFailures: 100 });
    b.record(b.admit(0)!, UNAVAILABLE, 0);
    b.record(b.admit(0)!, UNAVAILABLE, 0);
    b.record(b.admit(0)!, OK, 0);
    // 2000 ms later the three above are out of the window: 1 failure of 2 calls is under minimumCalls.
    b.record(b.admit(2000)!, OK, 2000);
    b.record(b.admit(2000)!, UNAVAILABLE, 2000);
    expect(b.state(2000)).toBe('closed');
  });

  it('half-open: limited probes; all must succeed to close; one failure reopens', () => {
    const b = createBreaker(OPTS);
    for (let i = 0; i < 3; i++) b.record(b.admit(0)!, UNAVAILABLE, 0);
    expect(b.admit(600)).toBe('probe');
    expect(b.admit(600)).toBe('probe');
    expect(b.admit(600)).toBeUndefined(); // only 2 probes
    b.record('probe', OK, 610);
    expect(b.state(610)).toBe('halfOpen');
    b.record('probe', OK, 620);
    expect(b.state(620)).toBe('closed');

    for (let i = 0; i < 3; i++) b.record(b.admit(700)!, UNAVAILABLE, 700);
    expect(b.admit(1200)).toBe('probe');
    b.record('probe', UNAVAILABLE, 1210);
    expect(b.state(1210)).toBe('open');
    expect(b.retryAfterMs(1210)).toBe(500);
  });

  it('a cancelled probe frees its slot without deciding; stale outcomes are ignored', () => {
    const b = createBreaker(OPTS);
    const early = b.admit(0)!;
    for (let i = 0; i < 3; i++) b.record(b.admit(0)!, UNAVAILABLE, 0);
    b.record(early, OK, 10); // admitted while closed, finished while open: ignored
    expect(b.state(10)).toBe('open');
    expect(b.admit(500)).toBe('probe');
    expect(b.admit(500)).toBe('probe');
    b.record('probe', 1, 510); // CANCELLED
    expect(b.admit(510)).toBe('probe');
    expect(b.state(510)).toBe('halfOpen');
  });

  it('connectionReady while open: probes at once; a failed early probe holds the next open period for its whole openMs', () => {
    const b = createBreaker({ ...OPTS, halfOpenProbes: 1 });
    for (let i = 0; i < 3; i++) b.record(b.admit(0)!, UNAVAILABLE, 0);
    expect(b.connectionReady(10)).toBe(true);
    const probe = b.admit(10);
    expect(probe).toBe('probe');
    b.record(probe!, UNAVAILABLE, 20); // flapping: back to open
    expect(b.connectionReady(30)).toBe(false);
    expect(b.admit(30)).toBeUndefined();
    expect(b.admit(520)).toBe('probe'); // the whole openMs
    b.record('probe', OK, 530);
    expect(b.state(530)).toBe('closed');
    for (let i = 0; i < 3; i++) b.record(b.admit(600)!, UNAVAILABLE, 600);
    expect(b.connectionReady(610)).toBe(true); // a success allows early probes again
  });

  it('connectionReady while closed or half-open changes nothing', () => {
    const b = createBreaker(OPTS);
    expect(b.connectionReady(0)).toBe(false);
    expect(b.state(0)).toBe('closed');
  });
});
