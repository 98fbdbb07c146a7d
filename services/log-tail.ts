/**
 * The last lines of a server's log, quoted in errors so the reason a server failed is on screen
 * without opening the file. Reads only the end of the file: server logs grow large.
 */
import { open } from 'node:fs/promises';

/** The last `count` lines of `path` (fewer if the file is shorter; none if it does not exist). */
export async function tailLines(path: string, count: number, maxBytes = 64 * 1024): Promise<string[]> {
  let file;
  try {
    file = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  try {
    const { size } = await file.stat();
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    await file.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split(/\r?\n/);
    // The first line is partial when we started reading mid-file; the last is empty after a final newline.
    if (length < size) lines.shift();
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-count);
  } finally {
    await file.close();
  }
}

/** A block for an error message: the header naming the file, then the lines, indented. */
export async function describeLogTail(path: string, count = 30): Promise<string> {
  const lines = await tailLines(path, count);
  if (lines.length === 0) return `(${path} is empty or missing)`;
  return `Last ${lines.length} lines of ${path}:\n${lines.map((line) => `  | ${line}`).join('\n')}`;
}
