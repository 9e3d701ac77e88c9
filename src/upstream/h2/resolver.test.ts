import { describe, expect, it } from 'vitest';
import { Resolver, type Lookup } from './resolver.js';
import type { TargetAddress } from './target.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const name: TargetAddress = { kind: 'tcp', host: 'backend', port: 8080, literal: false };

function setup(answers: Array<string[] | Error>, minIntervalMs = 80, retryMs = 30) {
  const got: Array<string | readonly TargetAddress[]> = [];
  let lookups = 0;
  const lookup: Lookup = async () => {
    const a = answers[Math.min(lookups++, answers.length - 1)]!;
    if (a instanceof Error) throw Object.assign(a, { code: 'ENOTFOUND' });
    return a.map((address) => ({ address, family: 4 }));
  };
  const r = new Resolver([name], { addresses: (l) => got.push(l), failed: (e) => got.push(e) }, retryMs, minIntervalMs, lookup);
  return { r, got, lookups: () => lookups };
}

describe('Resolver', () => {
  it('literal and unix addresses need no lookup and are answered at once', () => {
    const got: unknown[] = [];
    const spec: TargetAddress[] = [{ kind: 'tcp', host: '1.2.3.4', port: 1, literal: true }, { kind: 'unix', path: '/s' }];
    const r = new Resolver(spec, { addresses: (l) => got.push(l), failed: (e) => got.push(e) }, 10, 10, () => Promise.reject(new Error('no')));
    r.resolve();
    expect(got).toEqual([spec]);
  });

  it('looks a name up into literal addresses with the target port', async () => {
    const { r, got } = setup([['10.0.0.1', '10.0.0.2']]);
    r.resolve();
    await sleep(5);
    expect(got).toEqual([[
      { kind: 'tcp', host: '10.0.0.1', port: 8080, literal: true },
      { kind: 'tcp', host: '10.0.0.2', port: 8080, literal: true },
    ]]);
    r.close();
  });

  it('re-resolution is rate-limited: a request inside the interval runs when it has passed, once', async () => {
    const { r, lookups } = setup([['10.0.0.1']], 80);
    r.resolve();
    await sleep(5);
    r.resolve();
    r.resolve();
    await sleep(20);
    expect(lookups()).toBe(1);
    await sleep(100);
    expect(lookups()).toBe(2);
    r.close();
  });

  it('a failed lookup is reported and retried after retryMs', async () => {
    const { r, got, lookups } = setup([new Error('nope'), ['10.0.0.9']], 1000, 30);
    r.resolve();
    await sleep(5);
    expect(got[0]).toMatch(/DNS resolution of backend failed: ENOTFOUND/);
    await sleep(60);
    expect(lookups()).toBe(2);
    expect(got[1]).toEqual([{ kind: 'tcp', host: '10.0.0.9', port: 8080, literal: true }]);
    r.close();
  });

  it('close() stops pending lookups', async () => {
    const { r, lookups } = setup([['10.0.0.1']], 50);
    r.resolve();
    await sleep(5);
    r.resolve();
    r.close();
    await sleep(80);
    expect(lookups()).toBe(1);
  });
});
