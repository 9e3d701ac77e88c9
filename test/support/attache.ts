/**
 * Starts a real attache in-process on loopback (REST and admin on port 0) for end-to-end tests.
 * Arguments are CLI flags, parsed by the same loadConfig the binary uses.
 */
import { pino, type Logger } from 'pino';
import { loadConfig, type Config } from '../../src/config/load.js';
import { start, type Running, type StartOptions } from '../../src/main.js';

export interface TestAttache {
  readonly running: Running;
  /** `http://127.0.0.1:PORT` of the REST listener. */
  readonly url: string;
  /** `http://127.0.0.1:PORT` of the admin listener. */
  readonly adminUrl: string;
  stop(): Promise<void>;
}

/** What a test may add: its own logger (built from the loaded config) and start options (span processors). */
export interface TestAttacheOptions {
  readonly logger?: (config: Config) => Logger;
  readonly start?: StartOptions;
}

/** Starts attache with `args` (e.g. ['--protos', dir, '--mappings', dir, '--upstream', target]). */
export async function startAttache(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
  options: TestAttacheOptions = {},
): Promise<TestAttache> {
  const loaded = loadConfig(
    ['--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--log-level', 'silent', ...args],
    // The suites under test/grpc-js/ run other suites again with ATTACHE_UPSTREAM_TRANSPORT=grpc-js, so both
    // upstream clients meet the same real servers; nothing else of the test process's environment leaks in.
    { ATTACHE_UPSTREAM_TRANSPORT: process.env['ATTACHE_UPSTREAM_TRANSPORT'], ...env },
  );
  if (!loaded.ok) throw new Error(`bad test config:\n${loaded.errors.map((e) => e.toString()).join('\n')}`);
  const logger = options.logger?.(loaded.config) ?? pino({ level: loaded.config.logLevel });
  // The same variables reach what reads the environment after loading (upstream credentials' client secrets).
  const running = await start(loaded.config, logger, { env: { ...process.env, ...env }, ...options.start });
  return {
    running,
    url: `http://127.0.0.1:${running.port}`,
    adminUrl: `http://127.0.0.1:${running.adminPort}`,
    stop: () => running.stop(),
  };
}
