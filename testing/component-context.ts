/**
 * A component context for creating a component outside a pipeline (unit and integration tests,
 * benchmarks): what a pipeline would hand it, with at-least-once processing by default and shared
 * resources of its own.
 */
import { asyncScheduler } from 'rxjs';
import type { Logger } from 'winston';
import { silentLogger } from '../operations/logger.ts';
import { DEFAULT_INSTANCE, type ComponentContext, type SchedulerLike, type SharedResource } from '../topology/types.ts';

export function componentContext(given: Partial<Omit<ComponentContext, 'shared'>> & { logger?: Logger; scheduler?: SchedulerLike } = {}): ComponentContext {
  const shared = new Map<string, SharedResource>();
  return {
    topology: 'test',
    pipeline: 'main',
    instance: DEFAULT_INSTANCE,
    path: 'pipelines.main',
    logger: silentLogger(),
    scheduler: asyncScheduler,
    processing: 'at-least-once',
    ...given,
    shared: <T extends SharedResource>(key: string, create: () => T): T => {
      if (!shared.has(key)) shared.set(key, create());
      return shared.get(key) as T;
    },
  };
}
