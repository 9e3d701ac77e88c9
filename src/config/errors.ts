/**
 * Configuration problems as values.
 *
 * Loading config and mapping files collects every problem instead of stopping at the first, because
 * `--check` is a linter users run directly (STYLE.md §2, "Config"). So a problem is a plain value the loader
 * returns, never an exception thrown at the caller.
 */

/**
 * The closed set of configuration error codes, each with the one-line meaning the docs repeat.
 * Codes are stable: scripts and the docs key on them (STYLE.md §3.11).
 */
export const CONFIG_ERROR_CODES = {
  ATTACHE_E_FLAG: 'a command-line flag is unknown, repeated, missing its value, or has a bad value',
  ATTACHE_E_ENV: 'an environment variable attache reads has a bad value',
  ATTACHE_E_CONFIG_FILE: 'the --config YAML file cannot be read, is not valid YAML, has an unknown key or a bad value',
  ATTACHE_E_CORS: 'CORS settings that are each valid do not go together',
  ATTACHE_E_MAPPING: 'a mapping file (google.api.Service YAML) is missing, unreadable, not valid YAML, or has a bad rule',
} as const;

/** One of {@link CONFIG_ERROR_CODES}. */
export type ConfigErrorCode = keyof typeof CONFIG_ERROR_CODES;

/**
 * One configuration problem: where it is, which rule (for mapping files), and what is wrong.
 * Immutable. It is a value, not an `Error`: nothing throws it.
 */
export class ConfigError {
  /**
   * @param code    stable code from {@link CONFIG_ERROR_CODES}.
   * @param source  where: `flag --listen`, `env ATTACHE_LISTEN`, `config.yaml:3`, `mappings/a.yaml:12`
   *                (`file:line:col` for YAML syntax errors; the bare path when no line applies).
   * @param message the reason, naming the bad value and what is allowed.
   * @param rule    mapping errors only: the rule's selector, or `http.rules[3]` when it has none.
   */
  constructor(
    readonly code: ConfigErrorCode,
    readonly source: string,
    readonly message: string,
    readonly rule: string | undefined = undefined,
  ) {
    Object.freeze(this);
  }

  /** `source: rule: message`, the line `--check` prints. */
  toString(): string {
    return `${this.source}: ${this.rule ? `${this.rule}: ` : ''}${this.message}`;
  }
}
