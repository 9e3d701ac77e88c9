/**
 * YAML text → a small tree of plain nodes that each carry their 1-based line.
 *
 * Both the --config file and the mapping files need "file:line" on every error, and neither should walk the
 * `yaml` package's AST directly: this module is the one place that knows it. Maps become ordered entry
 * lists, never objects, so a key like `__proto__` is just a string to report, not a prototype to pollute.
 */
import { parseAllDocuments, LineCounter, isAlias, isMap, isScalar, isSeq, isPair } from 'yaml';
import type { Document, Node as YamlAstNode } from 'yaml';
import { ConfigError } from './errors.js';
import type { ConfigErrorCode } from './errors.js';

/** A scalar, list or mapping from a YAML file, with the line it starts on. */
export type YamlNode = YamlScalar | YamlSeq | YamlMap;
export interface YamlScalar { readonly kind: 'scalar'; readonly line: number; readonly value: string | number | boolean | null }
export interface YamlSeq { readonly kind: 'seq'; readonly line: number; readonly items: readonly YamlNode[] }
export interface YamlMap { readonly kind: 'map'; readonly line: number; readonly entries: readonly YamlEntry[] }
/** One `key: value` pair; `line` is the key's line. An empty value (`key:`) is a null scalar. */
export interface YamlEntry { readonly key: string; readonly line: number; readonly value: YamlNode }

/**
 * Parses one YAML document (YAML 1.2 core schema; duplicate keys are errors).
 * Never throws. `root` is undefined for an empty file or when the text is not valid YAML; each syntax problem
 * becomes a ConfigError with `code` and source `file:line:col`. A stream of several documents is an error:
 * a config file or mapping file is one document.
 */
export function parseYaml(file: string, text: string, code: ConfigErrorCode): { readonly root: YamlNode | undefined; readonly errors: readonly ConfigError[] } {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: true });
  if (!Array.isArray(docs) || docs.length === 0) return { root: undefined, errors: [] };
  const errors: ConfigError[] = [];
  for (const doc of docs) {
    // Warnings too (e.g. an unresolved `!!tag`): a config value that YAML itself is unsure of is a mistake.
    for (const e of [...doc.errors, ...doc.warnings]) {
      const pos = e.linePos?.[0];
      const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
      errors.push(new ConfigError(code, where, `invalid YAML: ${e.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '')}`));
    }
  }
  if (docs.length > 1) {
    const second = docs[1]!;
    const line = lineCounter.linePos(second.range[0]).line;
    errors.push(new ConfigError(code, `${file}:${line}`, 'a second YAML document (---) is not allowed; put everything in one document'));
  }
  if (errors.length > 0) return { root: undefined, errors };
  const doc = docs[0]!;
  const lineOf = (offset: number | undefined): number => (offset === undefined ? 1 : lineCounter.linePos(offset).line);
  const root = doc.contents === null ? undefined : convert(doc, doc.contents, lineOf, new Set(), file, code, errors);
  return { root, errors };
}

/** AST node → YamlNode, resolving aliases; `ancestors` guards against an alias to its own ancestor. */
function convert(
  doc: Document.Parsed,
  node: unknown,
  lineOf: (offset: number | undefined) => number,
  ancestors: Set<unknown>,
  file: string,
  code: ConfigErrorCode,
  errors: ConfigError[],
): YamlNode {
  if (isAlias(node)) {
    const target = node.resolve(doc);
    if (target === undefined || ancestors.has(target)) {
      const line = lineOf(node.range?.[0]);
      errors.push(new ConfigError(code, `${file}:${line}`, `alias *${node.source} ${target === undefined ? 'names no anchor' : 'refers to a node that contains it'}`));
      return { kind: 'scalar', line, value: null };
    }
    return convert(doc, target, lineOf, ancestors, file, code, errors);
  }
  const line = lineOf((node as YamlAstNode | null)?.range?.[0]);
  const inner = new Set(ancestors).add(node);
  if (isMap(node)) {
    const entries: YamlEntry[] = [];
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as YamlAstNode | null;
      const key = isScalar(keyNode) ? String(keyNode.value) : keyNode === null ? '' : String(keyNode);
      const keyLine = lineOf(keyNode?.range?.[0]);
      const value = pair.value === null ? { kind: 'scalar' as const, line: keyLine, value: null } : convert(doc, pair.value, lineOf, inner, file, code, errors);
      entries.push({ key, line: keyLine, value });
    }
    return { kind: 'map', line, entries };
  }
  if (isSeq(node)) {
    return { kind: 'seq', line, items: node.items.map((item) => convert(doc, item, lineOf, inner, file, code, errors)) };
  }
  if (isScalar(node)) {
    const v = node.value;
    const value = v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : String(v);
    return { kind: 'scalar', line, value };
  }
  return { kind: 'scalar', line, value: null };
}

/** YamlNode → plain JS (strings, numbers, booleans, null, arrays, null-prototype objects). */
export function toPlain(node: YamlNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(toPlain);
    case 'map': {
      const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      for (const e of node.entries) out[e.key] = toPlain(e.value);
      return out;
    }
  }
}

/** How a node reads in a message: `a mapping`, `a list`, `the string "x"`, `the number 5`, `true`, `null`. */
export function describeNode(node: YamlNode): string {
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'seq') return 'a list';
  const v = node.value;
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'number') return `the number ${v}`;
  return String(v);
}
