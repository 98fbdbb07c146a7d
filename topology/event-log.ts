/**
 * Writes each runtime event to the topology's logger as one entry: a readable message for the console,
 * and the event's own fields, whole, for the JSON log file (where `npm run tail` reads them back by
 * their `event` field). The message is for people only.
 */
import type { Logger } from 'winston';
import type { RuntimeEvent } from './events.ts';

export function logEvent(logger: Logger, event: RuntimeEvent): void {
  switch (event.event) {
    case 'progress':
      logger.info('progress', event);
      return;
    case 'pipeline-started':
      logger.info(`started: ${event.source} → ${event.operators.length} operator(s) → ${event.sink}`, event);
      return;
    case 'pipeline-stopped': {
      const s = event.summary;
      logger.info(`stopped: ${s.batches} batch(es), ${s.inputRows} records in, ${s.outputRows} written, ${s.deadLetters} dead-lettered, ${s.failures} failed batch(es)`, event);
      return;
    }
    case 'batch-failed':
      logger.error(
        event.action === 'stop'
          ? `batch ${event.batchId} failed; ${event.uncommittedRows} record(s) left uncommitted; stopping (onFailure.action: stop)`
          : `batch ${event.batchId} failed; ${event.uncommittedRows} record(s) rolled back to the last committed position, retrying in ${event.retryInMs} ms`,
        event,
      );
      return;
    case 'state-restoring':
      logger.debug(`restoring task(s) ${event.tasks.join(', ')} from the changelogs`, event);
      return;
    case 'state-restored':
      logger.info(`restored task(s) ${event.tasks.join(', ')}: ${event.keys} key(s) from ${event.entriesRead} changelog entries in ${(event.ms / 1000).toFixed(1)} s`, event);
      return;
    case 'source-idle':
      logger.warn(`no new records from ${event.source} for ${Math.round(event.idleMs / 1000)} s`, event);
      return;
    case 'swap':
      logger.info(`swap: ${event.summary}`, event);
      return;
    case 'swap-refused':
      if (event.cause === 'failed') logger.error(`reload failed: ${event.reason}; still running the previous version`, event);
      else logger.error(`reload refused: ${event.reason}${event.cause === 'invalid' ? '\n' : '; '}still running the previous version`, event);
      return;
  }
}
