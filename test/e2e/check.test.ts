/**
 * `--check` as CI runs it: on a mapping with no upstream given it still validates everything, prints the
 * route table with the upstream unset, warns, and exits 0; serving the same configuration stays an error.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildSet } from '../../bench/realworld/build-set.mjs';
import { E2E_MAPPINGS_DIR, E2E_PROTOS_DIR } from '../support/grpc-server.js';
import { CLI, ensureBuilt, REPO, spawnCollected } from '../support/process.js';

beforeAll(() => {
  ensureBuilt();
}, 180_000);

/** Runs the CLI to completion with only PATH from the environment (no GRPC_TARGET leaking in). */
async function cli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = spawnCollected(process.execPath, [CLI, ...args], { cwd: REPO, env: { PATH: process.env['PATH'] ?? '' } });
  const guard = setTimeout(() => run.kill(), 15_000);
  const code = await run.exited;
  clearTimeout(guard);
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

describe('--check without an upstream', () => {
  it('validates everything, lists the upstream as unset, warns, exits 0', async () => {
    const r = await cli(['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--check']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^GET +\/v1\/echo\/\{id\} +e2e\.v1\.EchoService\.GetEcho +unary +\(unset\) +15s \(default\) /m);
    const routes = Number(/\n(\d+) route\(s\) OK\n$/.exec(r.stdout)?.[1]);
    expect(routes).toBeGreaterThan(10);
    expect(r.stderr).toContain(`warning: no upstream set (--upstream or GRPC_TARGET): ${routes} route(s) have none`);
    expect(r.stderr).toContain('[ATTACHE_E_NO_UPSTREAM]');
  });

  it('still finds every other problem (exit 1)', async () => {
    const r = await cli(['--protos', E2E_PROTOS_DIR, '--mappings', path.join(REPO, 'mappings'), '--check']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/problem\(s\) found/);
    expect(r.stderr).toContain('ATTACHE_E_UNKNOWN_METHOD');
    expect(r.stderr).not.toContain('ATTACHE_E_NO_UPSTREAM');
  });

  it('serving without an upstream is still a start-up error naming each method', async () => {
    const r = await cli(['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^attache cannot start:\n/);
    expect(r.stderr).toMatch(/echo\.yaml:21: e2e\.v1\.EchoService\.GetEcho: no upstream for this method.*\[ATTACHE_E_NO_UPSTREAM\]/);
  });

  it('an unclosed variable is reported as unclosed', async () => {
    const r = await cli(['--protos', E2E_PROTOS_DIR, '--mappings', path.join(REPO, 'test/fixtures/config/unclosed-template.yaml'), '--check']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unclosed-template\.yaml:\d+: e2e\.v1\.EchoService\.GetEcho: invalid path template "\/v1\/\{x=".*unclosed '\{' \(opened at column 5\).*\[ATTACHE_E_TEMPLATE\]/);
  });
});

describe('--check read through a slow pipe', () => {
  it('prints the whole route table of a large set before it exits (~200 KB, more than a pipe holds)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-check-'));
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-check-maps-'));
    try {
      buildSet(25, path.join(dir, 'set'));
      const child = spawn(process.execPath, [CLI, '--protos', path.join(dir, 'set'), '--mappings', empty, '--upstream', '127.0.0.1:1', '--check'], {
        cwd: REPO,
        env: { PATH: process.env['PATH'] ?? '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const guard = setTimeout(() => child.kill(), 60_000);
      // Read nothing for a while: the pipe fills and attache's writes wait in its stream.
      child.stdout.pause();
      await new Promise((r) => setTimeout(r, 1500));
      const chunks: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => chunks.push(c));
      child.stdout.resume();
      const code = await new Promise<number | null>((r) => child.once('close', r));
      clearTimeout(guard);
      const out = Buffer.concat(chunks).toString();
      expect(code).toBe(0);
      const routes = Number(/\n(\d+) route\(s\) OK\n$/.exec(out)?.[1]);
      expect(routes).toBeGreaterThan(1000);
      expect(out.split('\n').filter((l) => /^(GET|POST|PUT|PATCH|DELETE) /.test(l))).toHaveLength(routes);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(empty, { recursive: true, force: true });
    }
  }, 90_000);
});
