/**
 * Hot reload of a running topology: the file is watched (and SIGHUP forces a reload); a changed file
 * is validated first — an invalid one is refused with the same listing as at start-up (a swap-refused
 * runtime event), and the running topology continues untouched — and a valid one is applied pipeline
 * by pipeline (runtime.apply).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'winston';
import { ConfigError, errorMessage } from '../topology/errors.ts';
import { loadTopology } from '../topology/load.ts';
import type { SwapReport, TopologyRuntime } from '../topology/runtime.ts';

export interface ReloadOptions {
  /**
   * How often the file is read and compared with the last version seen (ms). Comparing the text, not
   * the modification time, catches quick same-size edits and survives editors that replace the file.
   */
  intervalMs?: number;
  /** Called after each reload attempt (tests). */
  onReload?(outcome: { report?: SwapReport; refused?: string[]; error?: unknown }): void;
}

export function watchTopology(file: string, runtime: TopologyRuntime, logger: Logger, options: ReloadOptions = {}): { reload(reason: string): Promise<void>; close(): void } {
  let queue: Promise<void> = Promise.resolve();

  const reload = (reason: string): Promise<void> => {
    queue = queue.then(async () => {
      logger.info(`reload (${reason}): validating ${file}`);
      try {
        const { config } = loadTopology(file);
        if (config.name !== runtime.config.name) {
          const refused = [`name: the topology's name changed from ${runtime.config.name} to ${config.name}; a rename needs a restart`];
          runtime.refuseSwap({ cause: 'renamed', reason: refused[0], problems: refused });
          options.onReload?.({ refused });
          return;
        }
        const report = await runtime.apply(config);
        options.onReload?.({ report });
      } catch (error) {
        if (error instanceof ConfigError) {
          runtime.refuseSwap({ cause: 'invalid', reason: error.message, problems: error.problems });
          options.onReload?.({ refused: error.problems });
        } else {
          runtime.refuseSwap({ cause: 'failed', reason: errorMessage(error), problems: [] });
          options.onReload?.({ error });
        }
      }
    });
    return queue;
  };

  let lastText = readFileSync(file, 'utf8');
  // A change is applied once two polls in a row read the same text: a file read while it is being
  // written (truncated, half written) is not taken for a new version.
  let candidate: string | undefined;
  const poll = setInterval(() => {
    readFile(file, 'utf8').then(
      (text) => {
        if (text === lastText) {
          candidate = undefined;
          return;
        }
        if (text !== candidate) {
          candidate = text;
          return;
        }
        lastText = text;
        candidate = undefined;
        void reload('file changed');
      },
      () => undefined, // Mid-replace by an editor: the next poll sees the new file.
    );
  }, options.intervalMs ?? 500);
  poll.unref();
  const onHangup = () => void reload('SIGHUP');
  process.on('SIGHUP', onHangup);
  return {
    reload,
    close: () => {
      clearInterval(poll);
      process.off('SIGHUP', onHangup);
    },
  };
}
