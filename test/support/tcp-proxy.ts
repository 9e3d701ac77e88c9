/**
 * A TCP proxy on loopback that can turn into a black hole: `freeze()` stops forwarding in both directions
 * while keeping every socket open, and later connections are accepted and never answered. What a
 * network partition or a hung host looks like to a client: no RST, no FIN, just silence. `cut()` is the
 * other failure: every connection open now is reset (a crashed peer, a dropped NAT entry), and later ones
 * are proxied as before. `connections` counts the client connections accepted (a reconnect shows here).
 */
import net from 'node:net';

export interface TcpProxy {
  readonly port: number;
  readonly target: string;
  /** From now on nothing is forwarded and nothing is closed. */
  freeze(): void;
  /** Resets every connection open now, both sides (TCP RST); new ones are proxied as before. */
  cut(): void;
  /** Client connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/** Proxies 127.0.0.1:<port> to `upstreamPort`; with `blackHole`, it is frozen from the start. */
export async function startTcpProxy(upstreamPort: number | undefined, blackHole = false): Promise<TcpProxy> {
  let frozen = blackHole;
  const sockets = new Set<net.Socket>();
  const pairs: [net.Socket, net.Socket][] = [];
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  let connections = 0;
  const server = net.createServer((client) => {
    connections++;
    track(client);
    if (frozen || upstreamPort === undefined) {
      client.pause(); // accept, read nothing, answer nothing
      return;
    }
    const up = net.connect(upstreamPort, '127.0.0.1');
    track(up);
    client.pipe(up);
    up.pipe(client);
    // An upstream that is down or goes away closes the client's side too, as a direct connection would
    // (unless frozen: then silence is the point).
    up.on('close', () => {
      if (!frozen) client.destroy();
    });
    client.on('close', () => up.destroy());
    pairs.push([client, up]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    target: `127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    cut() {
      for (const [a, b] of pairs.splice(0)) {
        a.resetAndDestroy();
        b.resetAndDestroy();
      }
    },
    freeze() {
      frozen = true;
      for (const [a, b] of pairs) {
        a.unpipe(b);
        b.unpipe(a);
        a.pause();
        b.pause();
      }
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
