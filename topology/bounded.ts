/**
 * Bounded concurrency, the way sinks write: `task(i)` for every i in [0, count), at most `concurrency`
 * at once, each lane starting its next task when its previous one settles. After a failure no new task
 * starts; the call settles once the tasks already running have (so nothing outlives it) and rejects
 * with the first failure. A task can ask `failed()` to give up early, e.g. instead of retrying.
 */
export async function forEachBounded(count: number, concurrency: number, task: (index: number, failed: () => boolean) => Promise<unknown>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const failed = () => failure !== undefined;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < count) {
      const index = next++;
      try {
        await task(index, failed);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const lanes: Array<Promise<void>> = [];
  for (let i = Math.min(concurrency, count); i > 0; i--) lanes.push(lane());
  await Promise.all(lanes);
  if (failure) throw failure.error;
}
