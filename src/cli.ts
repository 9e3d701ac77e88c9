#!/usr/bin/env node
/**
 * The command line: argv/env → config → `--help`, `--version`, `--check` (print the route table or every
 * problem, exit 0 or 1) or a running attache with signal handlers. The only file that calls process.exit.
 */
// First, before the libraries load: see the module.
import { startupHold } from './ops/startup-hold-taken.js';
// Second, still before the libraries: inside a memory limit this may replace the process (see the module).
import { heapSettings } from './ops/heap-settings-taken.js';
import path from 'node:path';
import { helpText, loadConfig, type Config, type LoadResult } from './config/load.js';
import { createLogger, start, StartupError, type Running } from './main.js';
import { applyHeapGrowth, heapGrowthText } from './ops/heap.js';
import { holdYoungGeneration } from './ops/young-generation.js';
import { MMAP_THRESHOLD_ENV } from './ops/malloc-settings.js';
import { isWorkerProcess, superviseWorkers } from './ops/workers.js';
import { PACKAGE_DIR, PACKAGE_VERSION } from './package-dir.js';
import { loadSnapshot } from './load-snapshot.js';
import { formatProblem } from './snapshot.js';
import { routeTable } from './ops/route-table.js';
import { devArgv, devConfig, startDev } from './dev.js';

/**
 * What `--check` builds with when no upstream is given, so that every route can still be validated: a
 * reserved name (RFC 2606 `.invalid`) that no backend rule would use, shown as "(unset)" in the table.
 */
const UNSET_UPSTREAM = 'upstream-unset.invalid:1';

/**
 * `--check`: validates everything and prints the route table (exit 0) or every problem (exit 1). It needs no
 * upstream: without one, the routes that would call the default upstream are listed with it unset, and a
 * warning says that serving them needs one (serving without an upstream stays a start-up error).
 */
async function check(config: Config): Promise<number> {
  // The demo's backend address is only known once it runs; any placeholder lets the routes be checked.
  const placeholder = config.upstream !== undefined ? undefined : config.demo ? '127.0.0.1:0' : UNSET_UPSTREAM;
  const effective = placeholder === undefined ? config : Object.freeze({ ...config, upstream: placeholder });
  const built = await loadSnapshot(effective, process.env);
  if (!built.ok) {
    process.stderr.write(`${built.problems.length} problem(s) found:\n${built.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}\n`);
    return 1;
  }
  const { routes } = built.snapshot.table;
  process.stdout.write(`${routeTable(built.snapshot, UNSET_UPSTREAM)}\n\n${routes.length} route(s) OK\n`);
  const unset = routes.filter((r) => r.upstream.target === UNSET_UPSTREAM);
  if (unset.length > 0) {
    process.stderr.write(
      `warning: no upstream set (--upstream or GRPC_TARGET): ${unset.length} route(s) have none; ` +
        `serving them needs one, or a backend rule with an address [ATTACHE_E_NO_UPSTREAM]\n`,
    );
  }
  return 0;
}

/** The demo serves the repo's own API wherever it is started from. */
function withDemoPaths(config: Config): Config {
  if (!config.demo) return config;
  return Object.freeze({
    ...config,
    protos: config.protos.map((p) => (p === 'protos' ? path.join(PACKAGE_DIR, 'protos') : p)),
    mappings: config.mappings.map((p) => (p === 'mappings' ? path.join(PACKAGE_DIR, 'mappings') : p)),
  });
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  // `attache dev …`: the frontend developer's defaults (src/dev.ts), then the same program.
  const dev = argv[0] === 'dev';
  const loaded = loadConfig(dev ? devArgv(argv.slice(1), process.env) : argv, process.env);
  if (!loaded.ok) {
    process.stderr.write(`${loaded.errors.map((e) => e.toString()).join('\n')}\n\nRun attache --help for the flags.\n`);
    return 1;
  }
  let config = loaded.config;
  if (config.help) {
    process.stdout.write(helpText());
    return 0;
  }
  if (config.version) {
    process.stdout.write(`attache ${PACKAGE_VERSION}\n`);
    return 0;
  }
  config = withDemoPaths(config);
  if (dev) config = devConfig(config);
  if (config.check) return await check(config);

  // --workers N: this process only supervises; the workers (same argv) run the code below, logging their pid.
  const logger = isWorkerProcess() ? createLogger(config).child({ pid: process.pid }) : createLogger(config);
  // Before anything allocates in earnest (src/ops/heap.ts: what --heap-growth trades, and why `auto` sets it).
  if (heapSettings !== undefined) {
    const { source, semiSpaceMiB, limitBytes, growthPercent } = heapSettings;
    if (growthPercent !== undefined) applyHeapGrowth(growthPercent, process.execArgv, process.env['NODE_OPTIONS']);
    // Set by src/launch.ts (src/ops/malloc-settings.ts) or by whoever started attache; undefined: glibc's own.
    const mmapThreshold = process.env[MMAP_THRESHOLD_ENV];
    const heap = { source, semiSpaceMiB, limitMiB: limitBytes === undefined ? undefined : Math.round(limitBytes / 1048576), growthPercent, mallocMmapThreshold: mmapThreshold };
    const msg = `heap settings: ${heapSettings.reason}; ${heapGrowthText(growthPercent)}${mmapThreshold === undefined ? '' : `; malloc maps ${mmapThreshold} bytes and more on their own`}`;
    if (source === 'not-possible') logger.warn({ heap }, msg);
    else logger.info({ heap }, msg);
  }
  if (dev) return runDev(config, logger);
  if (config.workers > 1 && !isWorkerProcess()) {
    const supervising = superviseWorkers({ workers: config.workers, logger });
    startupHold.release();
    return supervising;
  }
  // Listened for before starting: start() logs "attache ready" once it listens, and an orchestrator or the
  // worker supervisor may signal right after; a signal that comes during start-up drains once started.
  const stopSignal = firstStopSignal();
  // SIGHUP reloads. Its default action ends the process, so it is handled from here on; one that comes
  // during start-up reloads once started.
  let running: Running | undefined;
  let hupDuringStartUp = false;
  process.on('SIGHUP', () => {
    if (running !== undefined) void running.reload('SIGHUP');
    else hupDuringStartUp = true;
  });
  try {
    // A reload reads the same flags and env again, and the config file they name.
    const reloadConfig = (): LoadResult => {
      const again = loadConfig(argv, process.env);
      return again.ok ? { ok: true, config: withDemoPaths(again.config) } : again;
    };
    running = await start(config, logger, { reloadConfig, heapSettings });
  } catch (err) {
    if (err instanceof StartupError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    logger.fatal({ err }, 'attache failed to start');
    return 1;
  }
  startupHold.release();
  holdYoungGenerationIfDecided();
  if (hupDuringStartUp) void running.reload('SIGHUP');
  if (running.demoTarget !== undefined) {
    const base = `http://127.0.0.1:${running.port}`;
    process.stderr.write(
      `\nattache demo: REST on ${base}, admin on http://127.0.0.1:${running.adminPort}, demo gRPC backend on ${running.demoTarget}\n` +
        `  curl -s ${base}/api/payments/pay_001\n` +
        `  curl -s -X POST ${base}/api/payments/charge -d '{"customerId":"cus_alice","amountMinor":"1999","currency":"EUR"}'\n` +
        `  curl -s -X POST ${base}/api/payments/charge -d '{"customerId":"cus_alice","amountMinor":"-5","currency":"eur"}'\n` +
        `  curl -sN '${base}/api/payments:watch?customerId=cus_alice'   (a stream: docs/streaming.md)\n` +
        `Press Ctrl-C to stop.\n\n`,
    );
  }
  const signal = await stopSignal;
  logger.info({ signal }, 'signal received, draining');
  try {
    await running.stop();
    return 0;
  } catch (err) {
    logger.error({ err }, 'error while stopping');
    return 1;
  }
}

/** `attache dev`: one process, restarted in place on file changes, until SIGTERM or SIGINT. */
async function runDev(config: Config, logger: ReturnType<typeof createLogger>): Promise<number> {
  const stopSignal = firstStopSignal();
  let session;
  try {
    session = await startDev(config, logger, start, (text) => process.stderr.write(text));
  } catch (err) {
    if (err instanceof StartupError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
  startupHold.release();
  holdYoungGenerationIfDecided();
  logger.info({ signal: await stopSignal }, 'signal received, draining');
  await session.stop();
  return 0;
}

/** Once start-up's own hold is released: the young generation ceiling heap settings decided on, if any. */
function holdYoungGenerationIfDecided(): void {
  if (heapSettings?.source === 'held' && heapSettings.semiSpaceMiB !== undefined) holdYoungGeneration(2 * heapSettings.semiSpaceMiB * 1024 * 1024);
}

/** The first SIGTERM or SIGINT the process receives. */
function firstStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('SIGINT', onSignal);
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/**
 * Exits once what was written to stdout and stderr has gone out: when the reader of a pipe is slower than
 * attache (`attache --check | less`), writes wait in the stream, and process.exit would drop them (the
 * route table of a large set stopped at ~64 KiB, exit code 0).
 */
function exitWhenFlushed(code: number): void {
  let pending = 2;
  const done = (): void => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

main().then(
  (code) => exitWhenFlushed(code),
  (err: unknown) => {
    process.stderr.write(`attache: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    exitWhenFlushed(1);
  },
);
