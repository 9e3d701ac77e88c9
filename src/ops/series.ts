/**
 * Counters, gauges and histograms whose per-request update is a plain number operation on a series object
 * the caller holds, read by prom-client's Registry only when `/metrics` is scraped.
 *
 * Why not prom-client's own Counter/Histogram: their `inc(labels)` / `observe(labels, v)` validate the
 * label object and hash it into a string key on every call (prom-client 15 caches nothing, `labels()`
 * included) — a few µs per request on attache's hot path, more than the JSON codec of a GET. Here the
 * caller finds its series once (metrics.ts keeps them in maps keyed by the label values it already has),
 * and the series is created on first use, so memory is bounded by the label combinations that occur.
 *
 * The exposition is byte for byte what prom-client's own metric types give for the same observations:
 * each family hands the Registry the same sample objects (`labels`, `sharedLabels`, `metricName`, `value`)
 * in the same order — series in the order of their first observation, histogram buckets cumulative with
 * `le` first, then `+Inf`, `_sum`, `_count` — and the Registry formats them (HELP, TYPE, escaping, values).
 * The families implement the part of prom-client's metric interface the Registry uses (`name`, `help`,
 * `type`, `aggregator`, `get()`, `getForPromString()`, `reset()`), see prom-client lib/registry.js.
 *
 * `/metrics` itself does not go through that interface ({@link expositionBody}): the families write their
 * own lines, with each series' label text made once. The Registry builds a sample object, a label object
 * and several strings per line, at every scrape: on the 1,218 routes of bench/realworld, after one request
 * each, that was 39,050 lines (5.7 MB) for 210–480 ms of CPU per scrape, and four scrapes took resident
 * memory from ~136 to 195–260 MiB (bench/RESULTS.md §21). The text is the same byte for byte
 * (metrics.test.ts keeps prom-client's Registry as the oracle).
 */
import type { Metric, Registry } from 'prom-client';

/** Label values of one series, in the label order of the exposition. */
export type Labels = Readonly<Record<string, string>>;

/** A sample as prom-client's Registry formats it (lib/registry.js `getMetricsAsString`). */
interface Sample {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly sharedLabels?: Labels;
  readonly value: number;
  readonly metricName?: string;
  /** prom-client's buckets carry `exemplar: null` when exemplars are off (getMetricsAsJSON shows it). */
  readonly exemplar?: null;
}

interface FamilyData {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator: 'sum';
  readonly values: Sample[];
}

/**
 * Registers a family with `registry`, at the current end of its order (the exposition lists metrics in
 * registration order). Throws, as prom-client does, when another metric already has the name.
 */
export function register(registry: Registry, family: CounterFamily | GaugeFamily | HistogramFamily): void {
  // The Registry only reads the members the families implement; prom-client's type names its own classes.
  registry.registerMetric(family as unknown as Metric);
}

/** prom-client's escaping of HELP text (and names): backslash and newline (lib/registry.js `escapeString`). */
function escapeText(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** prom-client's number format (lib/util.js `getValueAsString`). */
function valueText(v: number): string {
  if (Number.isNaN(v)) return 'Nan';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return `${v}`;
}

/** `name="value",…` for `labels` in their order, values escaped as prom-client does (`"` too). */
function labelText(labels: Labels): string {
  let out = '';
  for (const name in labels) {
    if (out !== '') out += ',';
    out += `${name}="${escapeText(labels[name]!).replace(/"/g, '\\"')}"`;
  }
  return out;
}

/** Appends a family's `# HELP` and `# TYPE` lines, as the Registry writes them. */
function pushHead(out: string[], name: string, help: string, type: string): void {
  const n = escapeText(name);
  out.push(`# HELP ${n} ${escapeText(help)}`, `# TYPE ${n} ${type}`);
}

/** A family that writes its own exposition block: its lines, appended to `out`. */
interface WritesOwnLines {
  expositionLines(out: string[]): void;
}

const writesOwnLines = (m: unknown): m is WritesOwnLines => typeof (m as Partial<WritesOwnLines>).expositionLines === 'function';

/**
 * The registry's Prometheus text (version 0.0.4) as UTF-8, the same as `registry.metrics()`: metrics in
 * registration order, blocks separated by a blank line, a final newline. series.ts families write their own
 * lines; prom-client's own metrics (gauges with collect(), the process and Node.js defaults) are formatted by
 * the Registry as before.
 *
 * The lines go into one Buffer as they come: joining ~40,000 lines into one string and writing that string
 * to the socket cost ~30 and ~35 ms for 5.7 MB on Node 24, against ~1 ms for a Buffer.
 */
export async function expositionBody(registry: Registry): Promise<Buffer> {
  const lines: string[] = [];
  for (const metric of registry.getMetricsAsArray()) {
    if (lines.length > 0) lines.push(''); // a blank line between blocks
    if (writesOwnLines(metric)) metric.expositionLines(lines);
    else lines.push(await registry.getSingleMetricAsString(metric.name));
  }
  if (lines.length === 0) return Buffer.from('\n');
  // Sized for ASCII lines, which labels nearly always are: a line that might not fit (3 bytes per character
  // at most) is measured first, and the Buffer grows if it does not.
  let size = 0;
  for (const line of lines) size += line.length + 1;
  let body = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const line of lines) {
    if (at + 3 * line.length + 1 > body.length) {
      const need = at + Buffer.byteLength(line, 'utf8') + 1;
      if (need > body.length) {
        const bigger = Buffer.allocUnsafeSlow(need + (size >> 3));
        body.copy(bigger, 0, 0, at);
        body = bigger;
      }
    }
    at += body.write(line, at, 'utf8');
    body[at++] = 0x0a;
  }
  return at === body.length ? body : body.subarray(0, at);
}

/** One label set of a counter. */
export class CounterSeries {
  /** Set by the family: whether the series is in the exposition (it is from its first increment on). */
  listed = false;
  value = 0;
  /** `name{labels} `: the start of its exposition line, made at its first scrape. */
  lineStart: string | undefined;

  constructor(
    private readonly family: CounterFamily,
    readonly labels: Labels,
  ) {}

  /** Adds `v` (a finite number ≥ 0; the caller guarantees it, nothing is checked here). */
  inc(v: number): void {
    if (!this.listed) this.family.list(this);
    this.value += v;
  }
}

/** A counter family: series made by {@link CounterFamily.series}, listed from their first increment. */
export class CounterFamily {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private listed: CounterSeries[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** A new series with these labels; it appears in the exposition once incremented. Cache it. */
  series(labels: Labels): CounterSeries {
    return new CounterSeries(this, labels);
  }

  /** @internal Called by a series on its first increment (and its first after a reset). */
  list(s: CounterSeries): void {
    s.listed = true;
    this.listed.push(s);
  }

  get(): Promise<FamilyData> {
    return Promise.resolve(this.data());
  }

  getForPromString(): Promise<FamilyData> {
    return this.get();
  }

  /** As prom-client's `reset()`: every series goes back to 0 and out of the exposition until incremented. */
  reset(): void {
    for (const s of this.listed) {
      s.value = 0;
      s.listed = false;
    }
    this.listed = [];
  }

  /** Appends its exposition block (see {@link expositionBody}). */
  expositionLines(out: string[]): void {
    pushHead(out, this.name, this.help, this.type);
    const name = escapeText(this.name);
    for (const s of this.listed) {
      if (s.lineStart === undefined) {
        const labels = labelText(s.labels);
        s.lineStart = labels === '' ? `${name} ` : `${name}{${labels}} `;
      }
      out.push(s.lineStart + valueText(s.value));
    }
  }

  private data(): FamilyData {
    const values: Sample[] = this.listed.map((s) => ({ labels: s.labels, value: s.value }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** A gauge without labels: one number, always in the exposition (as a label-less prom-client Gauge). */
export class GaugeFamily {
  readonly type = 'gauge';
  readonly aggregator = 'sum';
  value = 0;

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(delta: number): void {
    this.value += delta;
  }

  get(): Promise<FamilyData> {
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: [{ labels: {}, value: this.value }] });
  }

  getForPromString(): Promise<FamilyData> {
    return this.get();
  }

  /** Appends its exposition block (see {@link expositionBody}). */
  expositionLines(out: string[]): void {
    pushHead(out, this.name, this.help, this.type);
    out.push(`${escapeText(this.name)} ${valueText(this.value)}`);
  }

  reset(): void {
    this.value = 0;
  }
}

/** One label set of a histogram: per-bucket counts (not cumulative; made cumulative at scrape), sum, count. */
export class HistogramSeries {
  listed = false;
  /**
   * counts[i]: observations v with bounds[i-1] < v ≤ bounds[i]; larger ones only count in `count`. A plain
   * array, not a Float64Array: a typed array's storage is an allocation of its own outside V8's heap, ~310 B
   * more resident memory per series (725 against 410 B, measured on Node 24), and a real-world set has two
   * series per route (~2,000 for 1,218 routes: bench/RESULTS.md §20). Counts are small integers, which V8
   * keeps in the array itself.
   */
  readonly counts: number[];
  sum = 0;
  count = 0;
  /** Its labels as exposition text (`route="…",method="GET"`), made at its first scrape. */
  labelText: string | undefined;

  constructor(
    private readonly family: HistogramFamily,
    readonly labels: Labels,
  ) {
    this.counts = new Array<number>(family.bounds.length).fill(0);
  }

  /**
   * Observes `v`, as prom-client's `observe`: into the first bucket whose upper bound is ≥ v (linear scan:
   * latency buckets are few and most observations land in the first ones). A non-finite `v` is ignored
   * (prom-client throws; a metric must not fail a request).
   */
  observe(v: number): void {
    if (!Number.isFinite(v)) return;
    if (!this.listed) this.family.list(this);
    const bounds = this.family.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (v <= bounds[i]!) {
        this.counts[i]! += 1;
        break;
      }
    }
    this.sum += v;
    this.count += 1;
  }
}

/** A histogram family with fixed bucket upper bounds (ascending, without +Inf). */
export class HistogramFamily {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly bounds: readonly number[];
  private listed: HistogramSeries[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    bounds: readonly number[],
  ) {
    this.bounds = Object.freeze([...bounds]);
  }

  /** A new series with these labels; it appears in the exposition once observed. Cache it. */
  series(labels: Labels): HistogramSeries {
    return new HistogramSeries(this, labels);
  }

  /** @internal Called by a series on its first observation (and its first after a reset). */
  list(s: HistogramSeries): void {
    s.listed = true;
    this.listed.push(s);
  }

  /** As prom-client's Histogram `get()`: the series labels merged into each sample's labels. */
  async get(): Promise<FamilyData> {
    const data = this.samples();
    const values = data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }));
    return { ...data, values };
  }

  /** As prom-client's Histogram `getForPromString()`: `le` as the sample's label, the series' as shared. */
  getForPromString(): Promise<FamilyData> {
    return Promise.resolve(this.samples());
  }

  /** Appends its exposition block (see {@link expositionBody}): per series, cumulative buckets, `+Inf`, sum, count. */
  expositionLines(out: string[]): void {
    pushHead(out, this.name, this.help, this.type);
    // Sample lines carry the name as given (prom-client's `metricName`), HELP and TYPE its escaped form.
    const name = this.name;
    const buckets = [...this.bounds.map((b) => `${name}_bucket{le="${b}"`), `${name}_bucket{le="+Inf"`];
    const last = this.bounds.length;
    for (const s of this.listed) {
      const labels = (s.labelText ??= labelText(s.labels));
      const shared = labels === '' ? '} ' : `,${labels}} `;
      let acc = 0;
      for (let i = 0; i < last; i++) {
        acc += s.counts[i]!;
        out.push(buckets[i]! + shared + valueText(acc));
      }
      out.push(buckets[last]! + shared + valueText(s.count));
      const braced = labels === '' ? ' ' : `{${labels}} `;
      out.push(`${name}_sum${braced}${valueText(s.sum)}`, `${name}_count${braced}${valueText(s.count)}`);
    }
  }

  reset(): void {
    for (const s of this.listed) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
      s.listed = false;
    }
    this.listed = [];
  }

  private samples(): FamilyData {
    const bucket = `${this.name}_bucket`;
    const values: Sample[] = [];
    for (const s of this.listed) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i]!;
        // `le` stays a number, as prom-client's: the Registry prints it with String(), e.g. 0.0005, 30.
        values.push({ labels: { le: this.bounds[i]! }, sharedLabels: s.labels, value: acc, metricName: bucket, exemplar: null });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: bucket, exemplar: null });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
