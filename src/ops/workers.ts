/**
 * `--workers N` (N > 1): this process becomes a node:cluster primary that only supervises N worker processes;
 * each worker is a complete attache (same argv and env, so the same config) serving both listeners, which
 * node:cluster shares between them (the primary accepts and hands each new connection to a worker in turn,
 * its default SCHED_RR policy on Linux). One Node process runs its JavaScript on one core; a standalone
 * gateway on an N-core machine uses N workers. A sidecar keeps the default, 1: no cluster, one process.
 *
 * Lifecycle: SIGTERM/SIGINT to the primary is passed to every worker, each drains as a single attache does,
 * and the primary exits 0 once all have exited cleanly (1 otherwise). SIGHUP to the primary is passed to
 * every worker, and each reloads its configuration as a single attache does (a worker still starting gets
 * it once it listens: before then it has no SIGHUP handler, and the signal's default action would end it). A worker that dies on its own is
 * replaced, at most `maxRestarts` times in `restartWindowMs`; past that the primary stops the others and
 * exits 1, so the orchestrator restarts the whole pod rather than a crash loop running unseen.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';

export interface SuperviseOptions {
  readonly workers: number;
  readonly logger: Logger;
  /** Replacements allowed within restartWindowMs before giving up (default 5 in 60 s). */
  readonly maxRestarts?: number;
  readonly restartWindowMs?: number;
}

/** True in a process forked by {@link superviseWorkers}: it must run attache itself, not supervise. */
export function isWorkerProcess(): boolean {
  return cluster.isWorker;
}

/**
 * Forks the workers and supervises them until they have all exited. Resolves to the exit code for the
 * primary (0 after a clean signal-driven stop, 1 otherwise). Never rejects.
 */
export function superviseWorkers(opts: SuperviseOptions): Promise<number> {
  const { logger } = opts;
  const maxRestarts = opts.maxRestarts ?? 5;
  const windowMs = opts.restartWindowMs ?? 60_000;
  const live = new Set<Worker>();
  /** Workers that listen, so have attache's SIGHUP handler; the others get a SIGHUP once they do. */
  const listening = new WeakSet<Worker>();
  const hupWhenListening = new WeakSet<Worker>();
  const restarts: number[] = [];
  let stopping = false;
  let failed = false;

  return new Promise<number>((resolve) => {
    const fork = (): void => {
      const w = cluster.fork();
      live.add(w);
      w.once('listening', () => {
        listening.add(w);
        if (hupWhenListening.has(w)) w.process.kill('SIGHUP');
      });
      w.on('exit', (code, signal) => {
        live.delete(w);
        if (stopping) {
          if (code !== 0) failed = true;
          if (live.size === 0) resolve(failed ? 1 : 0);
          return;
        }
        const now = Date.now();
        while (restarts.length > 0 && now - restarts[0]! > windowMs) restarts.shift();
        if (restarts.length >= maxRestarts) {
          logger.error({ pid: w.process.pid, code, signal, restarts: restarts.length, windowMs }, 'worker died too often; stopping');
          stop(true);
          return;
        }
        restarts.push(now);
        logger.warn({ pid: w.process.pid, code, signal }, 'worker died; starting a replacement');
        fork();
      });
    };
    const stop = (asFailure: boolean): void => {
      if (stopping) return;
      stopping = true;
      failed = asFailure;
      if (live.size === 0) resolve(failed ? 1 : 0);
      for (const w of live) w.process.kill('SIGTERM');
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal, workers: live.size }, 'signal received, stopping the workers');
      stop(false);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    process.on('SIGHUP', () => {
      if (stopping) return;
      logger.info({ workers: live.size }, 'SIGHUP received, every worker reloads');
      for (const w of live) {
        if (listening.has(w)) w.process.kill('SIGHUP');
        else hupWhenListening.add(w);
      }
    });
    logger.info({ workers: opts.workers, pid: process.pid }, 'starting workers');
    for (let i = 0; i < opts.workers; i++) fork();
  });
}
