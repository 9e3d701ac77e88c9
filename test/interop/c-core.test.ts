// The at-most-once and keepalive suite (safety.ts) against a gRPC C-core server (python3-grpcio).
import { interopSafety } from './safety.js';

interopSafety('c-core');
