/**
 * grpc-js target syntax → the addresses the lean transport connects to, and the `:authority` it sends.
 *
 * Follows grpc-js 1.14 (uri-parser.ts `parseUri`/`splitHostPort`, resolver.ts `mapUriDefaultScheme`,
 * resolver-dns.ts, resolver-ip.ts, resolver-uds.ts) so a target means the same thing on either transport:
 * - `[scheme:][//authority/]path`; a scheme grpc-js has no resolver for (`localhost:50051` parses as scheme
 *   `localhost`!) or no scheme at all makes the whole target a `dns:` path;
 * - `dns:` resolves one `host[:port]` (default port 443, as grpc-js: it knows no scheme-based default);
 *   the authority part of `dns://server/…` names a DNS server, which we, like older grpc-js, ignore;
 * - `ipv4:`/`ipv6:` list literal addresses separated by commas, each with an optional port (443);
 * - `unix:path` (relative or absolute) and `unix:///abs/path`.
 * Anything else (`xds:`, `unix-abstract:`, `vsock:`…) is left to grpc-js: {@link parseTarget} returns undefined.
 *
 * The authority is grpc-js's default authority (the dns path as written, the first ipv4/ipv6 entry,
 * `localhost` for unix sockets) unless a TLS server name overrides it (channels.ts sets
 * `grpc.default_authority` to it).
 */
import net from 'node:net';

/** One address to connect to, or (for `dns`) to look up first. */
export type TargetAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly literal: boolean }
  | { readonly kind: 'unix'; readonly path: string };

/** A target the lean transport can reach. */
export interface ParsedTarget {
  readonly scheme: 'dns' | 'ipv4' | 'ipv6' | 'unix';
  /** For `dns`: one entry (looked up unless `literal`); otherwise the final addresses, in order. */
  readonly addresses: readonly TargetAddress[];
  /** What `:authority` carries (also the TLS name checked, unless a server name is given). */
  readonly authority: string;
  /** The host name a TLS connection sends as SNI and checks the certificate against. */
  readonly tlsHost: string;
}

/** grpc-js resolvers' default port (resolver-dns.ts and resolver-ip.ts `DEFAULT_PORT`). */
export const DEFAULT_PORT = 443;

const URI_REGEX = /^(?:([A-Za-z0-9+.-]+):)?(?:\/\/([^/]*)\/)?(.+)$/;
const NUMBER_REGEX = /^\d+$/;
const KNOWN = new Set(['dns', 'ipv4', 'ipv6', 'unix']);
/** Schemes grpc-js (or a plug-in such as @grpc/grpc-js-xds) resolves and we do not. */
const FOREIGN = new Set(['xds', 'unix-abstract', 'vsock', 'google-c2p']);

/** grpc-js `splitHostPort`: `[v6]:port`, `host:port`, `host`, or a bare IPv6 address; null when malformed. */
export function splitHostPort(path: string): { host: string; port: number | undefined } | null {
  if (path.startsWith('[')) {
    const end = path.indexOf(']');
    if (end === -1) return null;
    const host = path.substring(1, end);
    if (!host.includes(':')) return null;
    if (path.length === end + 1) return { host, port: undefined };
    if (path[end + 1] !== ':') return null;
    const port = path.substring(end + 2);
    return NUMBER_REGEX.test(port) ? { host, port: Number(port) } : null;
  }
  const parts = path.split(':');
  if (parts.length === 2) return NUMBER_REGEX.test(parts[1]!) ? { host: parts[0]!, port: Number(parts[1]) } : null;
  return { host: path, port: undefined };
}

const validPort = (p: number): boolean => p >= 0 && p <= 65535;

/**
 * Parses `target`. Returns undefined for a target the lean transport does not handle (another scheme, a
 * malformed host:port, an empty host) — the caller then keeps grpc-js for it, which reports its own error.
 * @param serverName TLS server name override: becomes the authority and the name the certificate must carry
 */
export function parseTarget(target: string, serverName?: string): ParsedTarget | undefined {
  const m = URI_REGEX.exec(target);
  if (m === null) return undefined;
  let scheme = m[1];
  const authority = m[2];
  let path = m[3]!;
  if (scheme !== undefined && FOREIGN.has(scheme)) return undefined;
  if (scheme === undefined || !KNOWN.has(scheme)) {
    // grpc-js `mapUriDefaultScheme`: the whole target becomes the dns path.
    scheme = 'dns';
    path = target;
  }
  switch (scheme) {
    case 'unix': {
      const p = authority === '' ? `/${path}` : path;
      return { scheme, addresses: [{ kind: 'unix', path: p }], authority: serverName ?? 'localhost', tlsHost: serverName ?? 'localhost' };
    }
    case 'dns': {
      const hp = splitHostPort(path);
      if (hp === null || hp.host === '') return undefined;
      const port = hp.port ?? DEFAULT_PORT;
      if (!validPort(port)) return undefined;
      return {
        scheme,
        addresses: [{ kind: 'tcp', host: hp.host, port, literal: net.isIP(hp.host) !== 0 }],
        authority: serverName ?? path,
        tlsHost: serverName ?? hp.host,
      };
    }
    default: {
      const v = scheme === 'ipv4' ? net.isIPv4 : net.isIPv6;
      const addresses: TargetAddress[] = [];
      for (const entry of path.split(',')) {
        const hp = splitHostPort(entry);
        if (hp === null || !v(hp.host)) return undefined;
        const port = hp.port ?? DEFAULT_PORT;
        if (!validPort(port)) return undefined;
        addresses.push({ kind: 'tcp', host: hp.host, port, literal: true });
      }
      const first = path.split(',')[0]!;
      return { scheme: scheme as 'ipv4' | 'ipv6', addresses, authority: serverName ?? first, tlsHost: serverName ?? (addresses[0] as { host: string }).host };
    }
  }
}

/** An address as grpc-js prints a subchannel's (`subchannelAddressToString`): `host:port`, `[v6]:port`, or the socket path. */
export function addressString(a: TargetAddress): string {
  if (a.kind === 'unix') return a.path;
  return net.isIPv6(a.host) ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
