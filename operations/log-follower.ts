/**
 * Follows a log file the way operations/logger.ts writes it (winston-daily-rotate-file): the live file is
 * `<name>-<date>.log[.N]`, and `<name>.log` is a symlink to it; on rotation (by size, or at midnight
 * UTC) a new file `<name>-<date>.log.N+1` is started and the symlink moved to it.
 *
 * Each `poll()` returns the complete lines written since the last one, each line exactly once across
 * rotations: the open handle still reads the old file to its end, so the lines written just before a
 * rotation are not lost; files started and finished between two polls are read in order; then the new
 * live file is read from its start. A file truncated in place is read again from its start.
 */
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';

const CHUNK = 1 << 20;
const NEWLINE = 0x0a;

export class LogFollower {
  private position = 0;
  /** Bytes after the last newline: a line still being written. */
  private partial = Buffer.alloc(0);

  private constructor(
    readonly file: string,
    private handle: FileHandle,
    private identity: Stats,
  ) {}

  /** Opens the file (rejects with ENOENT when it does not exist); the first poll reads it from the start. */
  static async open(file: string): Promise<LogFollower> {
    const handle = await open(file, 'r');
    return new LogFollower(file, handle, await handle.stat());
  }

  async poll(): Promise<string[]> {
    const lines = await this.readNew();
    let current: Stats;
    try {
      current = await stat(this.file);
    } catch (error) {
      // Between the rename and the creation of the new file: the next poll finds it.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return lines;
      throw error;
    }
    if (current.ino !== this.identity.ino || current.dev !== this.identity.dev) {
      // Rotated: finish the old file (the writer closed it before renaming it), then the ones rotated
      // away since, oldest first, then the new live file from its start.
      lines.push(...(await this.readNew()), ...this.takePartial());
      for (const missed of await this.rotatedAfter(this.identity, current)) lines.push(...(await readLines(missed)));
      await this.handle.close();
      this.handle = await open(this.file, 'r');
      this.identity = await this.handle.stat();
      this.position = 0;
      lines.push(...(await this.readNew()));
    } else if (current.size < this.position) {
      this.position = 0;
      this.partial = Buffer.alloc(0);
      lines.push(...(await this.readNew()));
    }
    return lines;
  }

  /** Every line of a file that no longer grows, including a last one without a newline. */
  async readAll(): Promise<string[]> {
    return [...(await this.readNew()), ...this.takePartial()];
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  /** Complete lines from the current position to the end of the open file. */
  private async readNew(): Promise<string[]> {
    const lines: string[] = [];
    const buffer = Buffer.alloc(CHUNK);
    for (;;) {
      const { bytesRead } = await this.handle.read(buffer, 0, CHUNK, this.position);
      if (bytesRead === 0) return lines;
      this.position += bytesRead;
      const data = Buffer.concat([this.partial, buffer.subarray(0, bytesRead)]);
      // Split on the byte, not on decoded text: a chunk may end inside a multi-byte character.
      const end = data.lastIndexOf(NEWLINE);
      if (end < 0) {
        this.partial = data;
        continue;
      }
      lines.push(...splitLines(data.subarray(0, end)));
      this.partial = Buffer.from(data.subarray(end + 1));
    }
  }

  private takePartial(): string[] {
    const rest = splitLines(this.partial);
    this.partial = Buffer.alloc(0);
    return rest;
  }

  /** The rotated files after the one with identity `from` and before the live one, oldest first. */
  private async rotatedAfter(from: Stats, live: Stats): Promise<string[]> {
    const dir = path.dirname(this.file);
    const name = path.basename(this.file, path.extname(this.file));
    const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d{4}-\\d{2}-\\d{2})\\.log(?:\\.(\\d+))?$`);
    const rotated = (await readdir(dir))
      .map((entry) => ({ entry, match: pattern.exec(entry) }))
      .filter((f): f is { entry: string; match: RegExpExecArray } => f.match !== null)
      .sort((a, b) => a.match[1].localeCompare(b.match[1]) || Number(a.match[2] ?? 0) - Number(b.match[2] ?? 0))
      .map((f) => path.join(dir, f.entry));
    const identities = await Promise.all(rotated.map((file) => stat(file).catch(() => undefined)));
    const same = (a: Stats | undefined, b: Stats) => a !== undefined && a.ino === b.ino && a.dev === b.dev;
    const start = identities.findIndex((s) => same(s, from));
    // The old file is gone (deleted by maxFiles): which files came after it cannot be told.
    if (start < 0) return [];
    const end = identities.findIndex((s) => same(s, live));
    return rotated.slice(start + 1, end < 0 ? undefined : end);
  }
}

function splitLines(data: Buffer): string[] {
  return data
    .toString('utf8')
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .filter((line) => line !== '');
}

async function readLines(file: string): Promise<string[]> {
  const follower = await LogFollower.open(file);
  try {
    return await follower.readAll();
  } finally {
    await follower.close();
  }
}
