/**
 * Live reload, end to end. In process: a bounded load of requests runs while the mapping file and the config
 * file change several times (a new route, a change of upstream, an invalid mapping, its fix) and every
 * request succeeds; a request in flight on the old upstream finishes there; a rejected reload keeps the old
 * routes and says why. As processes (dist/cli.js): --watch picks up a file change by itself, SIGHUP
 * reloads, and with --workers 2 the primary's SIGHUP reloads every worker.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { routeDiff } from '../../src/ops/reload.js';
import { E2E_PROTOS_DIR, startTestServer, type TestServer } from '../support/grpc-server.js';
import { request } from '../support/http.js';
import { startAttache, type TestAttache } from '../support/attache.js';
import { CLI, ensureBuilt, freePort, spawnCollected, untilReady, type Spawned } from '../support/process.js';

/** A mapping file with GetEcho and Slow, plus `extra` rules. */
function mapping(extra = ''): string {
  return `type: google.api.Service
config_version: 3
http:
  rules:
    - selector: e2e.v1.EchoService.GetEcho
      get: /v1/echo/{id}
    - selector: e2e.v1.EchoService.Slow
      get: /v1/slow/{ms}
${extra}`;
}

const NEW_ROUTE = `    - selector: e2e.v1.EchoService.GetThing
      get: /v2/things/{id}
`;
const BROKEN_ROUTE = `    - selector: e2e.v1.EchoService.GetThing
      get: /v2/things/{id=
`;

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-reload-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('routeDiff', () => {
  it('names added, removed and changed routes by method and template', async () => {
    const { buildSnapshot } = await import('../../src/snapshot.js');
    const table = (extra: string, upstream: string) => {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, 'm.yaml'), mapping(extra));
      const loaded = loadConfig(['--protos', E2E_PROTOS_DIR, '--mappings', path.join(dir, 'm.yaml'), '--upstream', upstream], {});
      if (!loaded.ok) throw new Error('bad config');
      const built = buildSnapshot(loaded.config);
      if (!built.ok) throw new Error(built.problems.map((p) => p.message).join('\n'));
      return built.snapshot.table;
    };
    const before = table(NEW_ROUTE, '127.0.0.1:1');
    const after = table('    - selector: e2e.v1.EchoService.GetThing\n      get: /v3/things/{id}\n', '127.0.0.1:2');
    const diff = routeDiff(before, after);
    expect(diff.added).toEqual(['GET /v3/things/{id}']);
    expect(diff.removed).toEqual(['GET /v2/things/{id}']);
    // Every other route calls another upstream now.
    expect(diff.changed).toEqual(expect.arrayContaining(['GET /v1/echo/{id}', 'GET /v1/slow/{ms}']));
    expect(routeDiff(before, before)).toEqual({ added: [], removed: [], changed: [] });
  });
});

describe('reload in process, under load', () => {
  let a: TestServer;
  let b: TestServer;
  let attache: TestAttache | undefined;

  beforeAll(async () => {
    [a, b] = await Promise.all([startTestServer(), startTestServer()]);
  });
  afterAll(async () => {
    await attache?.stop();
    await Promise.all([a?.close(), b?.close()]);
  });

  it('routes and upstreams change while requests run: none fails, the new route and upstream are live, a bad reload keeps the old', async () => {
    const dir = tempDir();
    const mappingFile = path.join(dir, 'mappings', 'api.yaml');
    const configFile = path.join(dir, 'attache.yaml');
    fs.mkdirSync(path.dirname(mappingFile));
    fs.writeFileSync(mappingFile, mapping());
    fs.writeFileSync(configFile, `upstream: ${a.target}\n`);
    const args = ['--protos', E2E_PROTOS_DIR, '--mappings', path.join(dir, 'mappings'), '--config', configFile];
    attache = await startAttache(args, {}, {
      start: {
        // What cli.ts does: the same flags again, and the config file they name.
        reloadConfig: () => loadConfig(['--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--log-level', 'silent', ...args], {}),
      },
    });
    const url = attache.url;

    // The load: 4 clients, each request on GET /v1/echo/{id}, for at most 600 requests or 20 s.
    const failures: string[] = [];
    let sent = 0;
    let stopLoad = false;
    const deadline = Date.now() + 20_000;
    const client = async (c: number): Promise<void> => {
      while (!stopLoad && sent < 600 && Date.now() < deadline) {
        const i = sent++;
        const res = await request(`${url}/v1/echo/c${c}-${i}`).catch((err: Error) => ({ status: 0, body: err.message }));
        if (res.status !== 200) failures.push(`${res.status} ${res.body}`);
      }
    };
    const load = Promise.all([0, 1, 2, 3].map(client));
    const untilSent = async (n: number): Promise<void> => {
      await expect.poll(() => sent, { timeout: 10_000, interval: 5 }).toBeGreaterThanOrEqual(n);
    };

    // 1. A new route; the upstream is unchanged, so its connection is kept.
    await untilSent(40);
    fs.writeFileSync(mappingFile, mapping(NEW_ROUTE));
    const first = await attache.running.reload('test');
    expect(first).toMatchObject({ ok: true, diff: { added: ['GET /v2/things/{id}'], removed: [], changed: [] }, keptUpstreams: [`grpc://${a.target}`] });
    expect((await request(`${url}/v2/things/t1`)).status).toBe(200);

    // 2. A call in flight on upstream A when the upstream becomes B finishes on A.
    const slow = request(`${url}/v1/slow/400`);
    await expect.poll(() => a.calls.some((c) => c.method === 'Slow'), { timeout: 5000, interval: 5 }).toBe(true);
    await untilSent(120);
    fs.writeFileSync(configFile, `upstream: ${b.target}\n`);
    const second = await attache.running.reload('test');
    expect(second.ok).toBe(true);
    if (second.ok) {
      expect(second.keptUpstreams).toEqual([]);
      expect(second.diff.changed).toEqual(expect.arrayContaining(['GET /v1/echo/{id}', 'GET /v1/slow/{ms}', 'GET /v2/things/{id}']));
    }
    const before = b.calls.length;
    expect((await request(`${url}/v1/echo/on-b`)).status).toBe(200);
    expect(b.calls.length).toBeGreaterThan(before);
    expect((await slow).status).toBe(200);

    // 3. An invalid mapping is rejected with its reason; the previous routes keep serving.
    await untilSent(200);
    fs.writeFileSync(mappingFile, mapping(BROKEN_ROUTE));
    const third = await attache.running.reload('test');
    expect(third.ok).toBe(false);
    if (!third.ok) expect(third.problems.join('\n')).toMatch(/api\.yaml:\d+: e2e\.v1\.EchoService\.GetThing: invalid path template "\/v2\/things\/\{id=".*unclosed.*\[ATTACHE_E_TEMPLATE\]/);
    expect((await request(`${url}/v2/things/t2`)).status).toBe(200);

    // 4. Fixed again, with the route moved.
    await untilSent(280);
    fs.writeFileSync(mappingFile, mapping(NEW_ROUTE.replace('/v2/', '/v3/')));
    const fourth = await attache.running.reload('test');
    expect(fourth).toMatchObject({ ok: true, diff: { added: ['GET /v3/things/{id}'], removed: ['GET /v2/things/{id}'] } });
    expect((await request(`${url}/v3/things/t3`)).status).toBe(200);
    expect((await request(`${url}/v2/things/t3`)).status).toBe(404);

    await untilSent(360);
    stopLoad = true;
    await load;
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(360);

    const metrics = await request(`${attache.adminUrl}/metrics`);
    expect(metrics.body).toContain('attache_config_reloads_total{result="success"} 3');
    expect(metrics.body).toContain('attache_config_reloads_total{result="failure"} 1');
  });
});

describe('reload as a process', () => {
  let server: TestServer;
  let proc: Spawned | undefined;

  beforeAll(async () => {
    ensureBuilt();
    server = await startTestServer();
  }, 180_000);
  afterEach(() => proc?.kill());
  afterAll(async () => {
    await server?.close();
  });

  /** Starts dist/cli.js on a temp copy of a mapping, with `extra` flags; returns the mapping file. */
  async function startCli(extra: readonly string[]): Promise<{ mappingFile: string; port: number; adminPort: number }> {
    const dir = tempDir();
    const mappingFile = path.join(dir, 'api.yaml');
    fs.writeFileSync(mappingFile, mapping());
    const [port, adminPort] = [await freePort(), await freePort()];
    proc = spawnCollected(process.execPath, [CLI, '--protos', E2E_PROTOS_DIR, '--mappings', mappingFile, '--upstream', server.target,
      '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${adminPort}`, '--log-format', 'json', ...extra], { env: { PATH: process.env['PATH'] ?? '' } });
    await untilReady(adminPort);
    return { mappingFile, port, adminPort };
  }

  /** The log lines (pino JSON) with this message. */
  const logLines = (msg: string): Array<Record<string, unknown>> =>
    proc!.stdout().trim().split('\n').flatMap((l) => {
      try {
        const j = JSON.parse(l) as Record<string, unknown>;
        return j['msg'] === msg ? [j] : [];
      } catch {
        return [];
      }
    });

  it('--watch: a mapping change is picked up by itself; a broken one is rejected and logged with its reason', async () => {
    const { mappingFile, port } = await startCli(['--watch']);
    expect((await request(`http://127.0.0.1:${port}/v2/things/x`)).status).toBe(404);
    // Written as editors do: a new file renamed over the old one.
    fs.writeFileSync(`${mappingFile}.tmp`, mapping(NEW_ROUTE));
    fs.renameSync(`${mappingFile}.tmp`, mappingFile);
    await expect.poll(async () => (await request(`http://127.0.0.1:${port}/v2/things/x`)).status, { timeout: 10_000, interval: 50 }).toBe(200);
    expect(logLines('configuration reloaded')[0]).toMatchObject({ trigger: 'watch', added: ['GET /v2/things/{id}'] });

    fs.writeFileSync(mappingFile, mapping(BROKEN_ROUTE));
    await expect.poll(() => proc!.stdout().includes('configuration reload rejected'), { timeout: 10_000, interval: 50 }).toBe(true);
    const rejected = proc!.stdout().split('\n').find((l) => l.includes('configuration reload rejected'))!;
    expect(rejected).toContain('unclosed');
    expect((await request(`http://127.0.0.1:${port}/v2/things/x`)).status).toBe(200);
    proc!.child.kill('SIGTERM');
    expect(await proc!.exited, proc!.output()).toBe(0);
  });

  it('--watch follows a Kubernetes ConfigMap volume update (the kubelet swaps a ..data symlink)', async () => {
    // The kubelet's layout: files are symlinks through ..data to a timestamped folder; an update writes a new
    // folder, points a new ..data_tmp at it, renames that over ..data and deletes the old folder.
    const dir = tempDir();
    const version = (n: number, text: string): string => {
      const d = path.join(dir, `..2026_12_07_0${n}`);
      fs.mkdirSync(d);
      fs.writeFileSync(path.join(d, 'api.yaml'), text);
      return path.basename(d);
    };
    fs.symlinkSync(version(1, mapping()), path.join(dir, '..data'));
    fs.symlinkSync('..data/api.yaml', path.join(dir, 'api.yaml'));
    const [port, adminPort] = [await freePort(), await freePort()];
    proc = spawnCollected(process.execPath, [CLI, '--protos', E2E_PROTOS_DIR, '--mappings', dir, '--upstream', server.target, '--watch',
      '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${adminPort}`, '--log-format', 'json'], { env: { PATH: process.env['PATH'] ?? '' } });
    await untilReady(adminPort);
    expect((await request(`http://127.0.0.1:${port}/v2/things/x`)).status).toBe(404);
    fs.symlinkSync(version(2, mapping(NEW_ROUTE)), path.join(dir, '..data_tmp'));
    fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    fs.rmSync(path.join(dir, '..2026_12_07_01'), { recursive: true });
    await expect.poll(async () => (await request(`http://127.0.0.1:${port}/v2/things/x`)).status, { timeout: 10_000, interval: 50 }).toBe(200);
    proc.child.kill('SIGTERM');
    expect(await proc.exited, proc.output()).toBe(0);
  });

  it('SIGHUP reloads a single process', async () => {
    const { mappingFile, port } = await startCli([]);
    fs.writeFileSync(mappingFile, mapping(NEW_ROUTE));
    proc!.child.kill('SIGHUP');
    await expect.poll(async () => (await request(`http://127.0.0.1:${port}/v2/things/x`)).status, { timeout: 10_000, interval: 50 }).toBe(200);
    expect(logLines('configuration reloaded')[0]).toMatchObject({ trigger: 'SIGHUP' });
    proc!.child.kill('SIGTERM');
    expect(await proc!.exited, proc!.output()).toBe(0);
  });

  it('--workers 2: SIGHUP to the primary reloads every worker', async () => {
    const { mappingFile, port } = await startCli(['--workers', '2']);
    await expect.poll(() => logLines('attache ready').length, { timeout: 15_000, interval: 50 }).toBe(2);
    fs.writeFileSync(mappingFile, mapping(NEW_ROUTE));
    proc!.child.kill('SIGHUP');
    await expect.poll(() => logLines('configuration reloaded').length, { timeout: 10_000, interval: 50 }).toBe(2);
    const pids = new Set(logLines('configuration reloaded').map((l) => l['pid']));
    expect(pids).toEqual(new Set(logLines('attache ready').map((l) => l['pid'])));
    // Fresh connections reach both workers in turn; each serves the new route.
    for (let i = 0; i < 4; i++) {
      expect((await request(`http://127.0.0.1:${port}/v2/things/x${i}`, { headers: { connection: 'close' } })).status).toBe(200);
    }
    proc!.child.kill('SIGTERM');
    expect(await proc!.exited, proc!.output()).toBe(0);
  });
});
