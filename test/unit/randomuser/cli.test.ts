import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = ['--import', 'tsx', 'bin/randomuser.ts'];

describe('bin/randomuser.ts', () => {
  test('--help prints the usage and exits 0', () => {
    const run = spawnSync(process.execPath, [...CLI, '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.status, 0);
    assert.match(run.stdout, /^Usage: npm run randomuser -- \[options\]/);
    assert.match(run.stdout, /--error-rate/);
  });

  test('bad options exit 2 naming each problem', () => {
    const run = spawnSync(process.execPath, [...CLI, '--error-rate', '3', '--faults', '503,teapot'], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /errorRate: expected a number from 0 to 1, got "3"/);
    assert.match(run.stderr, /kinds\[1\]: expected one of/);
  });

  test('serves on the printed URL with the given faults, and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [...CLI, '--port', '0', '--error-rate', '1', '--faults', '503', '--retry-after', '9'], { cwd: ROOT });
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    try {
      let output = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => (output += chunk));
      const started = performance.now();
      while (!/listening at (\S+)/.test(output) && child.exitCode === null && performance.now() - started < 20_000) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const url = /listening at (\S+)/.exec(output)?.[1];
      assert.match(url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/api\/$/, output);

      const res = await fetch(`${url}?results=3`, { signal: AbortSignal.timeout(5000) });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '9');
      await res.body?.cancel();

      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      assert.equal(code, 0);
      assert.match(output, /stopped \(SIGTERM\); API requests: 1, users served: 0, faults: \{[^}]*"503":1/);
    } finally {
      clearTimeout(killer);
    }
  });
});
