/**
 * Summarise a V8 CPU profile (`npm run bench -- --cpu-prof` writes them to bench/results/profiles/):
 * self time by area (a package, the project's folders, node internals, GC, idle) and by function.
 *
 *   npx tsx bench/profile.ts bench/results/profiles/NAME/<file>.cpuprofile [--top 30]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The area a function belongs to: its npm package, the project folder, or V8's pseudo-frames. */
function area(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return 'node internals';
  const project = /\/(topology|sources|operators|sinks|clients|schemas|randomuser|bench|testing)\//.exec(url);
  return project ? `${project[1]}/` : url;
}

export function summarise(profile: Profile): { totalMs: number; byArea: Array<[string, number]>; byFunction: Array<[string, number]> } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const areaMs = new Map<string, number>();
  const functionMs = new Map<string, number>();
  let totalMs = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    totalMs += ms;
    const where = area(url, functionName);
    areaMs.set(where, (areaMs.get(where) ?? 0) + ms);
    const name = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*?(node_modules\/|\/work\/[^/]+\/)/, '')}:${lineNumber + 1}` : ''}`.trim();
    functionMs.set(name, (functionMs.get(name) ?? 0) + ms);
  });
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return { totalMs, byArea: sorted(areaMs), byFunction: sorted(functionMs) };
}

function main(): void {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '30' } }, allowPositionals: true });
  if (positionals.length !== 1) {
    process.stderr.write('usage: npx tsx bench/profile.ts FILE.cpuprofile [--top N]\n');
    process.exit(2);
  }
  const { totalMs, byArea, byFunction } = summarise(JSON.parse(readFileSync(positionals[0], 'utf8')) as Profile);
  const pct = (ms: number) => `${((ms / totalMs) * 100).toFixed(1).padStart(5)} %`;
  process.stdout.write(`${(totalMs / 1000).toFixed(1)} s sampled\n\nself time by area:\n`);
  for (const [name, ms] of byArea) if (ms / totalMs >= 0.002) process.stdout.write(`  ${pct(ms)}  ${name}\n`);
  process.stdout.write('\nself time by function:\n');
  for (const [name, ms] of byFunction.slice(0, Number(values.top))) process.stdout.write(`  ${pct(ms)}  ${name}\n`);
}

main();
