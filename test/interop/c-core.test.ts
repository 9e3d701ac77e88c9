// The interoperability suites against a gRPC C-core server (python3-grpcio): at most once and keepalive
// (safety.ts), and the conformance suite (conformance.ts).
import { describe } from 'vitest';
import { interopConformance } from './conformance.js';
import { interopSafety } from './safety.js';

describe('safety', () => interopSafety('c-core'));
describe('conformance, direct', () => interopConformance('c-core', 'direct'));
