/**
 * CLI flags, environment and the --config YAML file → one validated, deep-frozen {@link Config}.
 *
 * Precedence per setting: flag > env > --config file > default (docs/configuration.md). Every setting, its
 * sources and its parser come from schema.ts; this module only knows how to read each source. Config enters
 * the program exactly once, here (STYLE.md §2 "Config"); nothing reads argv, env or raw YAML afterwards.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from './errors.js';
import { SCHEMA, settingEntries } from './schema.js';
import type { SchemaValues, SettingEntry } from './schema.js';
import { closest, deepFreeze } from './support.js';
import { quote } from './values.js';
import { describeNode, parseYaml, toPlain } from './yaml-source.js';
import type { YamlMap, YamlNode } from './yaml-source.js';

export type { ListenAddress } from './values.js';

/**
 * The validated settings, shaped like SCHEMA (schema.ts), which documents each one. Deep-frozen.
 * `protos`/`mappings` from the --config file are already resolved against the file's folder; from flags and
 * env they are as given (relative to the working directory). `logLevel` is one of pino's level names.
 */
export type Config = SchemaValues;

/** The global proto3 JSON mapping options (`Config.json`); mapping-file rules may override some per method. */
export type JsonSettings = Config['json'];

/** The outcome of {@link loadConfig}: a Config, or every problem found. */
export type LoadResult =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly errors: readonly ConfigError[] };

const defaultReadFile = (p: string): string => fs.readFileSync(p, 'utf8');

/**
 * Reads `argv` (without node and the script: `process.argv.slice(2)`), `env` and, when `--config` or
 * `ATTACHE_CONFIG` names one, a YAML file, and validates them into a deep-frozen Config.
 *
 * Never throws; collects every error: unknown or repeated flags, missing flag values, bad values (naming
 * `flag --x`, `env X` or `file:line key.path`, the value, and what is allowed), an unreadable or invalid
 * config file, unknown YAML keys. An empty env var counts as unset (how deployments clear one). Unknown env
 * vars are not errors: the environment is shared, and Kubernetes itself injects `ATTACHE_*` variables for a
 * Service named attache.
 *
 * `--help` and `--version` short-circuit: when either is given, env and the config file are not read, other
 * problems are not reported, and the result is ok with the flags that did parse over the defaults.
 *
 * @param readFile reads the config file; injectable for tests. Defaults to `fs.readFileSync(p, 'utf8')`.
 */
export function loadConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  readFile: (p: string) => string = defaultReadFile,
): LoadResult {
  const entries = settingEntries();
  const errors: ConfigError[] = [];
  const fromFlags = readFlags(argv, entries, errors);
  const requested = (name: 'help' | 'version'): boolean =>
    fromFlags.get(entries.find((e) => e.setting === SCHEMA[name])!) === true;
  if (requested('help') || requested('version')) return { ok: true, config: assemble(entries, [fromFlags]) };

  const fromEnv = readEnv(env, entries, errors);
  const configEntry = entries.find((e) => e.setting === SCHEMA.configFile)!;
  const configFile = (fromFlags.get(configEntry) ?? fromEnv.get(configEntry)) as string | undefined;
  const fromFile = configFile === undefined ? new Map<SettingEntry, unknown>() : readConfigFile(configFile, entries, readFile, errors);

  if (errors.length > 0) return { ok: false, errors: Object.freeze(errors) };
  return { ok: true, config: assemble(entries, [fromFlags, fromEnv, fromFile]) };
}

/** Each setting's value from the first source that has it, else its default; cloned and deep-frozen. */
function assemble(entries: readonly SettingEntry[], sources: readonly ReadonlyMap<SettingEntry, unknown>[]): Config {
  const root: Record<string, unknown> = {};
  for (const entry of entries) {
    const found = sources.find((s) => s.has(entry));
    const value = found ? found.get(entry) : entry.setting.default;
    let node = root;
    for (const key of entry.path.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
    node[entry.path.at(-1)!] = structuredClone(value);
  }
  // One cast: `root` was built from exactly the entries of SCHEMA, which is what SchemaValues is derived from.
  return deepFreeze(root) as unknown as Config;
}

/** `--name value`, `--name=value`, switches (`--check`, `--check=false`) and `-h`. */
function readFlags(argv: readonly string[], entries: readonly SettingEntry[], errors: ConfigError[]): Map<SettingEntry, unknown> {
  const byName = new Map<string, SettingEntry>();
  for (const e of entries) {
    if (e.setting.flag !== undefined) byName.set(`--${e.setting.flag}`, e);
    if (e.setting.short !== undefined) byName.set(`-${e.setting.short}`, e);
  }
  const given = new Map<SettingEntry, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^(-[^=]+)(?:=([\s\S]*))?$/.exec(arg);
    if (!m || arg === '--') {
      errors.push(new ConfigError('ATTACHE_E_FLAG', `argument ${quote(arg)}`, 'unexpected argument; attache takes only flags (see --help)'));
      continue;
    }
    const [, name, inline] = m as unknown as [string, string, string | undefined];
    const entry = byName.get(name);
    if (entry === undefined) {
      const guess = closest(name, [...byName.keys()]);
      errors.push(new ConfigError('ATTACHE_E_FLAG', `flag ${name}`, `unknown flag${guess ? `; did you mean ${guess}?` : ''} (see --help)`));
      // Its value, if it had one, would otherwise be reported again as a stray argument.
      if (inline === undefined && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')) i++;
      continue;
    }
    const { kind, flag } = entry.setting;
    let value = inline;
    if (value === undefined && kind.metavar === undefined) value = 'true';
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        errors.push(new ConfigError('ATTACHE_E_FLAG', `flag --${flag}`, `missing value; expected --${flag} ${kind.metavar}`));
        continue;
      }
      value = next;
      i++;
    }
    given.set(entry, [...(given.get(entry) ?? []), value]);
  }

  const out = new Map<SettingEntry, unknown>();
  for (const [entry, values] of given) {
    const { kind, flag } = entry.setting;
    if (!kind.repeatable && values.length > 1) {
      errors.push(new ConfigError('ATTACHE_E_FLAG', `flag --${flag}`, `given ${values.length} times (${values.map(quote).join(', ')}); give it once`));
      continue;
    }
    const r = kind.fromFlag(values);
    if (r.ok) out.set(entry, r.value);
    else errors.push(new ConfigError('ATTACHE_E_FLAG', `flag --${flag}`, r.reason));
  }
  return out;
}

function readEnv(env: Readonly<Record<string, string | undefined>>, entries: readonly SettingEntry[], errors: ConfigError[]): Map<SettingEntry, unknown> {
  const out = new Map<SettingEntry, unknown>();
  for (const entry of entries) {
    const name = entry.setting.env;
    const text = name === undefined ? undefined : env[name];
    if (text === undefined || text === '') continue;
    const r = entry.setting.kind.fromEnv(text);
    if (r.ok) out.set(entry, r.value);
    else errors.push(new ConfigError('ATTACHE_E_ENV', `env ${name}`, r.reason));
  }
  return out;
}

/** The YAML key tree: each key maps to a setting (a leaf) or to the keys nested under it. */
type YamlKeys = ReadonlyMap<string, SettingEntry | YamlKeys>;

/**
 * Builds the key tree from the schema's `yaml` paths.
 * @throws Error when two settings claim the same key, or one is nested under another: a bug in SCHEMA,
 *   which the schema tests catch before any user can.
 */
export function yamlKeyTree(entries: readonly SettingEntry[] = settingEntries()): YamlKeys {
  const root = new Map<string, SettingEntry | YamlKeys>();
  for (const entry of entries) {
    if (entry.setting.yaml === undefined) continue;
    const keys = entry.setting.yaml.split('.');
    let node = root;
    for (const key of keys.slice(0, -1)) {
      const next = node.get(key) ?? new Map<string, SettingEntry | YamlKeys>();
      if (!(next instanceof Map)) throw new Error(`SCHEMA: YAML key ${entry.setting.yaml} is nested under a setting`);
      node.set(key, next);
      node = next as Map<string, SettingEntry | YamlKeys>;
    }
    if (node.has(keys.at(-1)!)) throw new Error(`SCHEMA: YAML key ${entry.setting.yaml} is declared twice or is also a group`);
    node.set(keys.at(-1)!, entry);
  }
  return root;
}

function readConfigFile(file: string, entries: readonly SettingEntry[], readFile: (p: string) => string, errors: ConfigError[]): Map<SettingEntry, unknown> {
  const out = new Map<SettingEntry, unknown>();
  let text: string;
  try {
    text = readFile(file);
  } catch (err) {
    errors.push(new ConfigError('ATTACHE_E_CONFIG_FILE', file, `cannot read the config file: ${err instanceof Error ? err.message : String(err)}`));
    return out;
  }
  const parsed = parseYaml(file, text, 'ATTACHE_E_CONFIG_FILE');
  errors.push(...parsed.errors);
  if (parsed.root === undefined) return out;
  if (parsed.root.kind !== 'map') {
    errors.push(new ConfigError('ATTACHE_E_CONFIG_FILE', `${file}:${parsed.root.line}`, `the config file must be a mapping of settings, got ${describeNode(parsed.root)}`));
    return out;
  }
  const flagOnly = new Set(entries.filter((e) => e.setting.yaml === undefined && e.setting.flag !== undefined).map((e) => e.path.join('.')));
  const baseDir = path.dirname(file);

  const walk = (map: YamlMap, keys: YamlKeys, prefix: string): void => {
    for (const { key, line, value } of map.entries) {
      const keyPath = prefix + key;
      const where = `${file}:${line}`;
      const known = keys.get(key);
      if (known === undefined) {
        const guess = closest(key, [...keys.keys()]);
        const why = flagOnly.has(keyPath) ? '; it is a command-line flag only' : guess ? `; did you mean ${quote(prefix + guess)}?` : '';
        errors.push(new ConfigError('ATTACHE_E_CONFIG_FILE', where, `${keyPath}: unknown key${why} (allowed here: ${[...keys.keys()].join(', ')})`));
      } else if (isNull(value)) {
        // `key:` with nothing after it (often a list whose items are all commented out) leaves the setting unset.
      } else if (!isGroup(known)) {
        const r = known.setting.kind.fromYaml(toPlain(value), baseDir);
        if (r.ok) out.set(known, r.value);
        else errors.push(new ConfigError('ATTACHE_E_CONFIG_FILE', where, `${keyPath}: ${r.reason}`));
      } else if (value.kind !== 'map') {
        errors.push(new ConfigError('ATTACHE_E_CONFIG_FILE', where, `${keyPath}: expected a mapping with keys ${[...known.keys()].join(', ')}, got ${describeNode(value)}`));
      } else {
        walk(value, known, `${keyPath}.`);
      }
    }
  };
  walk(parsed.root, yamlKeyTree(entries), '');
  return out;
}

const isNull = (n: YamlNode): boolean => n.kind === 'scalar' && n.value === null;
const isGroup = (k: SettingEntry | YamlKeys): k is YamlKeys => k instanceof Map;

/**
 * The `--help` text, generated from SCHEMA: each flag with its placeholder and help, then its env var,
 * YAML key and default. Pure; ends with a newline.
 */
export function helpText(): string {
  const rows = settingEntries()
    .filter((e) => e.setting.flag !== undefined || e.setting.env !== undefined)
    .map(({ setting: s }) => {
      const names = [s.short && `-${s.short}`, s.flag && `--${s.flag}${s.kind.metavar ? ` ${s.kind.metavar}` : ''}`].filter(Boolean).join(', ');
      const sources = [
        s.env && `env ${s.env}${s.kind.envSeparator !== undefined ? ` ('${s.kind.envSeparator}'-separated)` : ''}`,
        s.yaml && `file: ${s.yaml}`,
        s.flag !== 'help' && s.flag !== 'version' && `default: ${s.kind.show(s.default)}`,
      ].filter(Boolean).join('; ');
      return { names: names || '(env only)', help: s.help, sources };
    });
  const width = Math.max(...rows.map((r) => r.names.length)) + 4;
  const pad = ' '.repeat(width + 2);
  const body = rows.map((r) => `  ${r.names.padEnd(width)}${r.help}${r.sources ? `\n${pad}${r.sources}` : ''}`).join('\n');
  return [
    'Usage: attache [flags]',
    '',
    'attache turns plain HTTP/1.x JSON requests into gRPC calls, driven by google.api.http mappings.',
    'Each setting comes from its flag, else its env var, else its key in the --config YAML file, else its default.',
    'Boolean flags take no value (--check) or an explicit one (--check=false); boolean env vars take',
    '1, 0, true, false, yes or no. Sizes: 1048576, 512KiB, 4MiB, 1MB. Durations: 250ms, 2s, 1.5s, 1m.',
    '',
    'Flags:',
    body,
    '',
  ].join('\n');
}
