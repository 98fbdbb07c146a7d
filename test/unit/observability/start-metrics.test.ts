/**
 * `npm start -- --metrics-port`: the metrics server of a real `npm start` process (a rate source, no
 * external services) — its URL in the log, scraped while the topology runs — and the refusals of a
 * bad or busy port, before anything is written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function topology(): { file: string; log: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'start-metrics-'));
  const file = path.join(dir, 'metered.yaml');
  writeFileSync(
    file,
    `name: metered
pipelines:
  gen:
    source: { type: rate, rowsPerSecond: 20, totalRows: 60 }
    sink: { type: memory, channel: out }
    trigger: { interval: 200ms }
logging: { dir: ${JSON.stringify(path.join(dir, 'logs'))}, console: "off" }
`,
  );
  return { file, log: path.join(dir, 'logs', 'metered.log') };
}

test('--metrics-port 0: the URL is logged, /metrics answers on 127.0.0.1 while the topology runs', async () => {
  const { file, log } = topology();
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/run.ts', '--topology', file, '--no-services', '--metrics-port', '0'], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let url: string | undefined;
  for (let waited = 0; url === undefined && waited < 20_000; waited += 50) {
    await sleep(50);
    url = existsSync(log) ? /metrics: Prometheus metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(readFileSync(log, 'utf8'))?.[1] : undefined;
  }
  assert.ok(url, 'the metrics URL is in the log');
  const scrape = await (await fetch(url)).text();
  assert.match(scrape, /^userstream_records_in_total\{pipeline="gen",component="source",topology="metered"\} \d+$/m);
  assert.match(scrape, /^process_cpu_seconds_total\{topology="metered"\} /m);
  assert.equal(await exited, 0);
  const progress = readFileSync(log, 'utf8').split('\n').filter((line) => line.includes('"event":"progress"'));
  assert.equal(progress.reduce((n, line) => n + (JSON.parse(line) as { numInputRows: number }).numInputRows, 0), 60);
});

test('a port that is not a number: exit 2; a busy port: exit 1, naming it, and no log file', async () => {
  const { file, log } = topology();
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'bin/run.ts', '--topology', file, '--no-services', '--metrics-port', 'ninety'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^error: --metrics-port: expected a port number from 0 to 65535, got "ninety"\n {2}→ see npm start -- --help/);

  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as AddressInfo).port;
  try {
    const refused = spawnSync(process.execPath, ['--import', 'tsx', 'bin/run.ts', '--topology', file, '--no-services', '--metrics-port', String(port)], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, new RegExp(`error: port ${port} on 127\\.0\\.0\\.1 is already in use, so the metrics server cannot start`));
    assert.equal(existsSync(log), false, 'a refused start writes no log');
  } finally {
    busy.close();
  }
});
