/**
 * A path router over '/'-separated segments: literal segments, one-segment parameters and a trailing
 * rest-of-path wildcard, tried in that order at every segment with backtracking — the precedence
 * find-my-way (Fastify's router) gives, which is HttpRule's (matcher.ts).
 *
 * Why not find-my-way itself, which matcher.ts used before: it compiles code per route (a `new Function`
 * for each static prefix, parameter object and constraint check), which costs ~3.4 KiB and ~0.15 ms of
 * start-up per route: 4 MiB and 40% of the route build for the 1,200 routes of a real-world Google API set
 * (bench/realworld). attache needs none of its features beyond segment matching (methods, verbs and
 * percent-decoding are handled in matcher.ts), so this is a plain trie: a Map per node. find-my-way stays
 * the oracle: segment-router.test.ts checks both give the same answer on generated routes and paths.
 *
 * Paths are in matcher.ts's router form: they start with '/', and a segment never holds a '/' of its own
 * (a decoded one is escaped). The path '/' is one empty segment. A parameter matches any segment, empty
 * included; the rest wildcard matches what is left of the path from its segment on, empty included, but
 * not a path that ended before its segment ('/a' for '/a/*': register that reading separately).
 */

/** One part of a route's path. */
export type RoutePart = { readonly kind: 'literal'; readonly text: string } | { readonly kind: 'param' } | { readonly kind: 'rest' };

class TrieNode<S> {
  literals: Map<string, TrieNode<S>> | undefined;
  param: TrieNode<S> | undefined;
  /** The store of a route ending in the rest wildcard here. */
  rest: S | undefined;
  /** The store of a route ending exactly after this node's segment. */
  end: S | undefined;
}

export class SegmentRouter<S> {
  private readonly root = new TrieNode<S>();

  /**
   * Adds a route; `parts` must be non-empty ('/' is one empty literal), with a rest wildcard only last.
   * @returns false (and changes nothing) when a route with the same parts is already there.
   */
  on(parts: readonly RoutePart[], store: S): boolean {
    let node = this.root;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (part.kind === 'rest') {
        if (i !== parts.length - 1) throw new Error('segment-router: the rest wildcard must be the last part');
        if (node.rest !== undefined) return false;
        node.rest = store;
        return true;
      }
      if (part.kind === 'param') {
        node = node.param ??= new TrieNode<S>();
      } else {
        const literals = (node.literals ??= new Map());
        let next = literals.get(part.text);
        if (next === undefined) literals.set(part.text, (next = new TrieNode<S>()));
        node = next;
      }
    }
    if (node.end !== undefined) return false;
    node.end = store;
    return true;
  }

  /** The store of the route `path` (router form, starting with '/') matches, or undefined. */
  find(path: string): S | undefined {
    return walk(this.root, path, 1);
  }
}

/** Matches the segment of `path` starting at `start` (path.length + 1: the path has ended) and what follows. */
function walk<S>(node: TrieNode<S>, path: string, start: number): S | undefined {
  if (start > path.length) return node.end;
  const slash = path.indexOf('/', start);
  const segEnd = slash === -1 ? path.length : slash;
  const next = segEnd + 1;
  if (node.literals !== undefined) {
    const child = node.literals.get(path.slice(start, segEnd));
    if (child !== undefined) {
      const found = walk(child, path, next);
      if (found !== undefined) return found;
    }
  }
  if (node.param !== undefined) {
    const found = walk(node.param, path, next);
    if (found !== undefined) return found;
  }
  return node.rest;
}
