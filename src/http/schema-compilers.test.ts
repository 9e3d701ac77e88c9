import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { ensureBuilt, runModuleScript } from '../../test/support/process.js';
import { NO_SCHEMA_COMPILERS, RouteSchemaError } from './schema-compilers.js';

describe('the Fastify schema compilers attache uses (none)', () => {
  it('serves routes without schemas', async () => {
    const app = Fastify({ schemaController: NO_SCHEMA_COMPILERS });
    app.post('/x', async (req) => ({ got: req.body }));
    const res = await app.inject({ method: 'POST', url: '/x', payload: { a: 1 } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ got: { a: 1 } });
    await app.close();
  });

  it('says which route and which kind of schema', () => {
    const err = new RouteSchemaError('validation', 'GET', '/a');
    expect(err.code).toBe('ATTACHE_E_ROUTE_SCHEMA');
    expect(err.message).toBe("GET /a has a validation schema, but attache's Fastify instances compile none (src/http/schema-compilers.ts)");
  });

  it.each([
    ['a body schema', { body: { type: 'object' } }, 'validation'],
    ['a response schema', { response: { 200: { type: 'object' } } }, 'response'],
  ])('refuses a route with %s when the instance starts, naming the route', async (_what, schema, kind) => {
    const app = Fastify({ schemaController: NO_SCHEMA_COMPILERS });
    app.post('/with-schema', { schema }, async () => ({}));
    const err = await app.ready().then(
      () => undefined,
      (e: unknown) => e,
    );
    // Fastify wraps what the compiler throws in its own error (FST_ERR_SCH_*_BUILD), keeping the message.
    expect((err as Error).message).toContain(`POST /with-schema has a ${kind} schema, but attache's Fastify instances compile none (src/http/schema-compilers.ts)`);
    await app.close().catch(() => undefined);
  });

  // The point of it: Fastify loads its default compilers (Ajv, fast-json-stringify) when an instance is
  // created; with these it never does. A child node, so that nothing else in this process loaded them.
  it('keeps Fastify from loading Ajv and fast-json-stringify', async () => {
    ensureBuilt();
    const script = `
      import { createRequire } from 'node:module';
      import Fastify from 'fastify';
      import { NO_SCHEMA_COMPILERS } from ${JSON.stringify(new URL('../../dist/http/schema-compilers.js', import.meta.url).href)};
      const require = createRequire(import.meta.url);
      const loaded = () => ['@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler', 'ajv', 'fast-json-stringify']
        .filter((m) => require.cache[require.resolve(m, { paths: [${JSON.stringify(new URL('../../node_modules/fastify/', import.meta.url).pathname)}] })] !== undefined);
      const lean = Fastify({ schemaController: NO_SCHEMA_COMPILERS });
      lean.get('/', async () => ({}));
      await lean.ready();
      const withNone = loaded();
      const plain = Fastify();
      await plain.ready();
      process.stdout.write(JSON.stringify({ withNone, withDefaults: loaded() }));`;
    const { withNone, withDefaults } = JSON.parse(await runModuleScript(script)) as { withNone: string[]; withDefaults: string[] };
    expect(withNone).toEqual([]);
    expect(withDefaults).toEqual(expect.arrayContaining(['@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler']));
  }, 70_000);
});
