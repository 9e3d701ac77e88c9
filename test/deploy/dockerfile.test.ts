/**
 * The Dockerfile, proved without a container engine (none is installed where CI runs): it is parsed by
 * dockerfile-ast and linted by dockerfile-utils (the parser and validator behind the VS Code Docker
 * extension), its stages, bases, user, ports and environment are checked, every COPY source is checked
 * against the build context as .dockerignore filters it (@balena/dockerignore, Docker's own matching
 * rules), and then both stages are replayed in clean temporary folders: the build stage's COPYs and its
 * `npm run build`, then the runtime stage's COPYs, ENV, WORKDIR, USER and ENTRYPOINT/CMD, after which the
 * image's program serves the demo from a folder holding only the image's files, as the image's user.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import module, { createRequire } from 'node:module';
import type { Ignore } from '@balena/dockerignore';
import { DockerfileParser, type Copy, type Env, type From, type Instruction, type JSONInstruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/http.js';
import { freePort, spawnCollected, untilReady, type Spawned } from '../support/process.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TEXT = fs.readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
// A CommonJS module whose `default` export is the factory; required, since ESM interop differs between tools.
const dockerignore = (createRequire(import.meta.url)('@balena/dockerignore') as { default: () => Ignore }).default;
const IGNORE = dockerignore().add(fs.readFileSync(path.join(REPO, '.dockerignore'), 'utf8').split('\n'));

interface Stage {
  readonly name: string | undefined;
  readonly from: From;
  readonly steps: readonly Instruction[];
}

/** The Dockerfile's stages, each with the instructions after its FROM. */
function stagesOf(text: string): Stage[] {
  const stages: { name: string | undefined; from: From; steps: Instruction[] }[] = [];
  for (const i of DockerfileParser.parse(text).getInstructions()) {
    if (i.getKeyword() === 'FROM') {
      const from = i as From;
      stages.push({ name: from.getBuildStage() ?? undefined, from, steps: [] });
    } else {
      stages.at(-1)?.steps.push(i);
    }
  }
  return stages;
}

const STAGES = stagesOf(TEXT);
const RUNTIME = STAGES.at(-1)!;
const BUILD = STAGES.find((s) => s.name === 'build')!;
const argsOf = (i: Instruction): string[] => i.getArguments().map((a) => a.getValue());
const stepsOf = (s: Stage, keyword: string): Instruction[] => s.steps.filter((i) => i.getKeyword() === keyword);
/** A COPY's sources and destination (flags excluded). */
function copyArgs(c: Copy): { sources: string[]; dest: string } {
  const args = argsOf(c).filter((a) => !a.startsWith('--'));
  return { sources: args.slice(0, -1), dest: args.at(-1)! };
}
/** The user and group ids of a USER step (`USER 1000:1000`). */
function userOf(step: Instruction): { uid: number; gid: number } {
  const [uid, gid] = argsOf(step)[0]!.split(':').map(Number) as [number, number];
  return { uid, gid };
}
/** Spawn options that run a process as `user` where this test can switch users (as root); else none. */
const asUserWherePossible = (user: { uid: number; gid: number } | undefined): { uid?: number; gid?: number } =>
  user !== undefined && process.getuid?.() === 0 ? user : {};
/** The exec-form (JSON array) words of ENTRYPOINT or CMD. */
const jsonWords = (i: Instruction): string[] => (i as JSONInstruction).getJSONStrings().map((s) => s.getJSONValue());

/** Files under `rel` (a file or folder of the context) that the build context holds after .dockerignore. */
function contextFiles(rel: string): string[] {
  const clean = rel.replace(/\/+$/, '');
  const abs = path.join(REPO, clean);
  if (!fs.existsSync(abs)) return [];
  if (fs.statSync(abs).isFile()) return IGNORE.ignores(clean) ? [] : [clean];
  const out: string[] = [];
  for (const e of fs.readdirSync(abs, { withFileTypes: true })) out.push(...contextFiles(`${clean}/${e.name}`));
  return out;
}

describe('Dockerfile: parsed and checked', () => {
  it('lints clean (dockerfile-utils)', () => {
    expect(validate(TEXT).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('has a build stage and a runtime stage, both on the same Node LTS release, pinned by version', () => {
    expect(STAGES.map((s) => s.name)).toEqual(['build', 'runtime']);
    const bases = STAGES.map((s) => s.from.getImage());
    for (const base of bases) expect(base).toMatch(/^node:\d+\.\d+\.\d+-[a-z]+-slim$/);
    expect(new Set(bases).size).toBe(1);
    // Even majors are Node's LTS lines; the image's must satisfy package.json's engines.
    const [major, minor] = /^node:(\d+)\.(\d+)/.exec(bases[0]!)!.slice(1).map(Number) as [number, number];
    expect(major % 2).toBe(0);
    const engines = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    const [eMajor, eMinor] = /^>=(\d+)\.(\d+)/.exec(engines)!.slice(1).map(Number) as [number, number];
    expect(major > eMajor || (major === eMajor && minor >= eMinor), `${bases[0]} vs engines ${engines}`).toBe(true);
  });

  it('runs as a non-root numeric user, exposes 8080 and 9901, leaves the young generation to attache', () => {
    const users = stepsOf(RUNTIME, 'USER');
    expect(users).toHaveLength(1);
    const { uid, gid } = userOf(users[0]!);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
    expect(stepsOf(RUNTIME, 'EXPOSE').flatMap(argsOf).sort()).toEqual(['8080', '9901']);
    const env = Object.fromEntries(stepsOf(RUNTIME, 'ENV').flatMap((e) => (e as Env).getProperties().map((p) => [p.getName(), p.getValue()])));
    // No semi-space size and no opt-out: attache sizes the young generation from the pod's memory limit
    // (src/ops/heap-settings.ts), which a fixed NODE_OPTIONS flag would override for every limit.
    expect(env['NODE_OPTIONS'] ?? '').not.toMatch(/semi[-_]space/);
    expect(env['ATTACHE_HEAP_TUNING']).toBeUndefined();
    // glibc's malloc setting (src/ops/malloc-settings.ts) comes with the image, so that the launcher need not
    // restart node to set it.
    expect(env['MALLOC_MMAP_THRESHOLD_']).toBe('32768');
    // What the image relies on is documented (README.md or a docs/ page).
    const docs = ['README.md', ...fs.readdirSync(path.join(REPO, 'docs')).map((f) => `docs/${f}`)].map((f) => fs.readFileSync(path.join(REPO, f), 'utf8'));
    expect(docs.some((d) => d.includes('--heap-tuning'))).toBe(true);
  });

  it('the runtime stage runs nothing at build time and starts node directly, in exec form', () => {
    expect(stepsOf(RUNTIME, 'RUN')).toEqual([]);
    const [entry] = stepsOf(RUNTIME, 'ENTRYPOINT');
    expect(jsonWords(entry!)).toEqual(['node', '/app/dist/cli.js']);
    expect(stepsOf(RUNTIME, 'STOPSIGNAL').flatMap(argsOf)).toEqual(['SIGTERM']);
  });

  it('every COPY source exists in the build context after .dockerignore, and every --from names an earlier stage', () => {
    for (const [index, stage] of STAGES.entries()) {
      for (const copy of stepsOf(stage, 'COPY') as Copy[]) {
        const from = copy.getFromFlag()?.getValue();
        if (from !== undefined && from !== null) {
          expect(STAGES.slice(0, index).map((s) => s.name)).toContain(from);
          continue;
        }
        for (const source of copyArgs(copy).sources) expect(contextFiles(source), `COPY ${source}`).not.toEqual([]);
      }
    }
    // Tests, dependencies and build output never reach the context.
    expect(IGNORE.ignores('node_modules/fastify/package.json')).toBe(true);
    expect(IGNORE.ignores('dist/cli.js')).toBe(true);
    expect(IGNORE.ignores('src/main.test.ts')).toBe(true);
    expect(IGNORE.ignores('src/routing/template.test.ts')).toBe(true);
    expect(IGNORE.ignores('test/e2e/cli.test.ts')).toBe(true);
    expect(IGNORE.ignores('src/routing/template.ts')).toBe(false);
  });
});

/**
 * Replays a stage's COPY, WORKDIR and ENV into `root` (the stage's filesystem, container paths under it).
 * `run` handles each RUN; `stageRoots` maps earlier stage names to their replayed roots.
 */
function replay(
  stage: Stage,
  root: string,
  stageRoots: ReadonlyMap<string, string>,
  run: (words: string[], cwd: string, user: { uid: number; gid: number } | undefined) => void,
): { workdir: string; env: Record<string, string> } {
  let workdir = '/';
  let user: { uid: number; gid: number } | undefined;
  const env: Record<string, string> = {};
  const inRoot = (p: string): string => path.join(root, path.posix.resolve(workdir, p));
  for (const step of stage.steps) {
    switch (step.getKeyword()) {
      case 'WORKDIR':
        workdir = path.posix.resolve(workdir, argsOf(step)[0]!);
        fs.mkdirSync(inRoot('.'), { recursive: true });
        break;
      case 'ENV':
        for (const p of (step as Env).getProperties()) env[p.getName()] = p.getValue() ?? '';
        break;
      case 'COPY': {
        const { sources, dest } = copyArgs(step as Copy);
        const intoDir = dest.endsWith('/') || sources.length > 1;
        const from = (step as Copy).getFromFlag()?.getValue();
        for (const source of sources) {
          if (from !== undefined && from !== null) {
            const src = path.join(stageRoots.get(from)!, source);
            expect(fs.existsSync(src), `COPY --from=${from} ${source}: the ${from} stage made no such file`).toBe(true);
            // As Docker does: a folder's contents land in dest; a file lands in dest (a folder) or as dest.
            const target = !fs.statSync(src).isDirectory() && intoDir ? path.join(inRoot(dest), path.basename(source)) : inRoot(dest);
            fs.mkdirSync(path.dirname(target), { recursive: true });
            fs.cpSync(src, target, { recursive: true });
            continue;
          }
          const isDir = fs.statSync(path.join(REPO, source)).isDirectory();
          for (const rel of contextFiles(source)) {
            // A folder's contents land in dest; a file lands in dest (a folder) or as dest.
            const tail = isDir ? path.relative(source.replace(/\/+$/, ''), rel) : path.basename(rel);
            const target = isDir || intoDir ? path.join(inRoot(dest), tail) : inRoot(dest);
            fs.mkdirSync(path.dirname(target), { recursive: true });
            fs.copyFileSync(path.join(REPO, rel), target);
          }
        }
        break;
      }
      case 'RUN':
        run(argsOf(step), inRoot('.'), user);
        break;
      case 'USER':
        user = userOf(step);
        break;
      case 'EXPOSE':
      case 'STOPSIGNAL':
      case 'ENTRYPOINT':
      case 'CMD':
        break;
      default:
        throw new Error(`the replay does not know ${step.getKeyword()}; teach it before using it in the Dockerfile`);
    }
  }
  return { workdir, env };
}

describe('Dockerfile: both stages replayed, then the image\'s program started', () => {
  let tmp: string;
  let runtimeRoot: string;
  let runtime: { workdir: string; env: Record<string, string> };
  let proc: Spawned | undefined;

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-image-'));
    // mkdtemp makes the folder 0700; the image's user must be able to read into it.
    fs.chmodSync(tmp, 0o755);
    const buildRoot = path.join(tmp, 'build');
    replay(BUILD, buildRoot, new Map(), (words, cwd, user) => {
      const cmd = words.join(' ');
      // Steps after a USER run as that user where this test can switch (as root); elsewhere as whoever runs it.
      const asUser = asUserWherePossible(user);
      const cacheDir = /^mkdir (\S+) && chown (\d+):(\d+) \1$/.exec(cmd);
      const cacheRun = /^NODE_COMPILE_CACHE=(\S+) NODE_COMPILE_CACHE_PORTABLE=1 node (\S+) --version && chmod -R a\+rX \1$/.exec(cmd);
      if (/^npm ci\b/.test(cmd)) {
        // The one step not replayed as written: `npm ci` installs exactly package-lock.json, which is what the
        // repo's node_modules holds (CI made it with `npm ci`), so it is linked instead of downloaded again.
        fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(cwd, 'node_modules'), 'dir');
      } else if (cmd === 'npm run build') {
        execFileSync('npm', ['run', 'build', '--silent'], { cwd, stdio: 'pipe' });
      } else if (cacheDir !== null) {
        fs.mkdirSync(path.join(cwd, cacheDir[1]!));
        if (process.getuid?.() === 0) fs.chownSync(path.join(cwd, cacheDir[1]!), Number(cacheDir[2]), Number(cacheDir[3]));
      } else if (cacheRun !== null) {
        const env = { PATH: process.env['PATH'] ?? '', NODE_COMPILE_CACHE: cacheRun[1]!, NODE_COMPILE_CACHE_PORTABLE: '1' };
        execFileSync(process.execPath, [cacheRun[2]!, '--version'], { cwd, env, stdio: 'pipe', ...asUser });
        execFileSync('chmod', ['-R', 'a+rX', cacheRun[1]!], { cwd, ...asUser });
      } else {
        throw new Error(`the replay does not know RUN ${cmd}`);
      }
    });
    runtimeRoot = path.join(tmp, 'runtime');
    runtime = replay(RUNTIME, runtimeRoot, new Map([['build', buildRoot]]), (words) => {
      throw new Error(`the runtime stage should run nothing, got RUN ${words.join(' ')}`);
    });
    // Read-only, as with readOnlyRootFilesystem: nothing in the image may need to be written.
    execFileSync('chmod', ['-R', 'a-w', runtimeRoot]);
  }, 120_000);

  afterAll(() => {
    proc?.kill();
    if (tmp !== undefined) {
      execFileSync('chmod', ['-R', 'u+w', tmp]);
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  /** The image's ENV, its container paths (values naming a file of the image) under the replayed root. */
  const imageEnv = (): Record<string, string> =>
    Object.fromEntries(Object.entries(runtime.env).map(([k, v]) => [k, v.startsWith('/') && fs.existsSync(path.join(runtimeRoot, v)) ? path.join(runtimeRoot, v) : v]));

  // Made by the build stage's node for that node's version (the image pins Node 24); a replay on another
  // Node line makes a cache for it instead, which the same check reads. Node 20 has no compile cache.
  const hasCompileCache = typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function';
  it.skipIf(!hasCompileCache)('carries Node\'s compile cache of its bundle, which the image\'s program reads as the image\'s user', () => {
    const asImageUser = asUserWherePossible(userOf(stepsOf(RUNTIME, 'USER')[0]!));
    const out = spawnSync(process.execPath, [path.join(runtimeRoot, 'app/dist/cli.js'), '--version'], {
      cwd: path.join(runtimeRoot, runtime.workdir),
      env: { PATH: process.env['PATH'] ?? '', NODE_DEBUG_NATIVE: 'COMPILE_CACHE', ...imageEnv() },
      encoding: 'utf8',
      ...asImageUser,
    });
    expect(out.status, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/V8 code cache for ESM file:\/\/\S+\/app\/dist\/attache\.js was accepted/);
    // Read-only and complete: nothing to write back.
    expect(out.stderr).not.toMatch(/writing cache for/);
  });

  it('the image holds the bundle, package.json and the proto folders, and no node_modules', () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else files.push(path.relative(runtimeRoot, p));
      }
    };
    walk(runtimeRoot);
    expect(files).toContain('app/dist/cli.js');
    expect(files).toContain('app/dist/docs-ui.js');
    expect(files).toContain('app/package.json');
    expect(files).toContain('app/third_party/googleapis/google/api/annotations.proto');
    expect(files).toContain('app/protos/payments/v1/payments.proto');
    expect(files).toContain('app/mappings/payments.yaml');
    expect(files.filter((f) => f.includes('node_modules'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('app/') === false)).toEqual([]);
  });

  it('ENTRYPOINT + CMD serve the demo as the image\'s user from the read-only folder; SIGTERM drains and exits 0', async () => {
    const [entry] = stepsOf(RUNTIME, 'ENTRYPOINT');
    const [cmd] = stepsOf(RUNTIME, 'CMD');
    const words = [...jsonWords(entry!), ...jsonWords(cmd!)];
    expect(words[0]).toBe('node');
    // Container paths are under the replayed root; the container's node is this machine's.
    const argv = words.slice(1).map((w) => (w.startsWith('/') ? path.join(runtimeRoot, w) : w));
    const [port, adminPort] = [await freePort(), await freePort()];
    const asImageUser = asUserWherePossible(userOf(stepsOf(RUNTIME, 'USER')[0]!));
    proc = spawnCollected(process.execPath, [...argv, '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${adminPort}`, '--log-format', 'json'], {
      cwd: path.join(runtimeRoot, runtime.workdir),
      env: { PATH: process.env['PATH'] ?? '', HOME: path.join(runtimeRoot, runtime.workdir), ...imageEnv() },
      ...asImageUser,
    });
    await untilReady(adminPort);
    const payment = await request(`http://127.0.0.1:${port}/api/payments/pay_001`);
    expect(payment.status, proc.output()).toBe(200);
    expect(payment.json).toMatchObject({ id: 'pay_001', amountMinor: '2500', currency: 'EUR' });
    expect((await request(`http://127.0.0.1:${adminPort}/healthz`)).status).toBe(200);
    // The API reference page loads its own bundle and assets from the image's dist/.
    const docs = await request(`http://127.0.0.1:${adminPort}/docs/`);
    expect(docs.status, `${docs.body}\n${proc.output()}`).toBe(200);
    expect(docs.body).toContain('swagger');
    proc.child.kill('SIGTERM');
    expect(await proc.exited, proc.output()).toBe(0);
    expect(proc.stdout()).toContain('"msg":"stopped"');
  });
});
