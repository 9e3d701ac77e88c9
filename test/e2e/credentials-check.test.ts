/**
 * Upstream credentials at load time, as `--check` and start-up report them (loadConfig, then buildSnapshot,
 * printed with formatProblem: what cli.ts does): a missing token file, a client secret variable that is not
 * set, a token URL that is not one, a section naming two sources, and routes of one upstream that disagree.
 * No problem line ever holds a secret.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/load.js';
import { buildSnapshot, formatProblem } from '../../src/snapshot.js';
import { RES_PROTOS_DIR } from '../support/flaky-server.js';
import { tempDir, writeMapping } from '../support/resilience.js';

const tmp = tempDir('attache-creds-check-');
afterAll(() => tmp.cleanup());
let n = 0;

function config(args: string[], env: Record<string, string> = {}): Config {
  const r = loadConfig(['--protos', RES_PROTOS_DIR, '--upstream', '127.0.0.1:50051', ...args], env);
  if (!r.ok) throw new Error(r.errors.map((e) => e.toString()).join('\n'));
  return r.config;
}
/** The problem lines `--check` prints for the attache rules `rules`, with `args` and `env`. */
function check(rules: string, args: string[] = [], env: Record<string, string> = {}): string[] {
  const file = writeMapping(tmp.dir, rules === '' ? '' : `attache:\n  rules:\n${rules}`, `m${++n}.yaml`);
  const built = buildSnapshot(config(['--mappings', file, ...args], env), env);
  return built.ok ? [] : built.problems.map(formatProblem);
}

describe('upstream credentials at load time (--check)', () => {
  it('accepts a readable token file and a complete OAuth2 grant', () => {
    const token = path.join(tmp.dir, 'token');
    fs.writeFileSync(token, 'abc\n');
    expect(check(`    - selector: "res.v1.*"\n      credentials: { tokenFile: ${token} }\n`)).toEqual([]);
    expect(check('', ['--upstream-token-url', 'https://auth.example.com/token', '--upstream-client-id', 'c'], { ATTACHE_UPSTREAM_CLIENT_SECRET: 'x' })).toEqual([]);
  });

  it('a missing token file names the file and the upstream', () => {
    const missing = path.join(tmp.dir, 'nope');
    const lines = check(`    - selector: "res.v1.*"\n      credentials: { tokenFile: ${missing} }\n`);
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^grpc://127\\.0\\.0\\.1:50051: res\\.v1\\.Flaky\\.\\w+: credentials\\.tokenFile: cannot read ${missing}: ENOENT \\[ATTACHE_E_CREDENTIALS\\]$`))]);
  });

  it('an empty token file, an unset secret variable and an empty secret file', () => {
    const empty = path.join(tmp.dir, 'empty');
    fs.writeFileSync(empty, '\n');
    expect(check(`    - selector: "res.v1.*"\n      credentials: { tokenFile: ${empty} }\n`)).toEqual([expect.stringContaining(`the token in ${empty} is empty [ATTACHE_E_CREDENTIALS]`)]);
    expect(check('', ['--upstream-token-url', 'https://auth.example.com/token', '--upstream-client-id', 'c'])).toEqual([
      expect.stringContaining('the client secret environment variable ATTACHE_UPSTREAM_CLIENT_SECRET is not set; set it, or give clientSecretFile [ATTACHE_E_CREDENTIALS]'),
    ]);
    expect(check(`    - selector: "res.v1.*"\n      credentials: { tokenUrl: "https://auth.example.com/t", clientId: c, clientSecretFile: ${empty} }\n`)).toEqual([
      expect.stringContaining(`credentials.clientSecretFile: ${empty} is empty [ATTACHE_E_CREDENTIALS]`),
    ]);
  });

  it('a token URL that is not https (or loopback http) is refused where it is written, and a password in it is not echoed', () => {
    const bad = loadConfig(['--upstream-token-url', 'http://auth.example.com/token'], {});
    expect(bad.ok).toBe(false);
    expect(bad.ok ? '' : bad.errors.join('\n')).toMatch(/flag --upstream-token-url.*uses http:\/\/ to a host that is not loopback; use https:\/\//);
    const withPassword = loadConfig([], { ATTACHE_UPSTREAM_TOKEN_URL: 'https://user:hunter2-pass@auth.example.com/token' });
    const text = withPassword.ok ? '' : withPassword.errors.join('\n');
    expect(text).toMatch(/has a user name or password in it \(not shown\)/);
    expect(text).not.toContain('hunter2-pass');
    expect(check(`    - selector: "res.v1.*"\n      credentials: { tokenUrl: "not a url", clientId: c }\n`)).toEqual([
      expect.stringMatching(/credentials\.tokenUrl: "not a url" is not a URL; expected https:\/\/host\/path of an OAuth2 token endpoint \[ATTACHE_E_MAPPING\]$/),
    ]);
  });

  it('a section with two sources, or an unknown key (a secret written inline), is an error naming the key, not its value', () => {
    const token = path.join(tmp.dir, 'token2');
    fs.writeFileSync(token, 'abc');
    expect(check(`    - selector: "res.v1.*"\n      credentials: { tokenFile: ${token}, tokenUrl: "https://a.example/t", clientId: c }\n`, [], { ATTACHE_UPSTREAM_CLIENT_SECRET: 'x' })).toContainEqual(
      expect.stringContaining('credentials: tokenFile and tokenUrl both set; a credential is a token file or an OAuth2 client-credentials grant, not both [ATTACHE_E_POLICY]'),
    );
    const inline = check(`    - selector: "res.v1.*"\n      credentials: { tokenUrl: "https://a.example/t", clientId: c, clientSecret: inline-secret-value }\n`);
    expect(inline).toEqual([expect.stringContaining('credentials: unknown key "clientSecret" (allowed: tokenFile, tokenUrl, clientId, clientSecretFile, clientSecretEnv,')]);
    expect(inline.join('\n')).not.toContain('inline-secret-value');
  });

  it('methods of one upstream must agree on its credentials; credentials: false turns a global one off', () => {
    const token = path.join(tmp.dir, 'token3');
    fs.writeFileSync(token, 'abc');
    expect(check(`    - selector: res.v1.Flaky.Get\n      credentials: { tokenFile: ${token} }\n`)).toContainEqual(
      expect.stringMatching(/is shared with .* but gets a different breaker, bulkhead, tls or credentials; .* \[ATTACHE_E_UPSTREAM_CONFLICT\]$/),
    );
    expect(check(`    - selector: "res.v1.*"\n      credentials: false\n`, ['--upstream-token-file', path.join(tmp.dir, 'missing')])).toEqual([]);
  });
});
