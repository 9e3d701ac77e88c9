/**
 * A strict parser for the Prometheus text exposition format (version 0.0.4): `# HELP`, `# TYPE`, and
 * samples `name{label="value",…} value [timestamp]` with the format's escapes (`\\`, `\"`, `\n` in label
 * values). Throws on any line it does not understand, so a test that parses /metrics also checks the format.
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  /** Metric family name → TYPE (counter, gauge, histogram, summary, untyped). */
  readonly types: ReadonlyMap<string, string>;
  readonly help: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(text: string, line: number): number {
  // Prometheus reads values with Go's strconv.ParseFloat, which takes NaN and Inf in any letter case
  // (prom-client writes `Nan` for a histogram-less event-loop gauge before its first sample).
  const t = text.toLowerCase();
  if (t === '+inf' || t === 'inf') return Infinity;
  if (t === '-inf') return -Infinity;
  if (t === 'nan') return NaN;
  const n = Number(text);
  if (text === '' || Number.isNaN(n)) throw new Error(`line ${line}: bad sample value ${JSON.stringify(text)}`);
  return n;
}

function parseLabels(src: string, line: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let s = src.slice(1);
  for (;;) {
    s = s.trimStart();
    if (s.startsWith('}')) return { labels, rest: s.slice(1) };
    const name = LABEL_NAME.exec(s)?.[0];
    if (name === undefined) throw new Error(`line ${line}: bad label name in ${JSON.stringify(src)}`);
    s = s.slice(name.length);
    if (!s.startsWith('="')) throw new Error(`line ${line}: expected =" after label ${name}`);
    s = s.slice(2);
    let value = '';
    for (;;) {
      const c = s[0];
      if (c === undefined) throw new Error(`line ${line}: unterminated label value`);
      s = s.slice(1);
      if (c === '"') break;
      if (c === '\\') {
        const e = s[0];
        s = s.slice(1);
        if (e === 'n') value += '\n';
        else if (e === '\\' || e === '"') value += e;
        else throw new Error(`line ${line}: bad escape \\${String(e)}`);
      } else value += c;
    }
    if (Object.hasOwn(labels, name)) throw new Error(`line ${line}: duplicate label ${name}`);
    labels[name] = value;
    s = s.trimStart();
    if (s.startsWith(',')) s = s.slice(1);
    else if (!s.startsWith('}')) throw new Error(`line ${line}: expected , or } after label ${name}`);
  }
}

/** Parses an exposition. @throws on any malformed line. */
export function parsePrometheus(text: string): Exposition {
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(raw);
      if (m === null) return; // a plain comment
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3]!)) throw new Error(`line ${line}: bad TYPE ${m[3]}`);
        if (types.has(m[2]!)) throw new Error(`line ${line}: second TYPE for ${m[2]}`);
        types.set(m[2]!, m[3]!);
      } else help.set(m[2]!, m[3]!);
      return;
    }
    const name = NAME.exec(raw)?.[0];
    if (name === undefined) throw new Error(`line ${line}: bad metric name in ${JSON.stringify(raw)}`);
    let rest = raw.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, line));
    const parts = rest.trim().split(/\s+/);
    if (parts.length < 1 || parts.length > 2 || !/^\s/.test(rest)) throw new Error(`line ${line}: bad sample ${JSON.stringify(raw)}`);
    samples.push({ name, labels, value: parseValue(parts[0]!, line) });
  });
  return { types, help, samples };
}

/** The sum of the samples named `name` whose labels include `match`. */
export function sampleSum(e: Exposition, name: string, match: Readonly<Record<string, string>> = {}): number {
  return e.samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}
