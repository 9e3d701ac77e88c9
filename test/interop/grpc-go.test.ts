// The interoperability suites against a grpc-go server: at most once and keepalive (safety.ts), and the
// conformance suite (conformance.ts) directly and through nginx grpc_pass with TLS.
import { describe } from 'vitest';
import { interopConformance } from './conformance.js';
import { interopSafety } from './safety.js';

describe('safety', () => interopSafety('grpc-go'));
describe('conformance, direct', () => interopConformance('grpc-go', 'direct'));
describe('conformance, nginx grpc_pass over TLS', () => interopConformance('grpc-go', 'nginx-tls'));
