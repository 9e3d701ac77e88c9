/**
 * TLS and mTLS credentials for grpcs:// upstreams, read from PEM files and re-read when they change.
 *
 * Rotation: every `intervalMs` the files are read again (asynchronously, off the request path) and compared
 * byte for byte; on a change, the new set is checked and handed to `onChange`, which gives new calls new
 * connections (the lean transport) or a new channel (grpc-js) while calls in flight finish on the old ones.
 * Polling the contents, rather than fs.watch, also sees a Kubernetes Secret update, which swaps a `..data`
 * symlink and never writes the file itself. A half-written or invalid file keeps the old material and is
 * retried at the next interval.
 *
 * grpc-js's experimental FileWatcherCertificateProvider was considered: it requires a CA file (no system
 * roots), its refresh timer is not unref'd, and a connection already open keeps the old certificates until
 * it drops, so a rotation would not take effect for new calls.
 */
import fs from 'node:fs';

import { nodeTls } from './lazy-builtins.js';
import type { TlsPolicy } from './policy.js';

/** The bytes of a policy's files (the lean HTTP/2 transport, h2/, builds its TLS connections from them). */
export interface Material {
  readonly ca: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
}

/** Problems with a policy's files, for load time (`--check`): each names the file and what is wrong. */
export function tlsFileProblems(p: TlsPolicy): string[] {
  const out: string[] = [];
  for (const [what, file] of [['tls.ca', p.ca], ['tls.cert', p.cert], ['tls.key', p.key]] as const) {
    if (file === undefined) continue;
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch (err) {
      out.push(`${what}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  if (out.length === 0) {
    try {
      checkMaterial(readMaterialSync(p));
    } catch (err) {
      out.push(`tls: the certificate files do not form valid credentials: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return out;
}

function readMaterialSync(p: TlsPolicy): Material {
  const read = (f: string | undefined): Buffer | undefined => (f === undefined ? undefined : fs.readFileSync(f));
  return { ca: read(p.ca), cert: read(p.cert), key: read(p.key) };
}

async function readMaterial(p: TlsPolicy): Promise<Material> {
  const read = (f: string | undefined): Promise<Buffer | undefined> => (f === undefined ? Promise.resolve(undefined) : fs.promises.readFile(f));
  const [ca, cert, key] = await Promise.all([read(p.ca), read(p.cert), read(p.key)]);
  return { ca, cert, key };
}

const same = (a: Buffer | undefined, b: Buffer | undefined): boolean => (a === undefined ? b === undefined : b !== undefined && a.equals(b));

/**
 * Checks that the PEM data makes a TLS context, as both transports will build one from it: the lean one for
 * its connections (h2/), grpc-js in `credentials.createSsl`, which asks the same of a key and its
 * certificate. Done here with node:tls, so that a lean-only process never loads grpc-js.
 * @throws Error when a key comes without its certificate (or the reverse), or the PEM data is invalid
 */
function checkMaterial(m: Material): void {
  if (m.key !== undefined && m.cert === undefined) throw new Error('Private key must be given with certificate chain');
  if (m.key === undefined && m.cert !== undefined) throw new Error('Certificate chain must be given with private key');
  nodeTls().createSecureContext({ ca: m.ca, key: m.key, cert: m.cert });
}

/** TLS material that follows its files. */
export interface TlsSource {
  /** The PEM bytes as of the last successful read (checked: they make a TLS context). */
  readonly material: Material;
  /** Stops watching. */
  close(): void;
}

/**
 * Reads the files now (they were checked at load time) and watches them.
 * @param onChange called with the new PEM bytes after a file changed and the new set is valid
 * @param onError  called when a changed set cannot be read or is invalid (the old material stays)
 * @throws Error when the files cannot be read now or are invalid
 */
export function watchTls(p: TlsPolicy, intervalMs: number, onChange: (material: Material) => void, onError: (err: unknown) => void): TlsSource {
  let material = readMaterialSync(p);
  checkMaterial(material);
  let reading = false;
  const timer = setInterval(() => {
    if (reading || (p.ca === undefined && p.cert === undefined)) return;
    reading = true;
    readMaterial(p)
      .then((next) => {
        if (same(next.ca, material.ca) && same(next.cert, material.cert) && same(next.key, material.key)) return;
        checkMaterial(next);
        material = next;
        onChange(next);
      })
      .catch(onError)
      .finally(() => {
        reading = false;
      });
  }, intervalMs);
  timer.unref();
  return {
    get material() {
      return material;
    },
    close: () => clearInterval(timer),
  };
}
