/**
 * Which gRPC client carries an upstream's calls (`--upstream-transport`, README "Upstream transport"), seen
 * from the server: attache's lean HTTP/2 transport says `user-agent: attache/<version> grpc-node-h2`,
 * grpc-js says `grpc-node-js/<version>`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttache } from '../support/attache.js';
import { E2E_MAPPINGS_DIR, E2E_PROTOS_DIR, startTestServer, type TestServer } from '../support/grpc-server.js';
import { request } from '../support/http.js';

let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await startTestServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-choice-'));
});

afterAll(async () => {
  await server?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The user-agent the server saw for one GET through an attache started with `args`. */
async function userAgentWith(args: readonly string[]): Promise<string> {
  const attache = await startAttache(['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--upstream', server.target, ...args]);
  try {
    server.reset();
    const r = await request(`${attache.url}/v1/meta`);
    expect(r.status, r.body).toBe(200);
    return String(server.calls[0]?.metadata['user-agent']);
  } finally {
    await attache.stop();
  }
}

describe('upstream transport choice', () => {
  it('auto (the default): the lean HTTP/2 transport', async () => {
    expect(await userAgentWith([])).toMatch(/^attache\/\d+\.\d+\.\d+ grpc-node-h2/);
  });

  it('--upstream-transport grpc-js: grpc-js', async () => {
    expect(await userAgentWith(['--upstream-transport', 'grpc-js'])).toMatch(/^grpc-node-js\//);
  });

  it('auto with raw grpc-js channelOptions: grpc-js, which is what they configure', async () => {
    const file = path.join(dir, 'attache.yaml');
    fs.writeFileSync(file, "channelOptions:\n  grpc.primary_user_agent: 'choice-test'\n");
    expect(await userAgentWith(['--config', file])).toMatch(/^choice-test grpc-node-js\//);
  });
});
