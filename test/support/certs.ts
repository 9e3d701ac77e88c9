/**
 * Test certificates generated on the fly with the `openssl` command line (P-256 keys, valid for a day):
 * a CA, and leaf certificates signed by it for a server (with subjectAltNames) or a client (clientAuth).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface Pem {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Where they were written. */
  readonly certFile: string;
  readonly keyFile: string;
}

const openssl = (args: readonly string[]): void => {
  execFileSync('openssl', args, { stdio: 'pipe' });
};

/** True when the `openssl` binary can be run. */
export function haveOpenssl(): boolean {
  try {
    openssl(['version']);
    return true;
  } catch {
    return false;
  }
}

function read(dir: string, name: string): Pem {
  const certFile = path.join(dir, `${name}.pem`);
  const keyFile = path.join(dir, `${name}.key`);
  return { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile), certFile, keyFile };
}

/** A self-signed CA named `name`, written to `dir/name.pem` and `dir/name.key`. */
export function makeCa(dir: string, name: string): Pem {
  openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', `/CN=${name}`, '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.pem`),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return read(dir, name);
}

/**
 * A leaf certificate with CN `name` signed by `ca`: for a server, `altNames` like `['DNS:localhost',
 * 'IP:127.0.0.1']`; for a client, none (extendedKeyUsage clientAuth).
 */
export function makeLeaf(dir: string, name: string, ca: Pem, altNames?: readonly string[]): Pem {
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  fs.writeFileSync(ext, altNames ? `subjectAltName=${altNames.join(',')}\nextendedKeyUsage=serverAuth\n` : 'extendedKeyUsage=clientAuth\n');
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`, '-keyout', path.join(dir, `${name}.key`), '-out', csr]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', path.join(dir, `${name}.pem`)]);
  return read(dir, name);
}
