/**
 * TLS and mTLS credentials for grpcs:// upstreams, read from PEM files and re-read when they change.
 *
 * Rotation: every `intervalMs` the files are read again (asynchronously, off the request path) and compared
 * byte for byte; on a change, new credentials are built and handed to `onChange`, which swaps the channel for
 * new calls while calls in flight finish on the old one (channels.ts). Polling the contents, rather than
 * fs.watch, also sees a Kubernetes Secret update, which swaps a `..data` symlink and never writes the file
 * itself. A half-written or invalid file keeps the old credentials and is retried at the next interval.
 *
 * grpc-js's experimental FileWatcherCertificateProvider was considered: it requires a CA file (no system
 * roots), its refresh timer is not unref'd, and a connection already open keeps the old certificates until
 * it drops, so a rotation would not take effect for new calls.
 */
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
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
      credentialsFrom(readMaterialSync(p));
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

/** @throws Error when the PEM data is invalid (grpc-js builds a SecureContext at once). */
function credentialsFrom(m: Material): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(m.ca ?? null, m.key ?? null, m.cert ?? null);
}

/** Credentials that follow their files. */
export interface TlsSource {
  /** The credentials as of the last successful read. */
  readonly credentials: grpc.ChannelCredentials;
  /** The PEM bytes those credentials were built from. */
  readonly material: Material;
  /** Stops watching. */
  close(): void;
}

/**
 * Reads the files now (they were checked at load time) and watches them.
 * @param onChange called with new credentials (and their PEM bytes) after a file changed and the new set is valid
 * @param onError  called when a changed set cannot be read or is invalid (the old credentials stay)
 * @throws Error when the files cannot be read now or are invalid
 */
export function watchTls(
  p: TlsPolicy,
  intervalMs: number,
  onChange: (credentials: grpc.ChannelCredentials, material: Material) => void,
  onError: (err: unknown) => void,
): TlsSource {
  let material = readMaterialSync(p);
  let credentials = credentialsFrom(material);
  let reading = false;
  const timer = setInterval(() => {
    if (reading || (p.ca === undefined && p.cert === undefined)) return;
    reading = true;
    readMaterial(p)
      .then((next) => {
        if (same(next.ca, material.ca) && same(next.cert, material.cert) && same(next.key, material.key)) return;
        const fresh = credentialsFrom(next);
        material = next;
        credentials = fresh;
        onChange(fresh, next);
      })
      .catch(onError)
      .finally(() => {
        reading = false;
      });
  }, intervalMs);
  timer.unref();
  return {
    get credentials() {
      return credentials;
    },
    get material() {
      return material;
    },
    close: () => clearInterval(timer),
  };
}
