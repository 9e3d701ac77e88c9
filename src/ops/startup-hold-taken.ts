/**
 * The process's start-up hold (src/ops/startup-hold.ts), taken when this module is evaluated.
 *
 * It is a module of its own, imported first by src/cli.ts, because ES modules evaluate their imports in
 * order before the importing module's body: taken anywhere in cli.ts's body, the hold would come after
 * Fastify, protobufjs, grpc-js and OpenTelemetry had loaded, which is much of what start-up allocates.
 */
import { holdStartup } from './startup-hold.js';

export const startupHold = holdStartup(process.execArgv, process.env['NODE_OPTIONS']);
