/**
 * `npm start` and the console: on by default, its URL in the log (and on the console), answering on
 * 127.0.0.1 while the topology runs; `--no-ui` starts none. A rate source, no external services.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function topology(): { file: string; log: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'start-console-'));
  const file = path.join(dir, 'watched.yaml');
  writeFileSync(
    file,
    `name: watched
pipelines:
  gen:
    source: { type: rate, rowsPerSecond: 20, totalRows: 80 }
    sink: { type: memory, channel: out }
    trigger: { interval: 200ms }
logging: { dir: ${JSON.stringify(path.join(dir, 'logs'))}, console: "off" }
`,
  );
  return { file, log: path.join(dir, 'logs', 'watched.log') };
}

test('the console is on by default: its URL is logged and it answers on 127.0.0.1 while the topology runs; --no-ui: none', async () => {
  const { file, log } = topology();
  // --ui-port 0: a free port (the default 4040 may be another process's on a shared machine).
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/run.ts', '--topology', file, '--no-services', '--ui-port', '0'], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let url: string | undefined;
  for (let waited = 0; url === undefined && waited < 30_000; waited += 50) {
    await sleep(50);
    url = existsSync(log) ? /console: open (http:\/\/127\.0\.0\.1:\d+\/) in a browser/.exec(readFileSync(log, 'utf8'))?.[1] : undefined;
  }
  assert.ok(url, 'the console URL is in the log');
  const overview = (await (await fetch(`${url}api/overview`)).json()) as { topology: string; pipelines: Array<{ name: string }> };
  assert.equal(overview.topology, 'watched');
  assert.deepEqual(overview.pipelines.map((p) => p.name), ['gen']);
  assert.match(await (await fetch(url)).text(), /<title>Topology · user-stream console<\/title>/);
  assert.equal(await exited, 0);

  const quiet = topology();
  const without = spawn(process.execPath, ['--import', 'tsx', 'bin/run.ts', '--topology', quiet.file, '--no-services', '--no-ui'], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
  assert.equal(await new Promise((resolve) => without.once('exit', resolve)), 0);
  const text = readFileSync(quiet.log, 'utf8');
  assert.match(text, /running topology watched/);
  assert.doesNotMatch(text, /console: open/);
});
