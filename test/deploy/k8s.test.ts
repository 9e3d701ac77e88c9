/**
 * k8s/: each overlay rendered by a real kustomize (`kubectl kustomize`, which embeds kustomize; or a
 * standalone `kustomize build`), every object validated against the Kubernetes OpenAPI schemas
 * (kubernetes-models: ajv validators generated from the API's OpenAPI definitions), and the manifests
 * cross-checked against attache itself: the container's args and env are read by attache's own loadConfig;
 * the ConfigMap is laid out as its volume mounts it and `--check` loads it from there; then attache runs
 * with those args and every probe's port and path is asked of it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig, type Config } from '../../src/config/load.js';
import { decideHeapSettings } from '../../src/ops/heap-settings.js';
import { request } from '../support/http.js';
import { freePort, spawnCollected, untilReady, type Spawned } from '../support/process.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CLI = path.join(REPO, 'dist', 'cli.js');

// Manifests are validated against the schemas first, then read loosely.
type Obj = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: any; data?: Record<string, string> };

/** Renders a kustomization folder with whichever real kustomize the machine has. */
function kustomize(dir: string): string {
  const tries: [string, string[]][] = [['kubectl', ['kustomize', dir]], ['kustomize', ['build', dir]]];
  const failures: string[] = [];
  for (const [cmd, args] of tries) {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code !== 'ENOENT') throw new Error(`${cmd} ${args.join(' ')} failed:\n${e.stderr ?? e.message}`, { cause: err });
      failures.push(`${cmd}: not installed`);
    }
  }
  throw new Error(`no kustomize to render k8s/ with (${failures.join('; ')}); install kubectl or kustomize`);
}

function render(overlay: string): Obj[] {
  return parseAllDocuments(kustomize(path.join(REPO, 'k8s', 'overlays', overlay))).map((d) => d.toJS() as Obj);
}

// `any`: each model takes its own object type; the rendered objects are what is being validated.
type Model = { new (data: any): { validate(): void } };

/** The kubernetes-models class of each apiVersion/kind the overlays use. */
const MODELS: Record<string, () => Promise<Model>> = {
  'v1/ConfigMap': async () => (await import('kubernetes-models/v1/ConfigMap')).ConfigMap,
  'v1/Service': async () => (await import('kubernetes-models/v1/Service')).Service,
  'apps/v1/Deployment': async () => (await import('kubernetes-models/apps/v1/Deployment')).Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': async () => (await import('kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler')).HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': async () => (await import('kubernetes-models/policy/v1/PodDisruptionBudget')).PodDisruptionBudget,
};

async function modelOf(o: { apiVersion: string; kind: string }): Promise<Model> {
  const load = MODELS[`${o.apiVersion}/${o.kind}`];
  if (load === undefined) throw new Error(`no schema model listed for ${o.apiVersion} ${o.kind}; add it to MODELS`);
  return load();
}

async function schemaErrors(o: Obj): Promise<string | undefined> {
  const Model = await modelOf(o);
  try {
    new Model(structuredClone(o)).validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const byKind = (objs: Obj[], kind: string): Obj[] => objs.filter((o) => o.kind === kind);
const one = (objs: Obj[], kind: string): Obj => {
  const found = byKind(objs, kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};

/** attache's container in a pod spec (a native sidecar in initContainers, or a plain container). */
function attacheContainer(pod: any): { container: any; sidecar: boolean } {
  const init = (pod.initContainers ?? []).find((c: any) => c.name === 'attache');
  if (init !== undefined) return { container: init, sidecar: true };
  return { container: pod.containers.find((c: any) => c.name === 'attache'), sidecar: false };
}

/** attache's Config from the container's args and env, read by attache's own loader. */
function configOf(container: any): Config {
  const env = Object.fromEntries((container.env ?? []).map((e: any) => [e.name, e.value]));
  const loaded = loadConfig(container.args, env);
  if (!loaded.ok) throw new Error(loaded.errors.map(String).join('\n'));
  return loaded.config;
}

/** A probe's port as a number (a named port resolved against the container's ports). */
function probePort(container: any, probe: any): number {
  const port = probe.httpGet.port;
  return typeof port === 'number' ? port : container.ports.find((p: any) => p.name === port)?.containerPort;
}

/** Seconds in a Kubernetes CPU quantity ("2", "500m"). */
const cores = (q: string | number): number => (typeof q === 'number' ? q : q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q));

/** Bytes in a Kubernetes memory quantity ("128Mi", "1Gi", "500M", "1048576"). */
function bytesOf(q: string | number): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(String(q));
  if (m === null) throw new Error(`memory quantity ${q}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, K: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

const tempDirs: string[] = [];
afterAll(() => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

/**
 * Lays out the container's volume mounts in a temp folder (ConfigMap keys at their item paths) and
 * rewrites `args` from the mount paths to it and from the listen addresses to free loopback ports.
 */
async function localArgs(objs: Obj[], pod: any, container: any): Promise<{ args: string[]; port: number; adminPort: number; env: Record<string, string> }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-k8s-'));
  tempDirs.push(root);
  let args: string[] = container.args;
  for (const mount of container.volumeMounts) {
    const volume = pod.volumes.find((v: any) => v.name === mount.name);
    expect(volume, `volume ${mount.name}`).toBeDefined();
    // An emptyDir starts empty: nothing to lay out, and attache's flags do not name it.
    if (volume.emptyDir !== undefined) continue;
    const map = byKind(objs, 'ConfigMap').find((c) => c.metadata.name === volume.configMap.name);
    expect(map, `ConfigMap ${volume.configMap.name} of volume ${mount.name}`).toBeDefined();
    const local = path.join(root, mount.mountPath);
    for (const item of volume.configMap.items) {
      expect(map!.data![item.key], `key ${item.key}`).toBeDefined();
      fs.mkdirSync(path.dirname(path.join(local, item.path)), { recursive: true });
      fs.writeFileSync(path.join(local, item.path), map!.data![item.key]!);
    }
    args = args.map((a) => a.replaceAll(mount.mountPath, local));
  }
  const [port, adminPort] = [await freePort(), await freePort()];
  args = args.map((a) => a.replace(/^--listen=.*/, `--listen=127.0.0.1:${port}`).replace(/^--admin-listen=.*/, `--admin-listen=127.0.0.1:${adminPort}`));
  const env = Object.fromEntries((container.env ?? []).map((e: any) => [e.name, e.value])) as Record<string, string>;
  return { args, port, adminPort, env };
}

/** The checks both overlays share: image, config, probes, resources, security, mounts, drain. */
async function checkAttachePod(objs: Obj[], pod: any): Promise<void> {
  const { container } = attacheContainer(pod);
  expect(container).toBeDefined();
  const config = configOf(container);
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
  expect(container.image).toBe(`attache:${pkg.version}`);

  // Probes: on the admin listener's port, on the paths attache serves there.
  const admin = config.adminListen.port;
  expect(container.startupProbe, 'startupProbe').toBeDefined();
  expect(container.readinessProbe.httpGet.path).toBe('/readyz');
  expect(container.startupProbe.httpGet.path).toBe('/readyz');
  expect(container.livenessProbe.httpGet.path).toBe('/healthz');
  for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) expect(probePort(container, probe)).toBe(admin);

  // Security: the restricted Pod Security Standard, for attache and for every other container of the pod.
  for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
    expect(c.securityContext?.allowPrivilegeEscalation, c.name).toBe(false);
    expect(c.securityContext?.capabilities?.drop, c.name).toEqual(['ALL']);
  }
  expect(pod.securityContext.runAsNonRoot).toBe(true);
  expect(pod.securityContext.seccompProfile.type).toBe('RuntimeDefault');
  expect(container.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, seccompProfile: { type: 'RuntimeDefault' } });
  // The image's user (Dockerfile USER 1000:1000).
  expect(container.securityContext.runAsUser).toBe(1000);

  // Every path attache reads is under a mount.
  for (const p of [...config.protos, ...config.mappings]) {
    expect(container.volumeMounts.some((m: any) => p === m.mountPath || p.startsWith(`${m.mountPath}/`)), p).toBe(true);
  }

  // Heap: nothing in the manifest fixes the young generation or opts out, so inside this memory limit attache
  // sizes it itself for each process's share (src/ops/heap-settings.ts): at least 8 MiB semi-spaces.
  const env = Object.fromEntries((container.env ?? []).map((e: any) => [e.name, e.value])) as Record<string, string>;
  const heap = decideHeapSettings({
    limitBytes: bytesOf(container.resources.limits.memory), totalBytes: 64 * 2 ** 30, execArgv: [], nodeOptions: env['NODE_OPTIONS'],
    guard: undefined, tuning: config.heapTuning, growth: config.heapGrowthPercent, workers: config.workers, canReExecute: true,
  });
  expect(heap.action, heap.settings.reason).toBe('re-execute');
  expect(heap.settings.semiSpaceMiB).toBeGreaterThanOrEqual(8);

  // The grace period covers the preStop pause and the whole drain.
  const preStop = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
  expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(preStop + config.drainTimeoutMs / 1000);

  // The ConfigMap, laid out as mounted, loads with the container's args.
  const local = await localArgs(objs, pod, container);
  const check = spawnCollected(process.execPath, [CLI, ...local.args, '--check'], { env: { PATH: process.env['PATH'] ?? '', ...local.env } });
  expect(await check.exited, check.output()).toBe(0);
  expect(check.stdout()).toMatch(/\n8 route\(s\) OK\n$/);
  expect(check.stdout()).toContain('payments-grpc:50051');
}

/** Starts attache with the container's (localised) args and asks it every probe; then SIGTERM → exit 0. */
async function probeRunning(objs: Obj[], pod: any): Promise<void> {
  const { container } = attacheContainer(pod);
  const local = await localArgs(objs, pod, container);
  let proc: Spawned | undefined;
  try {
    // The manifests' upstream is a cluster DNS name; here it is a closed loopback port, so nothing leaves the machine.
    const env = { PATH: process.env['PATH'] ?? '', ...local.env, GRPC_TARGET: `127.0.0.1:${await freePort()}` };
    proc = spawnCollected(process.execPath, [CLI, ...local.args, '--log-format', 'json'], { env });
    await untilReady(local.adminPort);
    for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) {
      const res = await request(`http://127.0.0.1:${local.adminPort}${probe.httpGet.path}`);
      expect(res.status, `${probe.httpGet.path}: ${proc.output()}`).toBe(200);
    }
    // The REST listener routes the mapped API (its upstream is down here: 503, not 404).
    const res = await request(`http://127.0.0.1:${local.port}/api/payments/pay_001`);
    expect(res.status).toBe(503);
    proc.child.kill('SIGTERM');
    expect(await proc.exited, proc.output()).toBe(0);
  } finally {
    proc?.kill();
  }
}

describe('k8s/: every object of every overlay is valid against the Kubernetes schemas', () => {
  it('the validator is real: it rejects a broken object', async () => {
    const broken = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { selector: {}, template: { spec: { containers: [{ name: 'a', ports: [{ containerPort: 'http' }] }] } } } };
    expect(await schemaErrors(broken as Obj)).toMatch(/containerPort must be integer/);
    const noContainers = structuredClone(broken) as any;
    delete noContainers.spec.template.spec.containers;
    expect(await schemaErrors(noContainers as Obj)).toMatch(/containers/);
  });

  it.each(['sidecar', 'gateway'])('%s', async (overlay) => {
    const objs = render(overlay);
    expect(objs.length).toBeGreaterThan(1);
    for (const o of objs) expect(await schemaErrors(o), `${o.kind}/${o.metadata.name}`).toBeUndefined();
  });

  it('the base ConfigMap carries the repo\'s own demo protos and mappings, unchanged', () => {
    expect(fs.readFileSync(path.join(REPO, 'k8s/base/config/payments.proto'), 'utf8')).toBe(fs.readFileSync(path.join(REPO, 'protos/payments/v1/payments.proto'), 'utf8'));
    expect(fs.readFileSync(path.join(REPO, 'k8s/base/config/payments.yaml'), 'utf8')).toBe(fs.readFileSync(path.join(REPO, 'mappings/payments.yaml'), 'utf8'));
  });
});

describe('k8s/overlays/sidecar', () => {
  const objs = render('sidecar');
  const deployment = one(objs, 'Deployment');
  const pod = deployment.spec.template.spec;

  it('attache is a native sidecar (init container, restartPolicy Always) of the app, which calls it on localhost', () => {
    const { container, sidecar } = attacheContainer(pod);
    expect(sidecar).toBe(true);
    expect(container.restartPolicy).toBe('Always');
    expect(pod.containers.map((c: any) => c.name)).toEqual(['app']);
    const config = configOf(container);
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    const urls = pod.containers[0].env.map((e: any) => e.value as string).filter((v: string) => v.startsWith('http://'));
    expect(urls).toEqual([`http://localhost:${config.listen.port}`]);
    expect(config.workers).toBe(1);
    expect(byKind(objs, 'Service')).toEqual([]);
  });

  it('requests 50m CPU and 64Mi, limits memory to 128Mi', () => {
    const { container } = attacheContainer(pod);
    expect(container.resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } });
  });

  it('probes, security, mounts and grace period match what attache serves and reads; the ConfigMap passes --check', async () => {
    await checkAttachePod(objs, pod);
  });

  it('attache started with the sidecar\'s args answers every probe, then drains on SIGTERM', async () => {
    await probeRunning(objs, pod);
  });
});

describe('k8s/overlays/gateway', () => {
  const objs = render('gateway');
  const deployment = one(objs, 'Deployment');
  const pod = deployment.spec.template.spec;
  const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
  const selects = (selector: Record<string, string>): boolean => Object.entries(selector).every(([k, v]) => podLabels[k] === v);

  it('Deployment + Service + HorizontalPodAutoscaler + PodDisruptionBudget, wired to each other', () => {
    expect(objs.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service']);
    const { container, sidecar } = attacheContainer(pod);
    expect(sidecar).toBe(false);
    const service = one(objs, 'Service');
    expect(selects(service.spec.selector)).toBe(true);
    const portNames = new Set(container.ports.map((p: any) => p.name));
    for (const p of service.spec.ports) expect(portNames.has(p.targetPort) || container.ports.some((c: any) => c.containerPort === p.targetPort), p.name).toBe(true);
    const config = configOf(container);
    expect(container.ports.find((p: any) => p.name === 'http').containerPort).toBe(config.listen.port);
    expect(config.listen.host).toBe('0.0.0.0');
    const hpa = one(objs, 'HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    const pdb = one(objs, 'PodDisruptionBudget');
    expect(selects(pdb.spec.selector.matchLabels)).toBe(true);
    // The budget never blocks every eviction: the autoscaler keeps more pods than it requires.
    expect(hpa.spec.minReplicas).toBeGreaterThan(pdb.spec.minAvailable);
  });

  it('--workers matches the CPU limit, which the autoscaler\'s CPU target is measured against', () => {
    const { container } = attacheContainer(pod);
    const config = configOf(container);
    expect(config.workers).toBe(cores(container.resources.limits.cpu));
    expect(container.resources.requests.cpu).toBeDefined();
  });

  it('probes, security, mounts and grace period match what attache serves and reads; the ConfigMap passes --check', async () => {
    await checkAttachePod(objs, pod);
  });

  it('attache started with the gateway\'s args (--workers 2) answers every probe, then drains on SIGTERM', async () => {
    await probeRunning(objs, pod);
  });
});
