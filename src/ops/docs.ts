/**
 * /docs on the admin listener: forwards to the Swagger UI instance of docs-ui.ts, created on the first
 * request (see there why lazily).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

type DocsApp = Awaited<ReturnType<typeof import('./docs-ui.js').createDocsUi>>;

/** Registers `/docs` and `/docs/*` on `admin`. */
export function registerDocs(admin: FastifyInstance, document: (host: string | undefined) => Record<string, unknown>): void {
  let app: Promise<DocsApp> | undefined;
  const forward = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    app ??= import('./docs-ui.js').then((m) => m.createDocsUi(document));
    let docs: DocsApp;
    try {
      docs = await app;
    } catch (err) {
      app = undefined;
      throw err;
    }
    const res = await docs.inject({ method: 'GET', url: req.url, headers: { host: req.headers.host ?? '', accept: req.headers.accept ?? '*/*' } });
    const headers = { ...res.headers };
    delete headers['transfer-encoding'];
    delete headers['connection'];
    return reply.code(res.statusCode).headers(headers).send(res.rawPayload);
  };
  admin.get('/docs', forward);
  admin.get('/docs/*', forward);
  admin.addHook('onClose', async () => {
    if (app !== undefined) await (await app.catch(() => undefined))?.close();
  });
}
