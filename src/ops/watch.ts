/**
 * `--watch`: calls `onChange` when the content of the watched files changes (the proto roots, the mapping
 * files or folders, the config file).
 *
 * File events only prompt a look: after a quiet period (`debounceMs`) the watcher fingerprints what the
 * paths hold (every file's resolved path, size and bytes) and calls `onChange` only when that differs from
 * the last fingerprint. So an editor's burst of writes costs one reload, a touch with no change costs none,
 * and events from unrelated files beside a watched one are harmless.
 *
 * Each path is watched itself (recursively for a folder) and through its parent folder, because tools
 * replace files rather than write them in place: an editor renames a temp file over the original, and a
 * Kubernetes ConfigMap volume swaps a `..data` symlink in the mount folder. After each look the watches
 * are set up again, since a replaced folder's old watch sees nothing more.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';

export interface WatchOptions {
  /** Files and folders to watch; the list is read again after each look (a reload may change it). */
  paths(): readonly string[];
  /** Called after the content changed; a reload. Its errors are logged. */
  onChange(): Promise<unknown> | void;
  readonly logger: Logger;
  /** Quiet time after the last event before the content is compared (default 200 ms). */
  readonly debounceMs?: number;
}

export interface Watcher {
  close(): void;
}

/** Every file under `p` (a file or folder), symlinks followed, in a stable order. */
function filesUnder(p: string, out: string[]): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(p);
  } catch {
    return;
  }
  if (stat.isFile()) {
    out.push(p);
    return;
  }
  if (!stat.isDirectory()) return;
  let names: string[];
  try {
    names = fs.readdirSync(p).sort();
  } catch {
    return;
  }
  // `..data` and the timestamped folders of a ConfigMap volume are reached through the visible symlinks.
  for (const name of names) if (!name.startsWith('..')) filesUnder(path.join(p, name), out);
}

/** A digest of what `paths` hold now: each file's path, size and bytes (a missing path counts as empty). */
export function contentFingerprint(paths: readonly string[]): string {
  const hash = createHash('sha256');
  for (const root of paths) {
    const files: string[] = [];
    filesUnder(root, files);
    hash.update(`root ${root}\n`);
    for (const f of files) {
      try {
        const bytes = fs.readFileSync(f);
        hash.update(`file ${f} ${bytes.length}\n`).update(bytes);
      } catch {
        hash.update(`unreadable ${f}\n`);
      }
    }
  }
  return hash.digest('hex');
}

/** Starts watching. Timers are unref()ed: a watcher never keeps the process alive. */
export function watchPaths(o: WatchOptions): Watcher {
  const debounceMs = o.debounceMs ?? 200;
  let watchers: fs.FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let looking = false;
  let again = false;
  let last = contentFingerprint(o.paths());

  const arm = (): void => {
    for (const w of watchers) w.close();
    watchers = [];
    const targets = new Map<string, boolean>();
    for (const p of o.paths()) {
      const abs = path.resolve(p);
      let isDir = false;
      try {
        isDir = fs.statSync(abs).isDirectory();
      } catch {
        // Not there (yet): its parent's watch sees it appear.
      }
      targets.set(abs, isDir || (targets.get(abs) ?? false));
      if (!targets.has(path.dirname(abs))) targets.set(path.dirname(abs), false);
    }
    for (const [target, recursive] of targets) {
      try {
        const w = fs.watch(target, { recursive, persistent: false }, schedule);
        w.on('error', schedule);
        watchers.push(w);
      } catch (err) {
        o.logger.debug({ err, path: target }, 'cannot watch this path');
      }
    }
  };

  const look = async (): Promise<void> => {
    if (closed) return;
    if (looking) {
      again = true;
      return;
    }
    looking = true;
    try {
      const now = contentFingerprint(o.paths());
      if (now !== last) {
        last = now;
        await o.onChange();
      }
    } catch (err) {
      o.logger.error({ err }, 'reload after a file change failed');
    } finally {
      looking = false;
      if (!closed) arm();
      if (again) {
        again = false;
        schedule();
      }
    }
  };

  function schedule(): void {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void look(), debounceMs);
    timer.unref();
  }

  arm();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const w of watchers) w.close();
      watchers = [];
    },
  };
}
