/**
 * `attache dev --upstream HOST:PORT`: the frontend developer's one command. The same attache, with the
 * settings a laptop wants by default — descriptors by gRPC server reflection, auto-mapping of every method
 * without a rule, CORS for pages served from localhost on any port, readable logs, loopback listeners — and
 * restarts in place when a local proto, mapping or config file changes. It prints the routes and where the
 * API reference page is.
 *
 * Every default is a flag added only when neither the flag nor its environment variable is given, so any
 * of them can be changed the usual way (`attache dev --upstream x --listen 127.0.0.1:3000`).
 */
import fs from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from './config/load.js';
import { SCHEMA } from './config/schema.js';
import { loadSnapshot } from './load-snapshot.js';
import { formatProblem } from './snapshot.js';
import { routeTable } from './ops/route-table.js';
import type { Snapshot } from './snapshot.js';

/** The defaults `dev` adds: [setting, flag value or undefined for a switch]. */
const DEV_DEFAULTS = [
  [SCHEMA.reflection, undefined],
  [SCHEMA.autoMapping, undefined],
  [SCHEMA.logFormat, 'pretty'],
  [SCHEMA.listen, '127.0.0.1:8080'],
  [SCHEMA.adminListen, '127.0.0.1:9901'],
] as const;

/** Pages a frontend dev server serves (Vite, webpack, Next…), on any port. */
const DEV_ORIGINS = ['http://localhost:*', 'http://127.0.0.1:*', 'http://[::1]:*'];

/** `dev`'s arguments (after `dev`) with its defaults added where the user set nothing. */
export function devArgv(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): string[] {
  const given = (flag: string | undefined, envName: string | undefined): boolean =>
    (flag !== undefined && argv.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`))) || (envName !== undefined && (env[envName] ?? '') !== '');
  const out = [...argv];
  for (const [setting, value] of DEV_DEFAULTS) {
    if (given(setting.flag, setting.env)) continue;
    out.push(value === undefined ? `--${setting.flag}` : `--${setting.flag}=${value}`);
  }
  // Added to whatever origins are configured: the page under development always runs on localhost.
  for (const o of DEV_ORIGINS) out.push(`--cors-origin=${o}`);
  return out;
}

/**
 * The config `dev` runs with: the default `protos` and `mappings` folders are optional (a project with no
 * local protos gets everything by reflection), so missing default folders are left out.
 */
export function devConfig(config: Config): Config {
  const keep = (paths: readonly string[], dflt: string): readonly string[] =>
    paths.length === 1 && paths[0] === dflt && !fs.existsSync(dflt) ? [] : paths;
  return Object.freeze({ ...config, protos: keep(config.protos, 'protos'), mappings: keep(config.mappings, 'mappings') });
}

/** What `dev` prints once it serves: the routes, then where the API and its reference page are. */
export function devBanner(running: Running, config: Config): string {
  const host = (h: string): string => (h === '0.0.0.0' || h === '::' ? 'localhost' : h.includes(':') ? `[${h}]` : h);
  const rest = `http://${host(config.listen.host)}:${running.port}`;
  const admin = `http://${host(config.adminListen.host)}:${running.adminPort}`;
  const routes = running.snapshot.table.routes.length === 0 ? '(no routes)' : routeTable(running.snapshot);
  return [
    '',
    routes,
    '',
    `attache dev: ${running.snapshot.table.routes.length} route(s) to ${config.upstream ?? '(no upstream)'}`,
    `  REST API        ${rest}`,
    `  API reference   ${admin}/docs`,
    `  OpenAPI         ${admin}/openapi.json`,
    `  CORS            ${config.cors.origins.join(', ')}`,
    'Restarts when a proto, mapping or config file changes. Press Ctrl-C to stop.',
    '',
  ].join('\n');
}

/** A running dev session; `stop` drains the current attache. */
export interface DevSession {
  stop(): Promise<void>;
}

/** What dev needs of a running attache (main.ts's Running; dev.ts does not import main.ts). */
interface Running {
  readonly port: number;
  readonly adminPort: number;
  readonly snapshot: Snapshot;
  stop(): Promise<void>;
}

type Start = (config: Config, logger: Logger) => Promise<Running>;

/**
 * Starts attache (through `start`, so dev.ts needs no import of main.ts) and restarts it when a watched
 * file changes: the new configuration is loaded first, and only a valid one replaces the running attache;
 * problems are logged and the running one keeps serving.
 * @throws StartupError (from `start`) when the first start fails.
 */
export async function startDev(config: Config, logger: Logger, start: Start, print: (text: string) => void): Promise<DevSession> {
  let running = await start(config, logger);
  print(devBanner(running, config));
  const watched = [...config.protos, ...config.mappings, ...(config.configFile !== undefined ? [config.configFile] : [])].filter((p) => fs.existsSync(p));
  let timer: NodeJS.Timeout | undefined;
  let restarting: Promise<void> = Promise.resolve();
  let stopped = false;
  const restart = async (): Promise<void> => {
    const checked = await loadSnapshot(config);
    if (!checked.ok) {
      logger.warn({ problems: checked.problems.map(formatProblem) }, 'the changed files do not load; still serving the previous ones');
      return;
    }
    await running.stop();
    if (stopped) return;
    running = await start(config, logger);
    print(devBanner(running, config));
  };
  const watchers = watched.map((p) =>
    fs.watch(p, { recursive: fs.statSync(p).isDirectory() }, () => {
      clearTimeout(timer);
      // Editors write a file in several steps; one restart after they settle.
      timer = setTimeout(() => {
        logger.info({ watched }, 'a watched file changed; restarting');
        restarting = restarting.then(restart).catch((err: unknown) => logger.error({ err }, 'restart failed'));
      }, 200);
    }),
  );
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      for (const w of watchers) w.close();
      await restarting;
      await running.stop();
    },
  };
}
