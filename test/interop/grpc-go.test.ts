// The at-most-once and keepalive suite (safety.ts) against a grpc-go server.
import { interopSafety } from './safety.js';

interopSafety('grpc-go');
