/**
 * The servers' jars: resolved from Maven Central by the small Maven project in services/maven, once,
 * into a cache outside the source tree (`<cache>/<server>-<version>/lib`). The schema registry is
 * built instead (services/registry: a Quarkus build of Apicurio Registry), and its runnable jar with
 * its `lib/` lands in the same place. A marker file listing the jars is written last, so an
 * interrupted download or build is redone and a complete one is never repeated: once the marker is
 * there, Maven is not run at all.
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

/** The versions pinned in services/maven/pom.xml and services/registry/pom.xml, the one place each is set. */
export function pinnedVersions(pom: string, registryPom: string): Record<ServiceName, string> {
  const property = (text: string, file: string, name: string): string => {
    const match = new RegExp(`<${name}>([^<]+)</${name}>`).exec(text);
    if (!match) throw new Error(`${file} has no <${name}> property`);
    return match[1].trim();
  };
  return {
    kafka: property(pom, 'services/maven/pom.xml', 'kafka.version'),
    cassandra: property(pom, 'services/maven/pom.xml', 'cassandra.version'),
    registry: property(registryPom, 'services/registry/pom.xml', 'apicurio.version'),
  };
}

export async function readPinnedVersions(repoDir: string): Promise<Record<ServiceName, string>> {
  return pinnedVersions(await readFile(pomPath(repoDir), 'utf8'), await readFile(registryPomPath(repoDir), 'utf8'));
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
  const started = Date.now();
  if (service === 'registry') {
    log(`registry: building Apicurio Registry ${version} (Quarkus) from Maven Central artifacts into ${dir} (once; a few minutes and about 210 MB of downloads the first time)`);
    const buildDir = `${partial}.build`;
    await rm(buildDir, { recursive: true, force: true });
    try {
      await runMaven(repoDir, service, registryBuildArgs(repoDir, buildDir), log);
      // The build's runnable part: the runner jar and its lib/ (Quarkus's legacy-jar layout), nothing else.
      const runner = (await readdir(buildDir)).find((name) => name.endsWith('-runner.jar'));
      if (!runner) throw new UserFacingError(`registry: the Quarkus build finished but left no *-runner.jar in ${buildDir}`, 'look at services/registry/pom.xml and run the command above by hand');
      await rename(join(buildDir, runner), join(partial, REGISTRY_RUNNER));
      await rename(join(buildDir, 'lib'), join(partial, 'lib'));
    } finally {
      await rm(buildDir, { recursive: true, force: true });
    }
  } else {
    log(`${service}: fetching ${service} ${version} and its dependencies from Maven Central into ${dir} (once)`);
    await runMaven(repoDir, service, copyDependenciesArgs(repoDir, service, partial), log);
  }

  const jars = (await readdir(partial)).filter((name) => name.endsWith('.jar')).sort();
  if (jars.length === 0) throw new UserFacingError(`${service}: Maven finished but copied no jars into ${partial}`, 'look at services/maven/pom.xml and run the command above by hand');
  const libDir = join(dir, 'lib');
  await rm(libDir, { recursive: true, force: true });
  await rename(partial, libDir);
  const marker: Marker = { version, jars, fetchedAt: new Date().toISOString() };
  await writeFile(join(dir, 'complete.json'), `${JSON.stringify(marker, null, 2)}\n`);
  const { files, bytes } = await jarsUnder(libDir);
  log(`${service}: ${files} jars (${formatBytes(bytes)}) ready in ${libDir} after ${Math.round((Date.now() - started) / 1000)} s`);
  return { version, libDir, downloaded: true };
}

/** How many jars, of how many bytes, `dir` holds (its subdirectories included: the registry's lib/). */
async function jarsUnder(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.jar')) continue;
    files += 1;
    bytes += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return { files, bytes };
}

/** The registry's runnable jar in its lib dir (its dependencies are in lib/ beside it). */
export const REGISTRY_RUNNER = 'quarkus-run.jar';

function pomPath(repoDir: string): string {
  return join(repoDir, 'services', 'maven', 'pom.xml');
}

function registryPomPath(repoDir: string): string {
  return join(repoDir, 'services', 'registry', 'pom.xml');
}

// Batch mode alone still lets Debian's Maven emit ANSI colour codes; style.color=never stops them.
const MAVEN_BATCH = ['-B', '-Dstyle.color=never'];

function copyDependenciesArgs(repoDir: string, service: ServiceName, outputDir: string): string[] {
  return [...MAVEN_BATCH, '-f', pomPath(repoDir), '-P', service, 'dependency:copy-dependencies', `-DoutputDirectory=${outputDir}`];
}

/** The registry's build: its own settings.xml (every repository mirrored to Maven Central), output outside the source tree. */
export function registryBuildArgs(repoDir: string, buildDir: string): string[] {
  return [...MAVEN_BATCH, '-s', join(repoDir, 'services', 'registry', 'settings.xml'), '-f', registryPomPath(repoDir), 'package', `-Dregistry.build.dir=${buildDir}`];
}

/** Runs Maven with `args`, condensing its output to a progress line every few seconds. */
async function runMaven(repoDir: string, service: ServiceName, args: string[], log: (line: string) => void): Promise<void> {
  const commandLine = `mvn ${args.join(' ')}`;
  const child = spawn('mvn', args, { cwd: repoDir, stdio: ['ignore', 'pipe', 'pipe'] });
  const lastLines: string[] = [];
  let files = 0;
  let bytes = 0;
  const mavenStarted = Date.now();
  let lastReport = mavenStarted;
  const onLine = (line: string): void => {
    lastLines.push(line);
    if (lastLines.length > 40) lastLines.shift();
    const downloaded = /Downloaded from [^:]+: \S+ \(([\d.]+) (B|kB|MB|GB) at/.exec(line);
    if (downloaded) {
      files += 1;
      bytes += Number(downloaded[1]) * ({ B: 1, kB: 1e3, MB: 1e6, GB: 1e9 } as Record<string, number>)[downloaded[2]];
    }
    // A build step (`--- quarkus-maven-plugin:2.16.4.Final:build`) is said as it begins: some take a minute.
    const step = /^\[INFO\] --- ([\w.-]+):[\w.-]+:([\w-]+)/.exec(line);
    if (step) log(`${service}: maven: ${step[1]} ${step[2]} (${files} files, ${formatBytes(bytes)} downloaded so far)`);
    else if (Date.now() - lastReport >= 3000) {
      lastReport = Date.now();
      // A build with everything already downloaded is busy compiling and packaging, not downloading.
      log(files > 0 ? `${service}: downloading… ${files} files, ${formatBytes(bytes)} so far` : `${service}: maven at work… ${Math.round((Date.now() - mavenStarted) / 1000)} s`);
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
    if (error.code === 'ENOENT') throw new UserFacingError(`${service}: Maven (mvn) was not found on PATH; it fetches the server jars and builds the registry`, 'install Maven 3.8+ (e.g. `apt-get install maven`) and retry');
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
