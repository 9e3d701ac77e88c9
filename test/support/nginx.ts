/**
 * nginx (Debian's nginx-light, installed by .ci/run) as a gRPC reverse proxy on loopback: TLS with HTTP/2 on
 * the front, `grpc_pass` to a plaintext gRPC server behind. What a user's ingress or edge proxy looks like to
 * attache's upstream client: another HTTP/2 implementation, with its own SETTINGS, flow control and GOAWAY.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Pem } from './certs.js';
import { freePort } from './process.js';

export interface Nginx {
  readonly port: number;
  /** `127.0.0.1:<port>`. */
  readonly target: string;
  stop(): Promise<void>;
}

/** Starts nginx serving TLS (`tls`'s certificate) on a free port, proxying every gRPC call to `upstreamPort`. */
export async function startNginxGrpcPass(upstreamPort: number, tls: Pem): Promise<Nginx> {
  if (!fs.existsSync('/usr/sbin/nginx')) throw new Error('nginx is not installed: apt-get install -y nginx-light');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-nginx-'));
  const port = await freePort();
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  client_max_body_size 16m;
  grpc_buffer_size 16m;
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${tls.certFile};
    ssl_certificate_key ${tls.keyFile};
    location / {
      grpc_pass grpc://127.0.0.1:${upstreamPort};
      grpc_read_timeout 300s;
      grpc_send_timeout 300s;
    }
  }
}
`,
  );
  const child = spawn('/usr/sbin/nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nginx did not start: ${err}${fs.existsSync(path.join(dir, 'error.log')) ? fs.readFileSync(path.join(dir, 'error.log'), 'utf8') : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    target: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((done) => {
        const finish = (): void => {
          fs.rmSync(dir, { recursive: true, force: true });
          done();
        };
        if (child.exitCode !== null) return finish();
        child.once('exit', finish);
        child.kill('SIGKILL');
      }),
  };
}
