import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/** Every ATTACHE_E_* code used in src/ is documented in docs/errors.md, and the docs list no stale codes. */
describe('docs/errors.md', () => {
  const used = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) {
        for (const m of fs.readFileSync(p, 'utf8').matchAll(/ATTACHE_E_[A-Z_]+/g)) used.add(m[0]);
      }
    }
  };
  walk('src');
  const documented = new Set([...fs.readFileSync('docs/errors.md', 'utf8').matchAll(/`(ATTACHE_E_[A-Z_]+)`/g)].map((m) => m[1]!));

  it.each([...used].sort())('documents %s', (code) => {
    expect(documented.has(code)).toBe(true);
  });
  it('lists no code the source no longer uses', () => {
    expect([...documented].filter((c) => !used.has(c))).toEqual([]);
  });
});
