/**
 * The interactive API reference page: Swagger UI (@fastify/swagger-ui, with @fastify/static serving its
 * assets from disk) over the current OpenAPI document. Built as its own Fastify instance that never
 * listens; src/ops/docs.ts loads this module on the first request for /docs and forwards requests to it
 * with `inject`, so a process nobody opens the page on never loads it (the same reason the demo backend is
 * imported lazily: resident memory, bench/RESULTS.md §5). scripts/bundle.mjs builds it as dist/docs-ui.js
 * beside dist/cli.js and copies the Swagger UI assets to dist/docs-ui/, so the page works from the bundled
 * build and with no network (no CDN, no validator badge).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { PACKAGE_DIR } from '../package-dir.js';

/** Where the Swagger UI assets are: copied beside the bundle, else in node_modules (tsc build, tests). */
export function swaggerUiAssetsDir(): string {
  const copied = path.join(PACKAGE_DIR, 'dist', 'docs-ui');
  if (fs.existsSync(path.join(copied, 'swagger-ui-bundle.js'))) return copied;
  return path.join(path.dirname(createRequire(import.meta.url).resolve('@fastify/swagger-ui/package.json')), 'static');
}

const LOGO = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><text x="0" y="28" font-family="sans-serif" font-size="26" font-weight="bold" fill="#fff">attache</text></svg>',
);

/** Builds the (not listening) docs instance; `document` gives the current OpenAPI document for a request. */
export async function createDocsUi(document: (host: string | undefined) => Record<string, unknown>): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  // @fastify/swagger-ui reads its document from @fastify/swagger; the static placeholder is never shown,
  // transformSpecification hands over the current snapshot's document on each request.
  await app.register(fastifySwagger, { mode: 'static', specification: { document: { openapi: '3.1.0', info: { title: 'attache', version: '0' }, paths: {} } } } as never);
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    baseDir: swaggerUiAssetsDir(),
    logo: { type: 'image/svg+xml', content: LOGO },
    theme: { title: 'attache API reference' },
    transformSpecificationClone: false,
    transformSpecification: (_spec: unknown, req: FastifyRequest) => document(req.headers.host),
    uiConfig: { deepLinking: true, tryItOutEnabled: true, displayRequestDuration: true, defaultModelsExpandDepth: 0, validatorUrl: null },
  } as never);
  await app.ready();
  return app;
}
