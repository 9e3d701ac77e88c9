/**
 * A local OAuth2 token endpoint (RFC 6749 §4.4, client credentials) on 127.0.0.1 for the credential tests:
 * checks the client (HTTP Basic or form body), issues `tok-N` tokens with a chosen `expires_in`, remembers
 * which are valid, can revoke them, and can be stopped and started again on the same port.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TokenRequest {
  readonly at: number;
  readonly scope: string | undefined;
  readonly audience: string | undefined;
  /** How the client authenticated: `basic` or `post`. */
  readonly auth: 'basic' | 'post' | 'none';
}

export interface TokenServer {
  /** `http://127.0.0.1:PORT/oauth2/token`. */
  readonly url: string;
  /** Every token request that reached the server (accepted or not). */
  readonly requests: TokenRequest[];
  /** Whether `authorization` metadata holds a token this server issued, not expired, not revoked. */
  valid(authorization: string | undefined): boolean;
  /** Makes every token issued so far invalid (as a revocation or a key rotation would). */
  revokeAll(): void;
  /** Stops listening (connections refused) until {@link start}. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface TokenServerOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  /** `expires_in` of the tokens issued, in seconds (default 3600). */
  readonly expiresIn?: number;
}

export async function startTokenServer(o: TokenServerOptions): Promise<TokenServer> {
  const requests: TokenRequest[] = [];
  const issued = new Map<string, number>();
  let n = 0;
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
      let id: string | undefined;
      let secret: string | undefined;
      let auth: TokenRequest['auth'] = 'none';
      if (basic !== null) {
        // RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
        const [u, p] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
        id = decodeURIComponent((u ?? '').replace(/\+/g, ' '));
        secret = decodeURIComponent((p ?? '').replace(/\+/g, ' '));
        auth = 'basic';
      } else if (form.has('client_secret')) {
        id = form.get('client_id') ?? undefined;
        secret = form.get('client_secret') ?? undefined;
        auth = 'post';
      }
      requests.push({ at: Date.now(), scope: form.get('scope') ?? undefined, audience: form.get('audience') ?? undefined, auth });
      const answer = (status: number, json: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify(json));
      };
      if (req.method !== 'POST' || form.get('grant_type') !== 'client_credentials') return answer(400, { error: 'unsupported_grant_type' });
      if (id !== o.clientId || secret !== o.clientSecret) return answer(401, { error: 'invalid_client', error_description: 'client authentication failed' });
      const token = `tok-${++n}`;
      const expiresIn = o.expiresIn ?? 3600;
      issued.set(token, Date.now() + expiresIn * 1000);
      answer(200, { access_token: token, token_type: 'Bearer', expires_in: expiresIn });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const port = await listen(0);
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return {
    url: `http://127.0.0.1:${port}/oauth2/token`,
    requests,
    valid(authorization) {
      const m = /^Bearer (.+)$/.exec(authorization ?? '');
      const until = m === null ? undefined : issued.get(m[1]!);
      return until !== undefined && Date.now() < until;
    },
    revokeAll: () => issued.clear(),
    stop,
    start: async () => {
      await listen(port);
    },
    close: () => (server.listening ? stop() : Promise.resolve()),
  };
}
