import { describe, expect, expectTypeOf, it } from 'vitest';
import { helpText, loadConfig, yamlKeyTree } from './load.js';
import type { Config, ListenAddress, LoadResult } from './load.js';
import { SCHEMA, settingEntries } from './schema.js';
import { CONFIG_ERROR_CODES, ConfigError } from './errors.js';

/** A virtual file system for `--config`: path → text. */
const files = (map: Record<string, string>) => (p: string): string => {
  const text = map[p];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${p}'`), { code: 'ENOENT' });
  return text;
};

function config(r: LoadResult): Config {
  if (!r.ok) throw new Error(`expected ok, got:\n${r.errors.join('\n')}`);
  return r.config;
}

function errorsOf(r: LoadResult): readonly ConfigError[] {
  if (r.ok) throw new Error('expected errors, got a config');
  return r.errors;
}

const DEFAULTS: Config = {
  protos: ['protos'],
  mappings: ['mappings'],
  upstream: undefined,
  listen: { host: '0.0.0.0', port: 8080 },
  adminListen: { host: '0.0.0.0', port: 9901 },
  check: false,
  configFile: undefined,
  demo: false,
  logLevel: 'info',
  logFormat: 'auto',
  bodyLimitBytes: 4 * 1024 * 1024,
  defaultDeadlineMs: 15_000,
  drainTimeoutMs: 10_000,
  streamIdleTimeoutMs: 0,
  sseHeartbeatMs: 15_000,
  heapGrowthPercent: 'auto',
  heapTuning: 'auto',
  workers: 1,
  reflection: false,
  autoMapping: false,
  cors: { origins: [], credentials: false, maxAgeMs: 600_000 },
  limits: {
    maxUrlLength: 8192, maxHeaderSize: 16_384, maxQueryParams: 1000, headerTimeoutMs: 10_000, keepAliveTimeoutMs: 75_000,
    maxConnections: 10_000, lingerMs: 5000,
  },
  watch: false,
  json: {
    emitUnpopulated: false, useProtoNames: false, enumsAsNumbers: false, int64AsNumbers: false,
    ignoreUnknownFields: false, caseInsensitiveEnums: false, strictQuery: false, maxDepth: 64,
  },
  telemetry: {
    disabled: false, serviceName: 'attache', tracesExporter: [], otlpProtocol: 'http/protobuf', otlpTracesProtocol: undefined,
    propagators: undefined, sampler: 'parentbased_always_on', samplerArg: 1, redactHeaders: [],
  },
  outbound: {
    retryMaxAttempts: 3, retryInitialBackoffMs: 100, retryMaxBackoffMs: 2000, retryBackoffMultiplier: 2,
    retryThrottleMaxTokens: 10, retryThrottleTokenRatio: 0.1,
    keepaliveTimeMs: 20_000, keepaliveTimeoutMs: 20_000, keepalivePermitWithoutCalls: false, keepaliveServerMinTimeMs: 310_000,
    maxSendBytes: 4 * 1024 * 1024, maxReceiveBytes: 4 * 1024 * 1024,
    reconnectInitialBackoffMs: 1000, reconnectMaxBackoffMs: 10_000, loadBalancing: 'round_robin', transport: 'auto', channelOptions: {},
    breakerEnabled: true, breakerConsecutiveFailures: 5, breakerFailureRatio: 0.5, breakerWindowMs: 10_000,
    breakerMinimumCalls: 20, breakerOpenMs: 5000, breakerHalfOpenProbes: 1,
    bulkheadMaxConcurrent: 256, bulkheadMaxQueue: 64,
    tlsCa: undefined, tlsCert: undefined, tlsKey: undefined, tlsServerName: undefined, tlsReloadMs: 10_000,
    credentialsTokenFile: undefined, credentialsTokenUrl: undefined, credentialsClientId: undefined, credentialsClientSecretFile: undefined,
    credentialsClientSecretEnv: 'ATTACHE_UPSTREAM_CLIENT_SECRET', credentialsScopes: [], credentialsAudience: undefined,
    credentialsClientAuth: 'basic', credentialsCallerAuthorization: 'forward', credentialsReloadMs: 10_000,
    upstreamTls: false,
    readiness: 'ignore', healthIntervalMs: 5000, healthService: '',
  },
  help: false,
  version: false,
};

describe('loadConfig: defaults and the Config type', () => {
  it('gives every default with no flags, env or file', () => {
    expect(config(loadConfig([], {}))).toEqual(DEFAULTS);
  });

  it('derives a Config type that matches the interface in the brief', () => {
    interface BriefJsonSettings { readonly emitUnpopulated: boolean; readonly useProtoNames: boolean; readonly enumsAsNumbers: boolean; readonly int64AsNumbers: boolean; readonly ignoreUnknownFields: boolean; readonly caseInsensitiveEnums: boolean; readonly strictQuery: boolean; readonly maxDepth: number }
    interface BriefConfig {
      readonly protos: readonly string[]; readonly mappings: readonly string[]; readonly upstream: string | undefined;
      readonly listen: ListenAddress; readonly adminListen: ListenAddress;
      readonly check: boolean; readonly demo: boolean; readonly help: boolean; readonly version: boolean;
      readonly configFile: string | undefined; readonly logLevel: string;
      readonly bodyLimitBytes: number; readonly defaultDeadlineMs: number; readonly drainTimeoutMs: number;
      readonly heapGrowthPercent: 'auto' | number; // --heap-growth: auto, or a percent (V8 heap_growing_percent)
      readonly heapTuning: 'auto' | 'off'; // issue 17: --heap-tuning (young generation sized from the memory limit)
      readonly workers: number; // --workers N (node:cluster)
      readonly watch: boolean; // --watch: reload when a proto, mapping or config file changes
      readonly streamIdleTimeoutMs: number; readonly sseHeartbeatMs: number; // streams: --stream-idle-timeout, --sse-heartbeat
      readonly logFormat: 'auto' | 'json' | 'pretty'; // the demo's readable logs, switchable
      readonly json: BriefJsonSettings;
      readonly reflection: boolean; // issue 15: --reflection
      readonly autoMapping: boolean; // issue 15: --auto-mapping
      readonly cors: { readonly origins: readonly string[]; readonly credentials: boolean; readonly maxAgeMs: number }; // issue 15
    }
    // logLevel is narrowed to pino's level names; everything else is exactly the brief's shape, plus the
    // groups added later: outbound, telemetry and limits, whose defaults DEFAULTS lists.
    expectTypeOf<Omit<Config, 'logLevel' | 'outbound' | 'telemetry' | 'limits'>>().toEqualTypeOf<Omit<BriefConfig, 'logLevel'>>();
    expectTypeOf<Config['logLevel']>().toEqualTypeOf<'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'>();
    expectTypeOf<Omit<Config, 'telemetry'>>().toExtend<BriefConfig>();
  });

  it('deep-freezes the result (mutation throws in strict mode)', () => {
    const c = config(loadConfig(['--protos', 'a'], {}));
    expect(Object.isFrozen(c)).toBe(true);
    expect(() => { (c as { check: boolean }).check = true; }).toThrow(TypeError);
    expect(() => { (c.json as { maxDepth: number }).maxDepth = 1; }).toThrow(TypeError);
    expect(() => { (c.listen as { port: number }).port = 1; }).toThrow(TypeError);
    expect(() => { (c.protos as string[]).push('b'); }).toThrow(TypeError);
  });

  it('does not share or freeze the schema defaults', () => {
    const c = config(loadConfig([], {}));
    expect(c.protos).not.toBe(SCHEMA.protos.default);
    expect(Object.isFrozen(SCHEMA.listen.default)).toBe(false);
  });
});

describe('loadConfig: precedence flag > env > file > default', () => {
  const file = [
    'listen: 10.0.0.1:1001',
    'protos: [file-protos]',
    'bodyLimit: 1MB',
    'logLevel: warn',
    'json:',
    '  maxDepth: 10',
    '  emitUnpopulated: true',
    '',
  ].join('\n');
  const read = files({ 'c.yaml': file });
  type Row = [string, string[], Record<string, string>, (c: Config) => unknown, unknown];
  it.each<Row>([
    ['listen: default', [], {}, (c) => c.listen, { host: '0.0.0.0', port: 8080 }],
    ['listen: file', ['--config', 'c.yaml'], {}, (c) => c.listen, { host: '10.0.0.1', port: 1001 }],
    ['listen: env beats file', ['--config', 'c.yaml'], { ATTACHE_LISTEN: '10.0.0.2:1002' }, (c) => c.listen, { host: '10.0.0.2', port: 1002 }],
    ['listen: flag beats env', ['--config', 'c.yaml', '--listen', '10.0.0.3:1003'], { ATTACHE_LISTEN: '10.0.0.2:1002' }, (c) => c.listen, { host: '10.0.0.3', port: 1003 }],
    ['protos: file', ['--config', 'c.yaml'], {}, (c) => c.protos, ['file-protos']],
    ['protos: env replaces file', ['--config', 'c.yaml'], { ATTACHE_PROTOS: 'e1:e2' }, (c) => c.protos, ['e1', 'e2']],
    ['protos: flags replace env', ['--config', 'c.yaml', '--protos', 'f1', '--protos=f2'], { ATTACHE_PROTOS: 'e1:e2' }, (c) => c.protos, ['f1', 'f2']],
    ['bodyLimit: default', [], {}, (c) => c.bodyLimitBytes, 4194304],
    ['bodyLimit: file', ['--config', 'c.yaml'], {}, (c) => c.bodyLimitBytes, 1_000_000],
    ['bodyLimit: env', ['--config', 'c.yaml'], { ATTACHE_BODY_LIMIT: '512KiB' }, (c) => c.bodyLimitBytes, 524288],
    ['bodyLimit: flag', ['--config', 'c.yaml', '--body-limit', '100'], { ATTACHE_BODY_LIMIT: '512KiB' }, (c) => c.bodyLimitBytes, 100],
    ['logLevel: file', ['--config', 'c.yaml'], {}, (c) => c.logLevel, 'warn'],
    ['logLevel: env', ['--config', 'c.yaml'], { ATTACHE_LOG_LEVEL: 'DEBUG' }, (c) => c.logLevel, 'debug'],
    ['logLevel: flag', ['--config', 'c.yaml', '--log-level=silent'], { ATTACHE_LOG_LEVEL: 'debug' }, (c) => c.logLevel, 'silent'],
    ['json.maxDepth: file', ['--config', 'c.yaml'], {}, (c) => c.json.maxDepth, 10],
    ['json.maxDepth: env', ['--config', 'c.yaml'], { ATTACHE_MAX_DEPTH: '20' }, (c) => c.json.maxDepth, 20],
    ['json.maxDepth: flag', ['--config', 'c.yaml', '--max-depth', '30'], { ATTACHE_MAX_DEPTH: '20' }, (c) => c.json.maxDepth, 30],
    ['json.emitUnpopulated: file', ['--config', 'c.yaml'], {}, (c) => c.json.emitUnpopulated, true],
    ['json.emitUnpopulated: env false beats file true', ['--config', 'c.yaml'], { ATTACHE_EMIT_UNPOPULATED: 'no' }, (c) => c.json.emitUnpopulated, false],
    ['json.emitUnpopulated: --x=false beats env', ['--emit-unpopulated=false'], { ATTACHE_EMIT_UNPOPULATED: '1' }, (c) => c.json.emitUnpopulated, false],
    ['json.emitUnpopulated: --x beats env', ['--emit-unpopulated'], { ATTACHE_EMIT_UNPOPULATED: '0' }, (c) => c.json.emitUnpopulated, true],
    ['config file from ATTACHE_CONFIG', [], { ATTACHE_CONFIG: 'c.yaml' }, (c) => c.json.maxDepth, 10],
    ['--config beats ATTACHE_CONFIG', ['--config', 'c.yaml'], { ATTACHE_CONFIG: 'missing.yaml' }, (c) => c.configFile, 'c.yaml'],
    ['empty env var counts as unset', ['--config', 'c.yaml'], { ATTACHE_LISTEN: '' }, (c) => c.listen, { host: '10.0.0.1', port: 1001 }],
    ['upstream: env GRPC_TARGET', [], { GRPC_TARGET: 'dns:///up:50051' }, (c) => c.upstream, 'dns:///up:50051'],
    ['upstream: flag beats GRPC_TARGET', ['--upstream', 'unix:/tmp/s'], { GRPC_TARGET: 'dns:///up:50051' }, (c) => c.upstream, 'unix:/tmp/s'],
    ['unknown env vars are ignored', [], { ATTACHE_PORT: 'tcp://10.0.0.1:80', ATTACHE_SERVICE_HOST: '10.0.0.1' }, (c) => c.listen.port, 8080],
  ])('%s', (_name, argv, env, pick, expected) => {
    expect(pick(config(loadConfig(argv, env, read)))).toEqual(expected);
  });
});

describe('loadConfig: every value form through flags, env and file', () => {
  type Row = [string[], Record<string, string>, string | undefined, (c: Config) => unknown, unknown];
  it.each<Row>([
    [['--listen', '[::1]:8080'], {}, undefined, (c) => c.listen, { host: '::1', port: 8080 }],
    [['--listen=localhost:0'], {}, undefined, (c) => c.listen, { host: 'localhost', port: 0 }],
    [[], { ATTACHE_ADMIN_LISTEN: '[::]:9999' }, undefined, (c) => c.adminListen, { host: '::', port: 9999 }],
    [[], {}, 'adminListen: "127.0.0.1:0"', (c) => c.adminListen, { host: '127.0.0.1', port: 0 }],
    [['--body-limit', '1048576'], {}, undefined, (c) => c.bodyLimitBytes, 1048576],
    [['--body-limit=512KiB'], {}, undefined, (c) => c.bodyLimitBytes, 524288],
    [[], {}, 'bodyLimit: 1048576', (c) => c.bodyLimitBytes, 1048576],
    [['--default-deadline', '250ms'], {}, undefined, (c) => c.defaultDeadlineMs, 250],
    [[], { ATTACHE_DEFAULT_DEADLINE: '1.5s' }, undefined, (c) => c.defaultDeadlineMs, 1500],
    [[], {}, 'defaultDeadline: 1m', (c) => c.defaultDeadlineMs, 60_000],
    [['--drain-timeout', '0'], {}, undefined, (c) => c.drainTimeoutMs, 0],
    [[], {}, 'drainTimeout: 2s', (c) => c.drainTimeoutMs, 2000],
    [['--check'], {}, undefined, (c) => c.check, true],
    [['--check=true'], {}, undefined, (c) => c.check, true],
    [['--check=no'], {}, undefined, (c) => c.check, false],
    [['--demo'], {}, undefined, (c) => c.demo, true],
    [['--heap-growth', '50'], {}, undefined, (c) => c.heapGrowthPercent, 50],
    [['--heap-growth=0'], {}, undefined, (c) => c.heapGrowthPercent, 0],
    [[], { ATTACHE_HEAP_GROWTH: 'AUTO' }, undefined, (c) => c.heapGrowthPercent, 'auto'],
    [[], {}, 'heapGrowth: 100', (c) => c.heapGrowthPercent, 100],
    [[], {}, 'heapGrowth: auto', (c) => c.heapGrowthPercent, 'auto'],
    [[], { ATTACHE_STRICT_QUERY: 'YES' }, undefined, (c) => c.json.strictQuery, true],
    [[], { ATTACHE_USE_PROTO_NAMES: 'true' }, undefined, (c) => c.json.useProtoNames, true],
    [[], { ATTACHE_ENUMS_AS_NUMBERS: '1' }, undefined, (c) => c.json.enumsAsNumbers, true],
    [[], { ATTACHE_INT64_AS_NUMBERS: 'False' }, undefined, (c) => c.json.int64AsNumbers, false],
    [['--ignore-unknown-fields', '--case-insensitive-enums'], {}, undefined, (c) => [c.json.ignoreUnknownFields, c.json.caseInsensitiveEnums], [true, true]],
    [[], {}, 'json: {caseInsensitiveEnums: true, strictQuery: false}', (c) => [c.json.caseInsensitiveEnums, c.json.strictQuery], [true, false]],
    [[], { ATTACHE_MAPPINGS: 'a.yaml::dir:' }, undefined, (c) => c.mappings, ['a.yaml', 'dir']],
    [['--mappings', 'x', '--mappings', 'y'], {}, undefined, (c) => c.mappings, ['x', 'y']],
    [['--upstream', 'localhost:50051'], {}, undefined, (c) => c.upstream, 'localhost:50051'],
    [[], {}, 'upstream: "ipv4:10.0.0.1:50051"', (c) => c.upstream, 'ipv4:10.0.0.1:50051'],
    [[], {}, 'listen: ~\nprotos:\n', (c) => [c.listen.port, c.protos], [8080, ['protos']]],
    [[], {}, '# only a comment\n', (c) => c.listen.port, 8080],
    [['--protos', '-weird'], {}, undefined, (c) => c.protos, ['-weird']],
  ])('%j %j %j', (argv, env, yamlText, pick, expected) => {
    const args = yamlText === undefined ? argv : [...argv, '--config', 'f.yaml'];
    expect(pick(config(loadConfig(args, env, files({ 'f.yaml': yamlText ?? '' }))))).toEqual(expected);
  });
});

describe('loadConfig: errors name where, the bad value and what is allowed', () => {
  type Row = [string, string[], Record<string, string>, string | undefined, string, string, string];
  it.each<Row>([
    ['unknown flag (its value is skipped)', ['--lisen', 'x'], {}, undefined, 'ATTACHE_E_FLAG', 'flag --lisen', 'unknown flag; did you mean --listen?'],
    ['unknown short flag', ['-x'], {}, undefined, 'ATTACHE_E_FLAG', 'flag -x', 'unknown flag'],
    ['positional argument', ['serve'], {}, undefined, 'ATTACHE_E_FLAG', 'argument "serve"', 'unexpected argument'],
    ['missing value at end', ['--listen'], {}, undefined, 'ATTACHE_E_FLAG', 'flag --listen', 'missing value; expected --listen HOST:PORT'],
    ['missing value before a flag', ['--upstream', '--check'], {}, undefined, 'ATTACHE_E_FLAG', 'flag --upstream', 'missing value'],
    ['repeated single flag', ['--listen', 'a:1', '--listen', 'b:2'], {}, undefined, 'ATTACHE_E_FLAG', 'flag --listen', 'given 2 times ("a:1", "b:2")'],
    ['bad listen flag', ['--listen', '8080'], {}, undefined, 'ATTACHE_E_FLAG', 'flag --listen', '"8080" has no port; expected HOST:PORT'],
    ['bad port', ['--admin-listen=0.0.0.0:99999'], {}, undefined, 'ATTACHE_E_FLAG', 'flag --admin-listen', '"99999" as port; a port is a number from 0 to 65535'],
    ['bad bool flag', ['--check=maybe'], {}, undefined, 'ATTACHE_E_FLAG', 'flag --check', '"maybe" is not a boolean; expected 1, 0, true, false, yes or no'],
    ['bad size flag', ['--body-limit', '4 parsecs'], {}, undefined, 'ATTACHE_E_FLAG', 'flag --body-limit', '"4 parsecs" is not a size'],
    ['bad duration flag', ['--default-deadline', '15'], {}, undefined, 'ATTACHE_E_FLAG', 'flag --default-deadline', '"15" has no unit'],
    ['zero deadline', ['--default-deadline', '0s'], {}, undefined, 'ATTACHE_E_FLAG', 'flag --default-deadline', 'too short; the minimum is 1ms'],
    ['max depth range', ['--max-depth', '0'], {}, undefined, 'ATTACHE_E_FLAG', 'flag --max-depth', '"0" is not an integer from 1 to 1000'],
    ['heap growth', ['--heap-growth', 'lots'], {}, undefined, 'ATTACHE_E_FLAG', 'flag --heap-growth', '"lots" is not auto or an integer from 0 to 1000'],
    ['bad log level', ['--log-level', 'loud'], {}, undefined, 'ATTACHE_E_FLAG', 'flag --log-level', '"loud" is not one of fatal, error, warn, info, debug, trace, silent'],
    ['bad target', ['--upstream', 'http://x:1'], {}, undefined, 'ATTACHE_E_FLAG', 'flag --upstream', 'unsupported scheme'],
    ['empty path flag', ['--protos='], {}, undefined, 'ATTACHE_E_FLAG', 'flag --protos', 'must not be empty'],
    ['bad env bool', [], { ATTACHE_STRICT_QUERY: 'on' }, undefined, 'ATTACHE_E_ENV', 'env ATTACHE_STRICT_QUERY', '"on" is not a boolean'],
    ['bad env listen', [], { ATTACHE_LISTEN: '::1:80' }, undefined, 'ATTACHE_E_ENV', 'env ATTACHE_LISTEN', 'bare IPv6'],
    ['bad env target', [], { GRPC_TARGET: 'unix:' }, undefined, 'ATTACHE_E_ENV', 'env GRPC_TARGET', 'no socket path'],
    ['bad env size', [], { ATTACHE_BODY_LIMIT: '0' }, undefined, 'ATTACHE_E_ENV', 'env ATTACHE_BODY_LIMIT', 'at least 1 byte'],
    ['unreadable config file', ['--config', 'nope.yaml'], {}, undefined, 'ATTACHE_E_CONFIG_FILE', 'nope.yaml', 'cannot read the config file: ENOENT'],
    ['YAML syntax', [], {}, 'listen: [a,\n', 'ATTACHE_E_CONFIG_FILE', 'f.yaml:2:1', 'invalid YAML'],
    ['YAML duplicate key', [], {}, 'listen: a:1\nlisten: b:2\n', 'ATTACHE_E_CONFIG_FILE', 'f.yaml:2:1', 'invalid YAML: Map keys must be unique'],
    ['two YAML documents', [], {}, 'listen: a:1\n---\nlisten: b:2\n', 'ATTACHE_E_CONFIG_FILE', 'f.yaml:2', 'a second YAML document'],
    ['file is not a mapping', [], {}, '- a\n- b\n', 'ATTACHE_E_CONFIG_FILE', 'f.yaml:1', 'must be a mapping of settings, got a list'],
    ['unknown key', [], {}, 'logLevel: info\nlisen: a:1\n', 'ATTACHE_E_CONFIG_FILE', 'f.yaml:2', 'lisen: unknown key; did you mean "listen"?'],
    ['unknown nested key', [], {}, 'json:\n  emitUnpopulatd: true\n', 'ATTACHE_E_CONFIG_FILE', 'f.yaml:2', 'json.emitUnpopulatd: unknown key; did you mean "json.emitUnpopulated"?'],
    ['flag-only key in file', [], {}, 'check: true\n', 'ATTACHE_E_CONFIG_FILE', 'f.yaml:1', 'check: unknown key; it is a command-line flag only'],
    ['__proto__ key', [], {}, '__proto__: {check: true}\n', 'ATTACHE_E_CONFIG_FILE', 'f.yaml:1', '__proto__: unknown key'],
    ['group is not a mapping', [], {}, 'json: true\n', 'ATTACHE_E_CONFIG_FILE', 'f.yaml:1', 'json: expected a mapping with keys emitUnpopulated'],
    ['bool given as string', [], {}, 'json:\n  strictQuery: "yes"\n', 'ATTACHE_E_CONFIG_FILE', 'f.yaml:2', 'json.strictQuery: expected true or false, got the string "yes"'],
    ['list given as string', [], {}, 'protos: protos\n', 'ATTACHE_E_CONFIG_FILE', 'f.yaml:1', 'protos: expected a list of paths'],
    ['listen given as number', [], {}, '\nlisten: 8080\n', 'ATTACHE_E_CONFIG_FILE', 'f.yaml:2', 'listen: "8080" has no port'],
    ['listen given as mapping', [], {}, 'listen: {host: a}\n', 'ATTACHE_E_CONFIG_FILE', 'f.yaml:1', 'listen: expected HOST:PORT, got a mapping'],
    ['duration without unit', [], {}, 'drainTimeout: 10\n', 'ATTACHE_E_CONFIG_FILE', 'f.yaml:1', 'drainTimeout: "10" has no unit'],
    ['max depth too deep', [], {}, 'json:\n  maxDepth: 5000\n', 'ATTACHE_E_CONFIG_FILE', 'f.yaml:2', 'json.maxDepth: "5000" is not an integer from 1 to 1000'],
  ])('%s', (_name, argv, env, yamlText, code, source, message) => {
    const args = yamlText === undefined ? argv : [...argv, '--config', 'f.yaml'];
    const errors = errorsOf(loadConfig(args, env, files({ 'f.yaml': yamlText ?? '' })));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ConfigError);
    expect(errors[0]!.code).toBe(code);
    expect(errors[0]!.source).toBe(source);
    expect(errors[0]!.rule).toBeUndefined();
    expect(errors[0]!.message).toContain(message);
    expect(String(errors[0])).toBe(`${source}: ${errors[0]!.message}`);
  });

  it('collects every error from every source instead of stopping at the first', () => {
    const errors = errorsOf(loadConfig(
      ['--bogus', '--listen', 'x', '--max-depth', '0', '--config', 'f.yaml'],
      { ATTACHE_LOG_LEVEL: 'loud', ATTACHE_DRAIN_TIMEOUT: 'soon' },
      files({ 'f.yaml': 'nope: 1\njson:\n  maxDepth: 0\n' }),
    ));
    expect(errors.map((e) => e.source)).toEqual([
      'flag --bogus', 'flag --listen', 'flag --max-depth',
      'env ATTACHE_LOG_LEVEL', 'env ATTACHE_DRAIN_TIMEOUT',
      'f.yaml:1', 'f.yaml:3',
    ]);
  });

  it('reports YAML syntax errors with line and column and reads nothing else from that file', () => {
    const errors = errorsOf(loadConfig(['--config', 'f.yaml'], {}, files({ 'f.yaml': 'listen: a:1\n  bad: indent\n' })));
    expect(errors.every((e) => /^f\.yaml:\d+:\d+$/.test(e.source))).toBe(true);
  });
});

describe('loadConfig: --help and --version', () => {
  it.each([['--help'], ['-h'], ['--version']])('%s short-circuits: other problems are not reported', (flag) => {
    const c = config(loadConfig([flag, '--bogus', '--listen', '127.0.0.1:1'], { ATTACHE_LISTEN: 'bad', ATTACHE_CONFIG: 'missing.yaml' }, files({})));
    expect(c.help || c.version).toBe(true);
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 1 });
    expect(c.configFile).toBeUndefined();
  });
});

describe('loadConfig: --config relative paths', () => {
  it.each<[string, string[], string[]]>([
    ['conf/attache.yaml', ['protos', '../shared', '/abs/protos'], ['conf/protos', 'shared', '/abs/protos']],
    ['attache.yaml', ['protos'], ['protos']],
    ['/etc/attache/attache.yaml', ['protos', '../p'], ['/etc/attache/protos', '/etc/p']],
  ])('a file at %s resolves %j to %j', (file, given, resolved) => {
    const text = `protos: ${JSON.stringify(given)}\nmappings: ${JSON.stringify(given)}\n`;
    const c = config(loadConfig(['--config', file], {}, files({ [file]: text })));
    expect(c.protos).toEqual(resolved);
    expect(c.mappings).toEqual(resolved);
  });

  it('keeps flag and env paths relative to the working directory', () => {
    const c = config(loadConfig(['--config', 'conf/a.yaml', '--protos', 'p'], { ATTACHE_MAPPINGS: 'm' }, files({ 'conf/a.yaml': 'json: {}\n' })));
    expect([c.protos, c.mappings]).toEqual([['p'], ['m']]);
  });

  it('reads a real file from disk and resolves against its folder', () => {
    const c = config(loadConfig(['--config', 'test/fixtures/config/nested/attache.yaml'], {}));
    expect(c.protos).toEqual(['test/fixtures/config/nested/protos', 'test/fixtures/config/shared-protos', '/opt/protos']);
    expect(c.mappings).toEqual(['test/fixtures/config/nested/mappings']);
    expect(c.upstream).toBe('dns:///payments:50051');
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 8081 });
    expect(c.json.emitUnpopulated).toBe(true);
    expect(c.configFile).toBe('test/fixtures/config/nested/attache.yaml');
  });
});

describe('schema and --help', () => {
  const entries = settingEntries();

  it.each(['flag', 'env', 'yaml', 'short'] as const)('no two settings share a %s', (key) => {
    const names = entries.map((e) => e.setting[key]).filter((n) => n !== undefined);
    expect(new Set(names).size).toBe(names.length);
  });

  it('every setting has at least one source, and the YAML keys form a tree', () => {
    expect(entries.filter((e) => !e.setting.flag && !e.setting.env && !e.setting.yaml)).toEqual([]);
    expect(() => yamlKeyTree()).not.toThrow();
  });

  it('rejects a schema whose YAML keys collide', () => {
    const leaf = entries.find((e) => e.setting.yaml === 'listen')!;
    expect(() => yamlKeyTree([leaf, { path: ['x'], setting: { ...leaf.setting, yaml: 'listen.port' } }])).toThrow(/nested under a setting/);
    expect(() => yamlKeyTree([leaf, leaf])).toThrow(/declared twice/);
  });

  it.each(entries.filter((e) => e.setting.flag !== undefined).map((e) => [e.setting.flag!, e.setting.env]))(
    '--help lists --%s and its env var %s',
    (flag, env) => {
      const text = helpText();
      expect(text).toContain(`--${flag}`);
      if (env !== undefined) expect(text).toContain(`env ${env}`);
    },
  );

  it('--help shows metavars, YAML keys and defaults as written', () => {
    const text = helpText();
    for (const fragment of [
      '--protos DIR', "env ATTACHE_PROTOS (':'-separated); file: protos; default: protos",
      '--listen HOST:PORT', 'default: 0.0.0.0:8080', 'file: json.emitUnpopulated',
      'default: 4MiB', 'default: 15s', 'default: 10s', 'default: 64', '-h, --help', 'file: bodyLimit',
      // The separator each env list is split on.
      "env ATTACHE_REDACT_HEADERS (','-separated)", "env ATTACHE_MAPPINGS (':'-separated)",
      '--watch', 'env ATTACHE_WATCH; file: watch; default: false',
    ]) expect(text).toContain(fragment);
  });

  it('an env list is split on the separator --help names', () => {
    const c = config(loadConfig([], { ATTACHE_REDACT_HEADERS: 'x-api-key,x-token', ATTACHE_PROTOS: 'a:b' }));
    expect(c.telemetry.redactHeaders).toEqual(['x-api-key', 'x-token']);
    expect(c.protos).toEqual(['a', 'b']);
  });
});

describe('ConfigError', () => {
  it.each<[ConfigError, string]>([
    [new ConfigError('ATTACHE_E_FLAG', 'flag --listen', 'bad'), 'flag --listen: bad'],
    [new ConfigError('ATTACHE_E_MAPPING', 'm.yaml:3', 'bad', 'a.B.C'), 'm.yaml:3: a.B.C: bad'],
    [new ConfigError('ATTACHE_E_MAPPING', 'm.yaml:3', 'bad', 'http.rules[3]'), 'm.yaml:3: http.rules[3]: bad'],
  ])('%s', (error, text) => {
    expect(error.toString()).toBe(text);
    expect(Object.isFrozen(error)).toBe(true);
  });

  it('has a documented meaning for every code', () => {
    expect(Object.keys(CONFIG_ERROR_CODES).sort()).toEqual(['ATTACHE_E_CONFIG_FILE', 'ATTACHE_E_CORS', 'ATTACHE_E_ENV', 'ATTACHE_E_FLAG', 'ATTACHE_E_MAPPING']);
  });
});
