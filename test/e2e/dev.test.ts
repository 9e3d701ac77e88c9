/**
 * `attache dev --upstream HOST:PORT` as a user runs it (the built dist/cli.js, from a project folder with
 * only a mapping file) against the demo backend serving gRPC server reflection: the routes and the docs URL
 * are printed, reflected methods are served (mapped or auto-mapped), pages on localhost may call it, the
 * docs page is up, and editing the mapping file restarts it with the new routes (a broken edit keeps the
 * old ones serving).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ReflectionService } from '@grpc/reflection';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoBackend, type DemoBackend } from '../../src/demo/backend.js';
import { request } from '../support/http.js';
import { freePort } from '../support/process.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CLI = path.join(REPO, 'dist', 'cli.js');

let backend: DemoBackend;
let project: string;
let child: ChildProcess;
let output = '';
let exited: Promise<number | null>;
let rest: string;
let admin: string;

beforeAll(async () => {
  backend = await startDemoBackend({ protosDir: path.join(REPO, 'protos'), configure: (server, definition) => new ReflectionService(definition).addToServer(server) });
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-dev-'));
  fs.mkdirSync(path.join(project, 'mappings'));
  fs.copyFileSync(path.join(REPO, 'mappings', 'payments.yaml'), path.join(project, 'mappings', 'payments.yaml'));
  const [port, adminPort] = [await freePort(), await freePort()];
  rest = `http://127.0.0.1:${port}`;
  admin = `http://127.0.0.1:${adminPort}`;
  child = spawn(process.execPath, [CLI, 'dev', '--upstream', backend.target, '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${adminPort}`], {
    cwd: project,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '' },
  });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  for (const until = Date.now() + 20_000; !output.includes('API reference') && child.exitCode === null && Date.now() < until; ) {
    await new Promise((r) => setTimeout(r, 50));
  }
}, 30_000);

afterAll(async () => {
  if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
  await backend?.close();
  if (project !== undefined) fs.rmSync(project, { recursive: true, force: true });
});

describe('attache dev', () => {
  it('prints the routes (mapped and auto-mapped) and where the API and its docs are', () => {
    expect(output).toMatch(/^GET +\/api\/payments\/\{payment_id\} +payments\.v1\.PaymentService\.GetPayment .*mappings\/payments\.yaml:\d+$/m);
    expect(output).toMatch(/^POST +\/payments\.v1\.PaymentService\/UpdatePayment .* auto-mapping$/m);
    expect(output).toContain(`REST API        ${rest}`);
    expect(output).toContain(`API reference   ${admin}/docs`);
    expect(output).toContain('http://localhost:*');
  });

  it('serves the reflected methods, mapped and auto-mapped', async () => {
    const get = await request(`${rest}/api/payments/pay_001`);
    expect(get.status).toBe(200);
    expect(get.json).toMatchObject({ id: 'pay_001' });
    const update = await request(`${rest}/payments.v1.PaymentService/UpdatePayment`, {
      method: 'POST',
      body: { payment: { id: 'pay_002', description: 'from attache dev' }, updateMask: 'description' },
    });
    expect(update.status, update.body).toBe(200);
    expect(update.json).toMatchObject({ id: 'pay_002', description: 'from attache dev' });
  });

  it('lets a page on localhost (any port) call it, and serves the docs page', async () => {
    const pre = await request(`${rest}/api/payments/charge`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    const other = await request(`${rest}/api/payments/pay_001`, { headers: { origin: 'https://example.com' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    expect((await request(`${admin}/docs`)).status).toBe(200);
  });

  it('restarts with the new routes when the mapping file changes; a broken edit keeps the old ones', async () => {
    const file = path.join(project, 'mappings', 'payments.yaml');
    const original = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, original.replace('get: /api/payments/{payment_id}', 'get: /api/v3/payments/{payment_id}'));
    await expect.poll(async () => (await request(`${rest}/api/v3/payments/pay_001`).catch(() => undefined))?.status, { timeout: 15_000, interval: 100 }).toBe(200);
    expect(output).toMatch(/^GET +\/api\/v3\/payments\/\{payment_id\} /m);

    fs.writeFileSync(file, `${original}\n  # broken\n    - selector: payments.v1.PaymentService.Nope\n      get: /nope\n`);
    await expect.poll(() => output, { timeout: 15_000, interval: 100 }).toContain('still serving the previous ones');
    expect((await request(`${rest}/api/v3/payments/pay_001`)).status).toBe(200);
  }, 40_000);

  it('stops on SIGTERM with exit 0', async () => {
    child.kill('SIGTERM');
    expect(await exited, output).toBe(0);
  });
});
