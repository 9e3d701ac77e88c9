/**
 * The command line as a user runs it: `node dist/cli.js` as a child process. `--check` on good and broken
 * configurations (every problem listed, with file:line), `--help`, an unknown flag, and a real process that
 * serves and exits 0 on SIGTERM after finishing its in-flight request. dist/cli.js is the bundle
 * scripts/bundle.mjs writes, so these tests run what users run, and one runs it away from node_modules.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import nodeModule from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_MAPPINGS_DIR, E2E_PROTOS_DIR, E2E_STREAMING_MAPPINGS_DIR, startTestServer, type TestServer } from '../support/grpc-server.js';
import { haveOpenssl, makeCa, makeLeaf } from '../support/certs.js';
import { RES_PROTOS_DIR, startFlakyServer } from '../support/flaky-server.js';
import { request } from '../support/http.js';
import { writeMapping } from '../support/resilience.js';
import { processExecve, runsOnGlibc } from '../../src/ops/process-image.js';
import { CLI, REPO, ensureBuilt, freePort, spawnCollected, untilReady, type Spawned } from '../support/process.js';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI to completion from the repo root. */
function cli(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: REPO, timeout: 15_000, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Writes `files` (relative path → text) under a new temp folder and returns the folder. */
function tempTree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-cli-'));
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

const HEADER = /^METHOD +TEMPLATE +SELECTOR +KIND +UPSTREAM +DEADLINE +SOURCE$/m;

const API_PROTO = `syntax = "proto3";
package bad.v1;

service Api {
  rpc Get(Req) returns (Res);
  rpc Other(Req) returns (Res);
  rpc Third(Req) returns (Res);
  rpc Fourth(Req) returns (Res);
}

message Req {
  string id = 1;
}

message Res {
  string id = 1;
}
`;

/** Five problems in one mapping file: rules at lines 5 (unknown method), 7 (unknown field), 9 (bad template),
 * 11 and 13 (the same path), 15 (a second rule for Third). */
const BROKEN_RULES = `type: google.api.Service
config_version: 3
http:
  rules:
    - selector: bad.v1.Api.Missing
      get: /v1/missing
    - selector: bad.v1.Api.Get
      get: /v1/things/{nope}
    - selector: bad.v1.Api.Other
      get: /v1/broken/{unclosed
    - selector: bad.v1.Api.Third
      get: /v1/dup/{id}
    - selector: bad.v1.Api.Fourth
      get: /v1/dup/{id}
    - selector: bad.v1.Api.Third
      post: /v1/again
`;

const tempDirs: string[] = [];

beforeAll(() => {
  ensureBuilt();
}, 180_000);

afterAll(() => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

function broken(files: Record<string, string>): string {
  const dir = tempTree(files);
  tempDirs.push(dir);
  return dir;
}

/** Starts `node <entry> ...args` (entry: dist/cli.js) with its stdout and stderr collected. */
function spawnCli(args: readonly string[], opts: { cwd?: string; entry?: string; env?: NodeJS.ProcessEnv } = {}): Spawned {
  return spawnCollected(process.execPath, [opts.entry ?? CLI, ...args], { cwd: opts.cwd ?? REPO, env: opts.env ?? process.env });
}

describe('--check on good configurations', () => {
  it('the demo (--demo --check): exit 0 and the route table with file:line sources', async () => {
    const r = await cli(['--demo', '--check']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(HEADER);
    expect(r.stdout).toMatch(/^GET +\/api\/payments\/\{payment_id\} +payments\.v1\.PaymentService\.GetPayment +unary +\S+ +5s +\S*mappings\/payments\.yaml:14$/m);
    expect(r.stdout).toMatch(/^POST +\/api\/payments\/\{payment_id\}:refund +payments\.v1\.PaymentService\.RefundPayment +unary .*payments\.yaml:16$/m);
    // The one annotation route names the proto file and line.
    expect(r.stdout).toMatch(/^PATCH +\/api\/payments\/\{payment\.id\} +payments\.v1\.PaymentService\.UpdatePayment +unary .*payments\.proto:\d+$/m);
    expect(r.stdout).toMatch(/^GET +\/api\/payments:watch +payments\.v1\.PaymentService\.WatchPayments +server-stream /m);
    expect(r.stdout).toMatch(/\n8 route\(s\) OK\n$/);
  });

  it('the e2e fixture: exit 0, every route, rule and default deadlines, the upstream', async () => {
    const r = await cli(['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--upstream', '127.0.0.1:50051', '--check']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(HEADER);
    expect(r.stdout).toMatch(/^GET +\/v1\/slow\/\{ms\} +e2e\.v1\.EchoService\.Slow +unary +127\.0\.0\.1:50051 +2s +\S*echo\.yaml:\d+$/m);
    expect(r.stdout).toMatch(/^GET +\/v1\/echo\/\{id\} +e2e\.v1\.EchoService\.GetEcho +unary +127\.0\.0\.1:50051 +15s \(default\) +\S*mappings\/echo\.yaml:21$/m);
    expect(r.stdout).toMatch(/^POST +\/v1\/echo\/\{id\} +e2e\.v1\.EchoService\.Echo +unary .*echo\.yaml:27$/m);
    expect(r.stdout).toMatch(/^PURGE +\/v1\/cache\/\{id\} +e2e\.v1\.EchoService\.Purge +unary .*e2e\.proto:\d+$/m);
    expect(r.stdout).toMatch(/^GET +\/v1\/\{name=shelves\/\*\/books\/\*\} +e2e\.v1\.EchoService\.GetShelfBook +unary .*e2e\.proto:\d+$/m);
    // The overridden annotation is not routed.
    expect(r.stdout).not.toContain('/v1/annotation-overridden/');
    expect(r.stdout).toMatch(/\n\d+ route\(s\) OK\n$/);
  });

  it('streaming methods load and are listed with their kind (no method kind is refused)', async () => {
    const r = await cli(['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--mappings', E2E_STREAMING_MAPPINGS_DIR, '--upstream', '127.0.0.1:50051', '--check']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^POST +\/v1\/stream +e2e\.v1\.EchoService\.Stream +server-stream +127\.0\.0\.1:50051 /m);
    expect(r.stdout).toMatch(/^POST +\/v1\/collect +e2e\.v1\.EchoService\.Collect +client-stream /m);
    expect(r.stdout).toMatch(/^POST +\/v1\/chat +e2e\.v1\.EchoService\.Chat +bidi /m);
    expect(r.stdout).toMatch(/^GET +\/v1\/echo\/\{id\} +e2e\.v1\.EchoService\.GetEcho +unary /m);
  });
});

describe('--check on broken configurations: exit 1 listing every problem', () => {
  it('several mapping problems in one file, each with file:line, rule and code', async () => {
    const dir = broken({ 'protos/bad/v1/api.proto': API_PROTO, 'mappings/rules.yaml': BROKEN_RULES });
    const r = await cli(['--protos', path.join(dir, 'protos'), '--mappings', path.join(dir, 'mappings'), '--upstream', '127.0.0.1:1', '--check']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const rules = path.join(dir, 'mappings', 'rules.yaml');
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toBe('5 problem(s) found:');
    const problems = lines.slice(1).map((l) => l.trim());
    expect(problems).toHaveLength(5);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${rules}:5: bad\\.v1\\.Api\\.Missing: .*\\[ATTACHE_E_UNKNOWN_METHOD\\]$`)),
        expect.stringMatching(new RegExp(`^${rules}:7: bad\\.v1\\.Api\\.Get: .*\\{nope\\}.*\\[ATTACHE_E_UNKNOWN_FIELD\\]$`)),
        expect.stringMatching(new RegExp(`^${rules}:9: bad\\.v1\\.Api\\.Other: .*/v1/broken/\\{unclosed.*\\[ATTACHE_E_TEMPLATE\\]$`)),
        // The conflict names both rules (its rule sits in the source, in parentheses).
        expect.stringMatching(new RegExp(`^${rules}:13 \\(bad\\.v1\\.Api\\.Fourth\\): .*conflicts with ${rules}:11 \\(bad\\.v1\\.Api\\.Third\\) \\[ATTACHE_E_ROUTE_CONFLICT\\]$`)),
        expect.stringMatching(new RegExp(`^${rules}:15: bad\\.v1\\.Api\\.Third: .*${rules}:11.*\\[ATTACHE_E_DUPLICATE_RULE\\]$`)),
      ]),
    );
  });

  it('a template that does not parse is listed even when the protos fail to load', async () => {
    const dir = broken({
      'protos/x/b.proto': 'syntax = "proto3";\npackage x;\nimport "x/nothere.proto";\nmessage B { string b = 1; }\n',
      'mappings/m.yaml': 'type: google.api.Service\nconfig_version: 3\nhttp:\n  rules:\n    - selector: x.S.M\n      get: /v1/{a\n      additional_bindings:\n        - get: /v2/{b=**}/c\n',
    });
    const r = await cli(['--protos', path.join(dir, 'protos'), '--mappings', path.join(dir, 'mappings'), '--check']);
    expect(r.code).toBe(1);
    const m = path.join(dir, 'mappings', 'm.yaml');
    expect(r.stderr).toMatch(/^3 problem\(s\) found:\n/);
    expect(r.stderr).toContain('b.proto:3: import "x/nothere.proto" not found');
    expect(r.stderr).toContain(`${m}:5: x.S.M: invalid path template "/v1/{a"`);
    expect(r.stderr).toMatch(new RegExp(`${m}:8: x\\.S\\.M: invalid path template "/v2/\\{b=\\*\\*\\}/c".*\\[ATTACHE_E_TEMPLATE\\]`));
  });

  it('a missing import names the importing file:line and the import', async () => {
    const dir = broken({
      'protos/x/b.proto': 'syntax = "proto3";\npackage x;\nimport "x/nothere.proto";\nmessage B { string b = 1; }\n',
      'mappings/empty.yaml': 'type: google.api.Service\nconfig_version: 3\n',
    });
    const r = await cli(['--protos', path.join(dir, 'protos'), '--mappings', path.join(dir, 'mappings'), '--check']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${path.join(dir, 'protos', 'x', 'b.proto')}:3: import "x/nothere.proto" not found`);
  });

  // KNOWN BUG (src/registry/load.ts, fromProtobufError): it only lifts "(file, line N)" out of a protobufjs
  // error, but protobufjs 7.6's tokenizer says just "(line N)", so the problem reads
  // "…/a.proto: illegal token '}', ';' expected (line 6)" instead of "…/a.proto:6: …". Turn into `it` when fixed.
  it('a proto syntax error names file:line', async () => {
    const dir = broken({
      'protos/x/a.proto': 'syntax = "proto3";\npackage x;\n\nmessage A {\n  string a = 1\n}\n',
      'mappings/empty.yaml': 'type: google.api.Service\nconfig_version: 3\n',
    });
    const r = await cli(['--protos', path.join(dir, 'protos'), '--mappings', path.join(dir, 'mappings'), '--check']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${path.join(dir, 'protos', 'x', 'a.proto')}:6: .*illegal token`));
  });

  // KNOWN BUG (src/registry/load.ts, loadRegistry): it throws at the first broken file, so b.proto's missing
  // import is not reported until a.proto is fixed. (The mapping's template error is listed: snapshot.ts
  // parses templates when the protos fail.) Turn into `it` when fixed.
  it('proto and mapping problems together: all of them', async () => {
    const dir = broken({
      'protos/x/a.proto': 'syntax = "proto3";\npackage x;\n\nmessage A {\n  string a = 1\n}\n',
      'protos/x/b.proto': 'syntax = "proto3";\npackage x;\nimport "x/nothere.proto";\nmessage B { string b = 1; }\n',
      'mappings/m.yaml': 'type: google.api.Service\nconfig_version: 3\nhttp:\n  rules:\n    - selector: x.S.M\n      get: /v1/{a\n',
    });
    const r = await cli(['--protos', path.join(dir, 'protos'), '--mappings', path.join(dir, 'mappings'), '--check']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('a.proto');
    expect(r.stderr).toContain('b.proto:3: import "x/nothere.proto" not found');
    expect(r.stderr).toMatch(/m\.yaml:5: x\.S\.M: invalid path template "\/v1\/\{a".*\[ATTACHE_E_TEMPLATE\]/);
    expect(r.stderr).toMatch(/^3 problem\(s\) found:/);
  });
});

describe('flags', () => {
  it('--help: exit 0 and the usage on stdout', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: attache/);
    for (const flag of ['--protos', '--mappings', '--upstream', '--listen', '--admin-listen', '--check', '--drain-timeout']) {
      expect(r.stdout).toContain(flag);
    }
  });

  it('an unknown flag: exit 1 naming it', async () => {
    const r = await cli(['--bogus']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('--bogus');
  });

  it('a bad flag value: exit 1 naming the flag', async () => {
    const r = await cli(['--listen', 'nowhere', '--check']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--listen');
  });
});

describe('a real process', () => {
  let server: TestServer;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    server = await startTestServer();
  });

  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
    await server?.close();
  });

  it('serves, then on SIGTERM finishes the in-flight request and exits 0', async () => {
    const [port, adminPort] = [await freePort(), await freePort()];
    const run = spawnCli(['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--upstream', server.target,
      '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${adminPort}`]);
    child = run.child;
    await untilReady(adminPort);
    const echo = await request(`http://127.0.0.1:${port}/v1/echo/x`);
    expect(echo.status).toBe(200);
    expect(echo.json).toEqual({ received: { id: 'x' }, method: 'GetEcho' });

    const slow = request(`http://127.0.0.1:${port}/v1/slow/300`);
    await expect.poll(() => server.calls.some((c) => c.method === 'Slow'), { timeout: 2000, interval: 5 }).toBe(true);
    child.kill('SIGTERM');
    expect((await slow).status).toBe(200);
    expect(await run.exited, run.output()).toBe(0);
    // pino writes one JSON object per line; the ready line names the listener.
    const lines = run.stdout().trim().split('\n').map((l) => JSON.parse(l) as { msg?: string; listen?: string });
    expect(lines.find((l) => l.msg === 'attache ready')?.listen).toBe(`127.0.0.1:${port}`);
  });
  // Built-ins that only some upstreams need are loaded when one does (scripts/bundle.mjs, src/upstream/
  // lazy-builtins.ts): node:http2 (~20 ms and ~7.6 MiB of a start on Node 24) only for an upstream on
  // grpc-js, node:tls and node:https (~3.5 MiB) only for a TLS upstream, node:zlib only for a compressed
  // response. Fastify, ws and prom-client require them when they load and get a proxy that loads them on
  // first use. Node lists every built-in module it loaded.
  describe('built-ins loaded on first use', () => {
    let dir: string;
    let preload: string;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-modules-'));
      preload = path.join(dir, 'modules-on-usr2.cjs');
      fs.writeFileSync(preload, "process.on('SIGUSR2', () => require('node:fs').writeFileSync(process.env.MODULES_OUT, process.moduleLoadList.join('\\n')));\n");
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** Starts the built CLI with `args`, checks that GET `path` answers 200, and returns the built-ins it loaded. */
    const modulesOf = async (args: readonly string[], urlPath = '/v1/echo/x'): Promise<string[]> => {
      const [port, adminPort] = [await freePort(), await freePort()];
      const out = path.join(dir, `modules-${port}.txt`);
      const run = spawnCollected(process.execPath, ['-r', preload, CLI, ...args, '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${adminPort}`], {
        env: { ...process.env, MODULES_OUT: out },
      });
      try {
        await untilReady(adminPort);
        const res = await request(`http://127.0.0.1:${port}${urlPath}`);
        expect(res.status, `${res.body}\n${run.output()}`).toBe(200);
        run.child.kill('SIGUSR2');
        await expect.poll(() => fs.existsSync(out), { timeout: 5000, interval: 20 }).toBe(true);
        return fs.readFileSync(out, 'utf8').split('\n');
      } finally {
        run.child.kill('SIGTERM');
        await run.exited;
      }
    };
    const e2e = (): string[] => ['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--upstream', server.target];

    it('a plaintext upstream on the lean transport loads none of node:http2, node:tls, node:https, node:zlib, nor the promise fs API', async () => {
      const lean = await modulesOf(e2e());
      expect(lean).toContain('NativeModule http');
      for (const m of ['http2', 'tls', 'https', 'zlib']) expect(lean).not.toContain(`NativeModule ${m}`);
      // Node's promise fs API, and Node 24's readline interface behind it, are left unloaded: the proto
      // loader gives protobufjs a file system object with node:fs as its prototype rather than a spread of
      // node:fs, which read `fs.promises` (src/registry/load.ts). (Node 20's ES module loader loads the
      // promise API, and the readline interface with it, itself.)
      if (Number(process.versions.node.split('.')[0]) >= 22) {
        expect(lean).not.toContain('NativeModule internal/fs/promises');
        expect(lean).not.toContain('NativeModule internal/readline/interface');
      }
    });

    it('an upstream on grpc-js loads node:http2', async () => {
      expect(await modulesOf([...e2e(), '--upstream-transport', 'grpc-js'])).toContain('NativeModule http2');
    });

    it.runIf(haveOpenssl())('a TLS upstream loads node:tls and is served, on either transport', async () => {
      const ca = makeCa(dir, 'ca');
      const leaf = makeLeaf(dir, 'server', ca, ['DNS:localhost', 'IP:127.0.0.1']);
      const tlsServer = await startFlakyServer({ tls: { cert: leaf.cert, key: leaf.key } });
      try {
        const mapping = writeMapping(dir, `backend:\n  rules:\n    - selector: "res.v1.*"\n      address: grpcs://${tlsServer.target}\n` +
          `attache:\n  rules:\n    - selector: "res.v1.*"\n      tls: { ca: ${ca.certFile} }\n`, 'tls.yaml');
        for (const transport of ['auto', 'grpc-js']) {
          const loaded = await modulesOf(['--protos', RES_PROTOS_DIR, '--mappings', mapping, '--upstream-transport', transport], `/v1/get/${transport}`);
          expect(loaded, transport).toContain('NativeModule tls');
        }
      } finally {
        await tlsServer.close();
      }
    });
  });
});

describe('stop signals around start-up', () => {
  /** Starts the demo, sends SIGTERM when `when` says so, and returns the exit code and the log lines. */
  async function signalled(when: 'on-ready-line' | 'during-start-up'): Promise<{ code: number | null; msgs: string[]; loggedAt: (msg: string) => number }> {
    const [port, adminPort] = [await freePort(), await freePort()];
    const run = spawnCli(['--demo', '--log-format', 'json', '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${adminPort}`]);
    let sent = false;
    // During start-up: when Fastify logs its first listener, before start() has logged "attache ready".
    const trigger = when === 'on-ready-line' ? '"msg":"attache ready"' : '"msg":"Server listening at';
    run.child.stdout!.on('data', () => {
      if (!sent && run.stdout().includes(trigger)) {
        sent = true;
        run.child.kill('SIGTERM');
      }
    });
    // Never left behind, whatever happens to the trigger.
    const guard = setTimeout(() => run.child.kill('SIGKILL'), 15_000);
    const code = await run.exited;
    clearTimeout(guard);
    const lines = run.stdout().trim().split('\n').map((l) => JSON.parse(l) as { msg: string; time: number });
    // By pino's timestamps: its writes are asynchronous, and at exit what is still buffered is written at once,
    // possibly ahead of a line whose write is still in flight, so output order can differ from logging order.
    const loggedAt = (msg: string): number => lines.find((l) => l.msg.startsWith(msg))?.time ?? Number.NaN;
    return { code, msgs: lines.map((l) => l.msg), loggedAt };
  }

  it('a SIGTERM the moment "attache ready" is logged drains and exits 0 (3 runs)', async () => {
    for (let i = 0; i < 3; i++) {
      const { code, msgs } = await signalled('on-ready-line');
      expect(code, msgs.join(' | ')).toBe(0);
      expect(msgs).toContain('signal received, draining');
    }
  });

  it('a SIGTERM during start-up: attache finishes starting, then drains and exits 0', async () => {
    const { code, msgs, loggedAt } = await signalled('during-start-up');
    expect(code, msgs.join(' | ')).toBe(0);
    expect(msgs).toContain('attache ready');
    expect(loggedAt('Server listening at')).toBeLessThanOrEqual(loggedAt('attache ready'));
    expect(loggedAt('signal received, draining')).toBeGreaterThanOrEqual(loggedAt('attache ready'));
  });
});

describe('the bundled dist/cli.js', () => {
  let child: ChildProcess | undefined;
  let dir: string | undefined;

  // module.enableCompileCache is Node 22.1+; on an older Node the launcher runs the bundle without it.
  const hasCompileCache = 'enableCompileCache' in nodeModule;
  it.runIf(hasCompileCache)("keeps the bundle's compiled code in Node's compile cache, and honours NODE_DISABLE_COMPILE_CACHE", async () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-compile-cache-'));
    const version = (env: Record<string, string>): Promise<string> =>
      new Promise((resolve, reject) =>
        execFile(process.execPath, [CLI, '--version'], { env: { PATH: process.env['PATH'] ?? '', ...env } }, (err, out) => (err ? reject(err) : resolve(out))),
      );
    const files = (): number => fs.readdirSync(cache, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
    try {
      expect(await version({ NODE_COMPILE_CACHE: cache, NODE_DISABLE_COMPILE_CACHE: '1' })).toMatch(/^attache /);
      expect(files()).toBe(0);
      expect(await version({ NODE_COMPILE_CACHE: cache })).toMatch(/^attache /);
      // The bundle's entry (1.8 MB of source) has the largest code cache of what was loaded.
      const sizes = fs.readdirSync(cache, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => fs.statSync(path.join(e.parentPath, e.name)).size);
      expect(Math.max(...sizes)).toBeGreaterThan(100_000);
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });

  afterAll(() => {
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  // glibc's malloc setting (src/ops/malloc-settings.ts): the launcher starts node again with it, in place.
  it.runIf(runsOnGlibc() && processExecve() !== undefined)('restarts node in place with MALLOC_MMAP_THRESHOLD_=32768, unless the environment sets it', async () => {
    for (const [given, inForce] of [[undefined, '32768'], ['131072', '131072']] as const) {
      const [port, adminPort] = [await freePort(), await freePort()];
      const env = { PATH: process.env['PATH'] ?? '', ...(given === undefined ? {} : { MALLOC_MMAP_THRESHOLD_: given }) };
      const run = spawnCli(['--demo', '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${adminPort}`, '--log-format', 'json'], { env });
      try {
        await untilReady(adminPort);
        expect((await request(`http://127.0.0.1:${port}/api/payments/pay_001`)).status).toBe(200);
        // The PID that was spawned is the one serving, and its environment has the setting: an execve(2).
        const environ = fs.readFileSync(`/proc/${run.child.pid}/environ`, 'utf8').split('\0');
        expect(environ.filter((e) => e.startsWith('MALLOC_MMAP_THRESHOLD_='))).toEqual([`MALLOC_MMAP_THRESHOLD_=${inForce}`]);
        const heapLine = run.stdout().split('\n').find((l) => l.includes('"heap settings'));
        expect(heapLine === undefined ? undefined : (JSON.parse(heapLine) as { heap: unknown }).heap, run.output()).toMatchObject({ mallocMmapThreshold: inForce });
      } finally {
        run.child.kill('SIGTERM');
        expect(await run.exited, run.output()).toBe(0);
      }
    }
  });

  it("takes Node's built-ins through require, not ES imports (an ES facade of node:http loads undici)", () => {
    const bundle = fs.readFileSync(path.join(path.dirname(CLI), 'attache.js'), 'utf8');
    const esImports = [...bundle.matchAll(/(?:^|[;\n])\s*import\s*[\w${}\s,*]*from\s*["']([\w:/.@-]+)["']/g)].map((m) => m[1]);
    expect(esImports).toEqual(['node:module']);
  });

  it('runs with no node_modules beside it: the demo serves, 64-bit fields stay strings, exit 0 on SIGTERM', async () => {
    // What an image that ships only dist/cli.js (the launcher) and dist/attache.js (the bundle), package.json
    // and the proto folders has.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-shipped-'));
    fs.mkdirSync(path.join(dir, 'dist'));
    fs.copyFileSync(CLI, path.join(dir, 'dist', 'cli.js'));
    fs.copyFileSync(path.join(REPO, 'dist', 'attache.js'), path.join(dir, 'dist', 'attache.js'));
    // The API reference page's own bundle and the Swagger UI assets, loaded on the first /docs request.
    fs.copyFileSync(path.join(REPO, 'dist', 'docs-ui.js'), path.join(dir, 'dist', 'docs-ui.js'));
    fs.cpSync(path.join(REPO, 'dist', 'docs-ui'), path.join(dir, 'dist', 'docs-ui'), { recursive: true });
    fs.copyFileSync(path.join(REPO, 'package.json'), path.join(dir, 'package.json'));
    for (const folder of ['third_party', 'protos', 'mappings']) fs.cpSync(path.join(REPO, folder), path.join(dir, folder), { recursive: true });

    const [port, adminPort] = [await freePort(), await freePort()];
    const run = spawnCli(['--demo', '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${adminPort}`, '--log-format', 'json'], {
      cwd: dir,
      entry: 'dist/cli.js',
      env: { PATH: process.env['PATH'] ?? '' },
    });
    child = run.child;
    await untilReady(adminPort);
    const payment = await request(`http://127.0.0.1:${port}/api/payments/pay_001`);
    expect(payment.status, run.output()).toBe(200);
    expect(payment.json).toMatchObject({ id: 'pay_001', amountMinor: '2500', currency: 'EUR' });
    const metrics = await request(`http://127.0.0.1:${adminPort}/metrics`);
    expect(metrics.body).toContain('attache_http_requests_total{route="/api/payments/{payment_id}"');
    const openapi = await request(`http://127.0.0.1:${adminPort}/openapi.json`);
    expect(openapi.json).toMatchObject({ openapi: '3.1.0', servers: [{ url: `http://127.0.0.1:${port}` }] });
    const docs = await request(`http://127.0.0.1:${adminPort}/docs`);
    expect(docs.status, run.output()).toBe(200);
    expect(docs.body).toContain('swagger-ui-bundle.js');
    const asset = await request(`http://127.0.0.1:${adminPort}/docs/static/swagger-ui-bundle.js`);
    expect(asset.status).toBe(200);
    expect(asset.body.length).toBeGreaterThan(1_000_000);
    child.kill('SIGTERM');
    expect(await run.exited, run.output()).toBe(0);
  });
});
