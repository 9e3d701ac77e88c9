import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { helpText } from '../src/config/load.js';

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

/** GitHub's heading anchor: lower case, punctuation dropped, spaces as hyphens. */
function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

/** The anchors of a Markdown file's headings (outside code fences). */
function anchorsIn(text: string): Set<string> {
  const out = new Set<string>();
  let fence = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) fence = !fence;
    const m = !fence && /^#{1,6} (.*)$/.exec(line);
    if (m) out.add(anchorOf(m[1]!));
  }
  return out;
}

const PAGES = ['README.md', ...fs.readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

describe('README.md and docs/', () => {
  it.each(PAGES)('every relative link of %s leads to a file and heading that exist', (page) => {
    const text = fs.readFileSync(page, 'utf8');
    const broken: string[] = [];
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue;
      const [file, anchor] = target.split('#') as [string, string | undefined];
      const resolved = file === '' ? page : path.join(path.dirname(page), file);
      if (!fs.existsSync(resolved)) {
        broken.push(`${target}: no such file`);
        continue;
      }
      if (anchor !== undefined && resolved.endsWith('.md') && !anchorsIn(fs.readFileSync(resolved, 'utf8')).has(anchor)) broken.push(`${target}: no such heading`);
    }
    expect(broken).toEqual([]);
  });

  it('README.md stays a short page for newcomers: a table of contents, and a link to every docs/ page', () => {
    const readme = fs.readFileSync('README.md', 'utf8');
    expect(readme.length).toBeLessThan(16_000);
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm ci && npm test');
    const sections = [...readme.matchAll(/^## (.*)$/gm)].map((m) => m[1]!).filter((h) => h !== 'Contents');
    for (const s of sections) expect(readme, `contents entry for "${s}"`).toContain(`](#${anchorOf(s)})`);
    for (const page of PAGES.filter((p) => p.startsWith('docs/'))) expect(readme, page).toContain(`](${page})`);
  });

  it('every flag --help lists is documented', () => {
    const docs = PAGES.map((p) => fs.readFileSync(p, 'utf8')).join('\n');
    const flags = [...helpText().matchAll(/--[a-z][a-z0-9-]*/g)].map((m) => m[0]);
    expect([...new Set(flags)].filter((f) => !docs.includes(`\`${f}`))).toEqual([]);
  });

  it('nothing points outside the repository: no sibling folders, no external contract file', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) {
          if (!['node_modules', 'dist', '.git', 'coverage', '.bench-out', 'scratch'].includes(e.name)) walk(p);
        } else if (/\.(md|ts|mjs|js|sh|proto|ya?ml|json)$|^Dockerfile$|^run$/.test(e.name) && p !== path.join('test', 'docs.test.ts') && e.name !== 'package-lock.json') {
          const text = fs.readFileSync(p, 'utf8');
          if (/\.\.\/shared\/|\.\.\/shared\b(?!-)|CONTRACT\.md/.test(text.replace(/'\.\.\/shared'/g, ''))) offenders.push(p);
        }
      }
    };
    walk('.');
    expect(offenders).toEqual([]);
  });
});
