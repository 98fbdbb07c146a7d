/**
 * What a stop signal (SIGINT, SIGTERM) means to a running command: the first asks for a graceful stop;
 * a later one for exiting at once. One Ctrl-C can arrive more than once, though: the terminal signals
 * the whole process group, and npm and tsx each pass it on to their child as well, within
 * milliseconds. A repeat that soon is the same keypress, not the user asking again.
 */

/** A stop signal this soon after the first is the same Ctrl-C, passed on by a wrapper (npm, tsx). */
export const REPEATED_SIGNAL_MS = 1000;

export type StopSignalMeaning = 'stop gracefully' | 'same signal again' | 'exit now';

/** Classifies each stop signal received, in order; `now` is injected for tests. */
export function stopSignals(now: () => number = Date.now): () => StopSignalMeaning {
  let firstAt: number | undefined;
  return () => {
    if (firstAt === undefined) {
      firstAt = now();
      return 'stop gracefully';
    }
    return now() - firstAt < REPEATED_SIGNAL_MS ? 'same signal again' : 'exit now';
  };
}
