/**
 * Finds the `java` that runs the servers ($JAVA_HOME/bin/java, else the one on PATH) and checks it
 * is Java 17 or newer: Kafka 4 and Cassandra 5 refuse older ones, with errors far less clear than ours.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UserFacingError } from '../topology/errors.ts';

const run = promisify(execFile);
const INSTALL_HINT = 'install Java 17 (e.g. `apt-get install openjdk-17-jre-headless`) or point JAVA_HOME at a Java 17+ installation';

export interface Java {
  path: string;
  major: number;
  /** The first line of `java -version`, for status output. */
  description: string;
}

/** The major version in `java -version` output: `openjdk version "17.0.15" ...` → 17, `"1.8.0_392"` → 8. */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(versionOutput);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

export async function findJava(env: Record<string, string | undefined>): Promise<Java> {
  const path = env.JAVA_HOME ? join(env.JAVA_HOME, 'bin', 'java') : 'java';
  let output: string;
  try {
    const { stdout, stderr } = await run(path, ['-version'], { env: { ...process.env, ...env } });
    output = `${stderr}${stdout}`;
  } catch (error) {
    const where = env.JAVA_HOME ? `${path} (from JAVA_HOME)` : '`java` on PATH';
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : `failed: ${(error as Error).message}`;
    throw new UserFacingError(`the local services need Java 17+, but ${where} was ${reason}`, INSTALL_HINT);
  }
  const major = parseJavaMajor(output);
  if (major === undefined || major < 17) {
    throw new UserFacingError(`the local services need Java 17+, but ${path} is ${major === undefined ? 'of an unknown version' : `Java ${major}`}:\n${output.trim()}`, INSTALL_HINT);
  }
  return { path, major, description: output.split('\n')[0].trim() };
}
