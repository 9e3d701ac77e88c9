/**
 * Upstream credentials (the auth ambassador): a bearer token attache attaches to every call of an upstream,
 * from a token file or from an OAuth2 client-credentials grant (RFC 6749 §4.4). docs/credentials.md is the
 * user's page; CredentialsPolicy (policy.ts) is the configuration.
 *
 * Sources keep the `Bearer …` value ready, so a call with a fresh credential costs a field read, a clock
 * read and one `CallMetadata.with`:
 * - a token file is read at start and re-read every `reloadMs` (asynchronously, compared byte for byte, as
 *   tls.ts re-reads certificates: that also sees a Kubernetes Secret update, which swaps a symlink). A file
 *   that turns unreadable or empty keeps the old token;
 * - an OAuth2 token is fetched on the first call and refreshed in the background once 80% of its
 *   `expires_in` has passed, single-flight (one request however many calls see it stale). A token endpoint
 *   that fails leaves the old token in use while it is still valid; without a valid token, calls fail at once
 *   with UNAVAILABLE naming the source (never the secret) and the next fetch is tried after a back-off
 *   (1 s doubling to 30 s), so a token endpoint that is down is neither hammered nor waited on per call.
 *
 * OAuth2 client: oauth4webapi (panva), which openid-client builds on. It implements the client-credentials
 * grant and its response checks (token_type, expires_in, error bodies per RFC 6749 §5.2) with no
 * dependencies; openid-client adds discovery, ID tokens and JOSE (the `jose` package), none of which a
 * client-credentials grant needs.
 */
import fs from 'node:fs';
import * as oauth from 'oauth4webapi';
import { isPlainHttpUrl } from '../config/outbound-values.js';
import { Code } from '../status/status.js';
import { CallMetadata, isLegalTextValue } from './call-metadata.js';
import type { RunningCall, UnaryOutcome } from './call.js';
import { AUTHORIZATION, X_FORWARDED_AUTHORIZATION } from './headers.js';
import type { CredentialsPolicy } from './policy.js';

/** How long a token request may take before it counts as failed. */
const TOKEN_REQUEST_TIMEOUT_MS = 10_000;
/** Refresh once this share of a token's lifetime has passed. */
const REFRESH_AT = 0.8;
/** A token with no `expires_in` (RFC 6749 §5.1 only recommends it) is refreshed after this long. */
const DEFAULT_LIFETIME_MS = 5 * 60_000;
/** Back-off after a failed token request: first, and the most it doubles to. */
const FAILURE_BACKOFF_MS = 1000;
const FAILURE_BACKOFF_MAX_MS = 30_000;

/** What replaces a secret that would otherwise appear in a message. */
const REDACTED = '[redacted]';

/** A credential could not be obtained; `message` names the source and the reason, never a secret. */
export class CredentialsError extends Error {
  override readonly name = 'CredentialsError';
}

/** Observers of a source (the composition root logs them). Never given a secret. */
export interface CredentialEvents {
  /** A new token is in use (a file changed, or a token was fetched); `expiresInS` for OAuth2 tokens. */
  changed?(source: string, expiresInS: number | undefined): void;
  /** A token could not be read or fetched; `message` names the source. */
  failed?(source: string, message: string): void;
}

/** One upstream's credential, kept ready. */
export interface CredentialSource {
  /** Names the source for messages and logs: `token file /x` or `OAuth2 token endpoint https://… (client id c)`. */
  readonly description: string;
  /** `Bearer …` while a valid one is held (starting a background refresh when one is due), else undefined. */
  current(): string | undefined;
  /** A valid `Bearer …`: the one held, or a new one (single-flight). Rejects with a CredentialsError. */
  obtain(): Promise<string>;
  /** The upstream refused `value` (UNAUTHENTICATED): drop it, so that {@link obtain} gets a new one. */
  refused(value: string): void;
  /** Stops timers. */
  close(): void;
}

const bearer = (token: string): string => `Bearer ${token}`;

/** Checks a token as a header value: printable ASCII (PROTOCOL-HTTP2.md ASCII-Value), not empty. */
function tokenProblem(token: string): string | undefined {
  if (token === '') return 'is empty';
  return isLegalTextValue(token) ? undefined : 'holds characters a header value cannot carry (only printable ASCII is allowed)';
}

/** A token file's token: its text without surrounding whitespace (editors and `echo` add a newline). */
const tokenOf = (text: string): string => text.trim();

/**
 * Problems with a credential's files and variables, for load time (`--check`): each names the file or
 * variable and what is wrong, never a value. `env` undefined: variables are not checked.
 */
export function credentialsFileProblems(p: CredentialsPolicy, env: NodeJS.ProcessEnv | undefined): string[] {
  const out: string[] = [];
  const readable = (what: string, file: string): string | undefined => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (err) {
      out.push(`${what}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      return undefined;
    }
  };
  if (p.tokenFile !== undefined) {
    const text = readable('credentials.tokenFile', p.tokenFile);
    const why = text === undefined ? undefined : tokenProblem(tokenOf(text));
    if (why !== undefined) out.push(`credentials.tokenFile: the token in ${p.tokenFile} ${why}`);
  }
  if (p.tokenUrl !== undefined) {
    if (p.clientSecretFile !== undefined) {
      const text = readable('credentials.clientSecretFile', p.clientSecretFile);
      if (text !== undefined && text.trim() === '') out.push(`credentials.clientSecretFile: ${p.clientSecretFile} is empty`);
    } else if (env !== undefined && (env[p.clientSecretEnv] ?? '') === '') {
      out.push(`credentials: the client secret environment variable ${p.clientSecretEnv} is not set; set it, or give clientSecretFile`);
    }
  }
  return out;
}

/**
 * The credential source of one upstream.
 * @param env     where `clientSecretEnv` is looked up (read at each token request, so a restart is not needed
 *                for a changed file, and nothing else of the environment is kept)
 * @throws CredentialsError when a token file cannot be read now (it was checked at load time)
 */
export function createCredentialSource(p: CredentialsPolicy, env: NodeJS.ProcessEnv, events: CredentialEvents = {}, now: () => number = Date.now): CredentialSource {
  return p.tokenFile !== undefined ? fileSource(p.tokenFile, p.reloadMs, events) : oauthSource(p, env, events, now);
}

function fileSource(file: string, reloadMs: number, events: CredentialEvents): CredentialSource {
  const description = `token file ${file}`;
  const read = (text: string): string => {
    const token = tokenOf(text);
    const why = tokenProblem(token);
    if (why !== undefined) throw new CredentialsError(`the token in ${file} ${why}`);
    return bearer(token);
  };
  let value: string;
  try {
    value = read(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw err instanceof CredentialsError ? err : new CredentialsError(`cannot read the ${description}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let reading: Promise<string> | undefined;
  // The same problem is reported once, not at every re-read.
  let reported: string | undefined;
  const reread = (): Promise<string> =>
    (reading ??= fs.promises
      .readFile(file, 'utf8')
      .then(read)
      .then(
        (next) => {
          reported = undefined;
          if (next !== value) {
            value = next;
            events.changed?.(description, undefined);
          }
          return value;
        },
        (err: unknown) => {
          const message = err instanceof CredentialsError ? err.message : `cannot read the ${description}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
          if (message !== reported) events.failed?.(description, `${message}; keeping the previous token`);
          reported = message;
          return value;
        },
      )
      .finally(() => {
        reading = undefined;
      }));
  const timer = setInterval(() => void reread(), reloadMs);
  timer.unref();
  return {
    description,
    current: () => value,
    // A refused token may be the old one of a file that was just rotated: read the file again at once.
    obtain: reread,
    refused: () => undefined,
    close: () => clearInterval(timer),
  };
}

/** The held OAuth2 token. */
interface Held {
  readonly value: string;
  readonly refreshAt: number;
  readonly expiresAt: number;
}

function oauthSource(p: CredentialsPolicy, env: NodeJS.ProcessEnv, events: CredentialEvents, now: () => number): CredentialSource {
  const tokenUrl = p.tokenUrl!;
  const clientId = p.clientId!;
  const description = `OAuth2 token endpoint ${tokenUrl} (client id ${clientId})`;
  // No discovery: the token endpoint is configured. oauth4webapi wants an issuer; the endpoint's origin
  // names it in its messages, and nothing here checks ID tokens against it.
  const as: oauth.AuthorizationServer = { issuer: new URL(tokenUrl).origin, token_endpoint: tokenUrl };
  const client: oauth.Client = { client_id: clientId };
  const parameters: Record<string, string> = {};
  if (p.scopes.length > 0) parameters['scope'] = p.scopes.join(' ');
  if (p.audience !== undefined) parameters['audience'] = p.audience;

  let held: Held | undefined;
  let fetching: Promise<string> | undefined;
  let failure: { readonly error: CredentialsError; readonly until: number } | undefined;
  let backoffMs = FAILURE_BACKOFF_MS;

  const secret = async (): Promise<string> => {
    if (p.clientSecretFile !== undefined) {
      try {
        return (await fs.promises.readFile(p.clientSecretFile, 'utf8')).trim();
      } catch (err) {
        throw new CredentialsError(`cannot be asked: the client secret file ${p.clientSecretFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
    }
    const v = env[p.clientSecretEnv] ?? '';
    if (v === '') throw new CredentialsError(`cannot be asked: the client secret environment variable ${p.clientSecretEnv} is not set`);
    return v;
  };

  const request = async (): Promise<string> => {
    const s = await secret();
    const auth = p.clientAuth === 'post' ? oauth.ClientSecretPost(s) : oauth.ClientSecretBasic(s);
    try {
      const response = await oauth.clientCredentialsGrantRequest(as, client, auth, parameters, {
        signal: AbortSignal.timeout(TOKEN_REQUEST_TIMEOUT_MS),
        // Plain http:// is only accepted for loopback addresses (config parseTokenUrl).
        ...(isPlainHttpUrl(tokenUrl) ? { [oauth.allowInsecureRequests]: true } : {}),
      });
      const r = await oauth.processClientCredentialsResponse(as, client, response);
      if (r.token_type.toLowerCase() !== 'bearer') throw new CredentialsError(`answered token_type ${JSON.stringify(r.token_type)}; attache sends bearer tokens only`);
      const why = tokenProblem(r.access_token);
      if (why !== undefined) throw new CredentialsError(`answered an access token that ${why}`);
      const lifetimeMs = typeof r.expires_in === 'number' && r.expires_in > 0 ? r.expires_in * 1000 : DEFAULT_LIFETIME_MS;
      const t = now();
      held = { value: bearer(r.access_token), refreshAt: t + lifetimeMs * REFRESH_AT, expiresAt: t + lifetimeMs };
      events.changed?.(description, r.expires_in);
      return held.value;
    } catch (err) {
      // Whatever the library or the server put in an error, the secret never leaves this function.
      throw new CredentialsError(scrub(reason(err), s));
    }
  };

  const obtain = (): Promise<string> => {
    if (fetching !== undefined) return fetching;
    if (failure !== undefined && now() < failure.until) return Promise.reject(failure.error);
    fetching = request().then(
      (value) => {
        failure = undefined;
        backoffMs = FAILURE_BACKOFF_MS;
        fetching = undefined;
        return value;
      },
      (err: unknown) => {
        const error = new CredentialsError(`the ${description} ${err instanceof CredentialsError ? err.message : String(err)}`);
        failure = { error, until: now() + backoffMs };
        backoffMs = Math.min(backoffMs * 2, FAILURE_BACKOFF_MAX_MS);
        fetching = undefined;
        events.failed?.(description, error.message);
        throw error;
      },
    );
    return fetching;
  };

  return {
    description,
    current() {
      const h = held;
      if (h === undefined) return undefined;
      const t = now();
      if (t >= h.expiresAt) return undefined;
      if (t >= h.refreshAt && fetching === undefined && (failure === undefined || t >= failure.until)) obtain().catch(() => undefined);
      return h.value;
    },
    obtain: () => {
      const h = held;
      return h !== undefined && now() < h.refreshAt ? Promise.resolve(h.value) : obtain();
    },
    refused(value) {
      if (held?.value === value) held = undefined;
    },
    close: () => undefined,
  };
}

/** Why a token request failed, in words (from oauth4webapi's errors, fetch's and our own). */
function reason(err: unknown): string {
  if (err instanceof CredentialsError) return err.message;
  if (err instanceof oauth.ResponseBodyError) {
    return `answered HTTP ${err.status} ${err.error}${err.error_description ? `: ${err.error_description}` : ''}`;
  }
  if (err instanceof oauth.WWWAuthenticateChallengeError) return `answered HTTP ${err.status} with a WWW-Authenticate challenge`;
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `did not answer within ${TOKEN_REQUEST_TIMEOUT_MS / 1000} s`;
  if (err instanceof oauth.OperationProcessingError) return `answered something that is not a valid token response: ${err.message}`;
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return `cannot be reached (${cause.code})`;
  return `cannot be reached: ${err instanceof Error ? err.message : String(err)}`;
}

/** `text` with every occurrence of `secret` replaced. */
function scrub(text: string, secret: string): string {
  return secret.length >= 4 ? text.split(secret).join(REDACTED) : text;
}

/** A unary call function, as Wire.call and Upstream.call are. */
export type CallFn<R> = (route: R, request: Uint8Array, metadata: CallMetadata, timeoutMs: number) => RunningCall;

/**
 * `call` with `source`'s credential as `authorization` metadata on every call, and one retry with a fresh
 * credential when the upstream answers UNAUTHENTICATED to a credential it had (expired, revoked, rotated).
 *
 * The retry is safe for any method, unlike a retry of an unknown outcome: an UNAUTHENTICATED status is the
 * server's own answer that it refused the call before acting on it (gRPC's auth runs before the handler:
 * google/rpc/code.proto, "The request does not have valid authentication credentials for the operation").
 * It is made only when the new credential differs from the refused one, and within the call's deadline.
 *
 * The caller's own `authorization` (from its Authorization header): `forward` sends it on as
 * `x-forwarded-authorization`, `drop` removes it, `keep` lets it win (no credential is attached then).
 */
export function callWithCredentials<R>(call: CallFn<R>, source: CredentialSource, mode: CredentialsPolicy['callerAuthorization'], now: () => number = Date.now): CallFn<R> {
  return (route, request, metadata, timeoutMs) => {
    const base = callerMetadata(metadata, mode);
    return base === undefined ? call(route, request, metadata, timeoutMs) : new AuthorizedCall(call, source, route, request, base, timeoutMs, now);
  };
}

/**
 * `stream` with `source`'s credential as `authorization` metadata, as {@link callWithCredentials} does for
 * unary calls, with two differences a stream imposes: it starts with the credential held now (when none is
 * held yet, it starts without one and a fetch begins for the next call), and it is not retried on
 * UNAUTHENTICATED (its messages may already have been sent).
 */
export function streamWithCredentials<T, A extends unknown[], R>(
  stream: (route: T, metadata: CallMetadata, ...rest: A) => R,
  source: CredentialSource,
  mode: CredentialsPolicy['callerAuthorization'],
): (route: T, metadata: CallMetadata, ...rest: A) => R {
  return (route, metadata, ...rest) => {
    const base = callerMetadata(metadata, mode);
    if (base === undefined) return stream(route, metadata, ...rest);
    const held = source.current();
    if (held === undefined) void source.obtain().catch(() => undefined);
    return stream(route, held === undefined ? base : base.with(AUTHORIZATION, held), ...rest);
  };
}

const FORWARDED_KEY = new Set([X_FORWARDED_AUTHORIZATION]);

/**
 * The caller's metadata made ready for attache's credential (which then goes in with
 * `.with('authorization', value)`), per `mode`; undefined when the caller's own Authorization wins (`keep`)
 * and no credential is to be attached. In `forward` mode `x-forwarded-authorization` only ever holds what
 * the caller sent as Authorization: one sent through `Grpc-Metadata-` is dropped, so it cannot pose as one.
 * For every call kind (a streaming call attaches the credential the same way).
 */
export function callerMetadata(metadata: CallMetadata, mode: CredentialsPolicy['callerAuthorization']): CallMetadata | undefined {
  const caller = metadata.get(AUTHORIZATION);
  if (caller !== undefined) {
    if (mode === 'keep') return undefined;
    if (mode === 'forward') return metadata.with(X_FORWARDED_AUTHORIZATION, caller);
  }
  return metadata.get(X_FORWARDED_AUTHORIZATION) !== undefined ? metadata.replacing(FORWARDED_KEY, []) : metadata;
}

const outcomeOf = (code: number, details: string): UnaryOutcome => ({
  response: undefined,
  error: { code, details, metadata: CallMetadata.EMPTY },
  headers: undefined,
  trailers: undefined,
  unsent: true,
});

/** One call with credentials: waits for a credential when none is held, retries once on UNAUTHENTICATED. */
class AuthorizedCall<R> implements RunningCall {
  readonly done: Promise<UnaryOutcome>;
  private running: RunningCall | undefined;
  private cancelled = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly call: CallFn<R>,
    private readonly source: CredentialSource,
    private readonly route: R,
    private readonly request: Uint8Array,
    private readonly metadata: CallMetadata,
    private readonly timeoutMs: number,
    private readonly now: () => number,
  ) {
    const start = now();
    const value = source.current();
    if (value !== undefined) {
      const first = this.start(value, timeoutMs);
      this.done = first.done.then((o) => (o.error?.code === Code.UNAUTHENTICATED ? this.again(value, start, o) : o));
    } else {
      this.done = this.obtain(start).then((v) => {
        if (typeof v !== 'string') return v;
        const remaining = timeoutMs - (now() - start);
        if (remaining <= 0) return this.expired();
        return this.start(v, remaining).done.then((o) => (o.error?.code === Code.UNAUTHENTICATED ? this.again(v, start, o) : o));
      });
    }
  }

  cancel(): void {
    this.cancelled = true;
    this.running?.cancel();
    this.wake?.();
  }

  private start(value: string, timeoutMs: number): RunningCall {
    const r = this.call(this.route, this.request, this.metadata.with(AUTHORIZATION, value), timeoutMs);
    this.running = r;
    if (this.cancelled) r.cancel();
    return r;
  }

  /**
   * The refused credential is dropped; a different one gets the call once more. Without one (the same token,
   * a source that fails, no time left, a cancel) the upstream's UNAUTHENTICATED answer stands.
   */
  private async again(refused: string, start: number, answer: UnaryOutcome): Promise<UnaryOutcome> {
    this.source.refused(refused);
    const v = await this.obtain(start);
    const remaining = this.timeoutMs - (this.now() - start);
    if (typeof v !== 'string' || v === refused || remaining <= 0 || this.cancelled) return answer;
    return this.start(v, remaining).done;
  }

  /** A credential, or the outcome that ends the call without one (unavailable, deadline, cancelled). */
  private obtain(start: number): Promise<string | UnaryOutcome> {
    if (this.cancelled) return Promise.resolve(outcomeOf(Code.CANCELLED, 'Cancelled on client'));
    const remaining = this.timeoutMs - (this.now() - start);
    return new Promise<string | UnaryOutcome>((resolve) => {
      const timer = setTimeout(() => resolve(this.expired()), Math.max(1, remaining));
      this.wake = () => resolve(outcomeOf(Code.CANCELLED, 'Cancelled on client'));
      this.source.obtain().then(
        (v) => resolve(v),
        (err: unknown) => resolve(outcomeOf(Code.UNAVAILABLE, `the upstream credential is unavailable: ${err instanceof Error ? err.message : String(err)}`)),
      ).finally(() => {
        clearTimeout(timer);
        this.wake = undefined;
      });
    });
  }

  private expired(): UnaryOutcome {
    return outcomeOf(Code.DEADLINE_EXCEEDED, `the call's deadline of ${this.timeoutMs} ms passed while waiting for a credential from the ${this.source.description}`);
  }
}
