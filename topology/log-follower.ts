/**
 * Follows a log file the way topology/logger.ts writes it — winston with `tailable: true`: the live file
 * is always `<name>.log`; when it reaches `maxSize` it is closed, renamed to `<name>1.log` (older ones
 * shift to `<name>2.log`, …) and a new `<name>.log` is created.
 *
 * Each `poll()` returns the complete lines written since the last one, each line exactly once across
 * rotations: the open handle still reads the renamed file to its end, so the lines written just before
 * a rotation are not lost; files rotated away between two polls are read in order; then the new file
 * is read from its start. A file truncated in place is read again from its start.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
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
      for (const missed of await this.rotatedAfter(this.identity)) lines.push(...(await readLines(missed)));
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

  /** The rotated files newer than the one with this identity (`<name>k.log`), oldest first. */
  private async rotatedAfter(identity: Stats): Promise<string[]> {
    const ext = path.extname(this.file);
    const base = this.file.slice(0, this.file.length - ext.length);
    const newer: string[] = [];
    for (let k = 1; ; k++) {
      const candidate = `${base}${k}${ext}`;
      const found = await stat(candidate).catch(() => undefined);
      // Not among the rotated files (deleted by maxFiles): which ones are newer cannot be told.
      if (!found) return [];
      if (found.ino === identity.ino && found.dev === identity.dev) return newer.reverse();
      newer.push(candidate);
    }
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
