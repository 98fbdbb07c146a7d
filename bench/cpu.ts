/**
 * CPU time of other processes (the local Kafka and Cassandra) and of the whole machine over a
 * measurement, from /proc (Linux). On a 2-core machine shared by the pipeline, both servers and other
 * people's work, a figure in rows/s is only readable beside how much CPU each party used for it.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's times (USER_HZ, 100 on every Linux build Node supports). */
const TICKS = 100;

function processTicks(pid: number): number | undefined {
  try {
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const [, ...times] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    const values = times.map(Number);
    const idle = values[3] + (values[4] ?? 0);
    const total = values.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

export interface CpuSpent {
  /** CPU seconds per watched process (absent when /proc could not be read). */
  seconds: Record<string, number>;
  /** Share of the machine's CPU capacity in use over the interval, all processes (0..1). */
  machineBusy: number | undefined;
}

/** Starts counting at construction; `read()` gives what was spent since. */
export class CpuMeter {
  private readonly start: Map<string, number>;
  private readonly machine = machineTicks();

  constructor(private readonly pids: Record<string, number>) {
    this.start = new Map(Object.entries(pids).flatMap(([name, pid]) => {
      const ticks = processTicks(pid);
      return ticks === undefined ? [] : [[name, ticks]];
    }));
  }

  read(): CpuSpent {
    const seconds: Record<string, number> = {};
    for (const [name, before] of this.start) {
      const after = processTicks(this.pids[name]);
      if (after !== undefined) seconds[name] = (after - before) / TICKS;
    }
    const now = machineTicks();
    const machineBusy = this.machine && now && now.total > this.machine.total ? (now.busy - this.machine.busy) / (now.total - this.machine.total) : undefined;
    return { seconds, machineBusy };
  }
}
