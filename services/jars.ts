/**
 * The servers' jars: resolved from Maven Central by the small Maven project in services/maven, once,
 * into a cache outside the source tree (`<cache>/<server>-<version>/lib`). A marker file listing the
 * jars is written last, so an interrupted download is redone and a complete one is never re-fetched:
 * once the marker is there, Maven is not run at all.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserFacingError } from '../topology/errors.ts';
import type { ServiceName } from './settings.ts';

export interface ServerJars {
  version: string;
  libDir: string;
  /** False when the jars were already in the cache. */
  downloaded: boolean;
}

interface Marker {
  version: string;
  jars: string[];
  fetchedAt: string;
}

/** The versions pinned in services/maven/pom.xml, the one place they are set. */
export function pinnedVersions(pom: string): Record<ServiceName, string> {
  const property = (name: string): string => {
    const match = new RegExp(`<${name}>([^<]+)</${name}>`).exec(pom);
    if (!match) throw new Error(`services/maven/pom.xml has no <${name}> property`);
    return match[1].trim();
  };
  return { kafka: property('kafka.version'), cassandra: property('cassandra.version') };
}

export async function readPinnedVersions(repoDir: string): Promise<Record<ServiceName, string>> {
  return pinnedVersions(await readFile(pomPath(repoDir), 'utf8'));
}

export function serverDir(cacheDir: string, service: ServiceName, version: string): string {
  return join(cacheDir, `${service}-${version}`);
}

/** The jars when the cache holds a complete copy, else undefined. */
export async function cachedJars(cacheDir: string, service: ServiceName, version: string): Promise<string | undefined> {
  const dir = serverDir(cacheDir, service, version);
  let marker: Marker;
  try {
    marker = JSON.parse(await readFile(join(dir, 'complete.json'), 'utf8')) as Marker;
  } catch {
    return undefined;
  }
  const libDir = join(dir, 'lib');
  if (marker.version !== version || marker.jars.length === 0 || !marker.jars.every((jar) => existsSync(join(libDir, jar)))) return undefined;
  return libDir;
}

/** Fetches `service`'s jars unless the cache already has them. Progress goes to `log`. */
export async function ensureServerJars(opts: { repoDir: string; cacheDir: string; service: ServiceName; version: string; log: (line: string) => void }): Promise<ServerJars> {
  const { repoDir, cacheDir, service, version, log } = opts;
  const cached = await cachedJars(cacheDir, service, version);
  if (cached) return { version, libDir: cached, downloaded: false };

  const dir = serverDir(cacheDir, service, version);
  const partial = join(dir, `lib.partial-${process.pid}`);
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  log(`${service}: fetching ${service} ${version} and its dependencies from Maven Central into ${dir} (once)`);
  const started = Date.now();
  await runMaven(repoDir, service, partial, log);

  const jars = (await readdir(partial)).filter((name) => name.endsWith('.jar')).sort();
  if (jars.length === 0) throw new UserFacingError(`${service}: Maven finished but copied no jars into ${partial}`, 'look at services/maven/pom.xml and run the command above by hand');
  const libDir = join(dir, 'lib');
  await rm(libDir, { recursive: true, force: true });
  await rename(partial, libDir);
  const marker: Marker = { version, jars, fetchedAt: new Date().toISOString() };
  await writeFile(join(dir, 'complete.json'), `${JSON.stringify(marker, null, 2)}\n`);
  let bytes = 0;
  for (const jar of jars) bytes += (await stat(join(libDir, jar))).size;
  log(`${service}: ${jars.length} jars (${formatBytes(bytes)}) ready in ${libDir} after ${Math.round((Date.now() - started) / 1000)} s`);
  return { version, libDir, downloaded: true };
}

function pomPath(repoDir: string): string {
  return join(repoDir, 'services', 'maven', 'pom.xml');
}

/** Runs `mvn dependency:copy-dependencies` for one server's profile, condensing its output to a progress line every few seconds. */
async function runMaven(repoDir: string, service: ServiceName, outputDir: string, log: (line: string) => void): Promise<void> {
  // Batch mode alone still lets Debian's Maven emit ANSI colour codes; style.color=never stops them.
  const args = ['-B', '-Dstyle.color=never', '-f', pomPath(repoDir), '-P', service, 'dependency:copy-dependencies', `-DoutputDirectory=${outputDir}`];
  const commandLine = `mvn ${args.join(' ')}`;
  const child = spawn('mvn', args, { cwd: repoDir, stdio: ['ignore', 'pipe', 'pipe'] });
  const lastLines: string[] = [];
  let files = 0;
  let bytes = 0;
  let lastReport = Date.now();
  const onLine = (line: string): void => {
    lastLines.push(line);
    if (lastLines.length > 40) lastLines.shift();
    const downloaded = /Downloaded from [^:]+: \S+ \(([\d.]+) (B|kB|MB|GB) at/.exec(line);
    if (downloaded) {
      files += 1;
      bytes += Number(downloaded[1]) * ({ B: 1, kB: 1e3, MB: 1e6, GB: 1e9 } as Record<string, number>)[downloaded[2]];
    }
    if (Date.now() - lastReport >= 3000) {
      lastReport = Date.now();
      log(`${service}: downloading… ${files} files, ${formatBytes(bytes)} so far`);
    }
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      lines.forEach(onLine);
    });
  }
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new UserFacingError(`${service}: Maven (mvn) was not found on PATH; it fetches the server jars`, 'install Maven 3.8+ (e.g. `apt-get install maven`) and retry');
    throw error;
  });
  if (exitCode !== 0) {
    const errors = lastLines.filter((line) => line.includes('[ERROR]'));
    throw new UserFacingError(
      `${service}: fetching the jars from Maven Central failed (mvn exited with ${exitCode}).\nCommand: ${commandLine}\n${(errors.length > 0 ? errors : lastLines).slice(-30).join('\n')}`,
      'check that Maven Central (or the mirror in ~/.m2/settings.xml) is reachable, then run the command again',
    );
  }
  if (files > 0) log(`${service}: downloaded ${files} files (${formatBytes(bytes)})`);
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${Math.round(bytes / 1e3)} kB`;
  return `${bytes} B`;
}
