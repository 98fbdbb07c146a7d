/**
 * The component pages under docs/ are generated from the specs; this fails when they are stale.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import '../../../components.ts';
import { registry } from '../../../topology/registry.ts';
import { COMPONENT_PAGES, componentPage } from '../../../topology/docs.ts';
import type { ComponentKind } from '../../../topology/types.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

for (const [kind, page] of Object.entries(COMPONENT_PAGES) as Array<[ComponentKind, string]>) {
  test(`${page} matches the ${kind} specs (run "npm run docs" after changing a spec)`, () => {
    const committed = readFileSync(path.join(root, page), 'utf8');
    assert.equal(committed, componentPage(registry, kind));
    for (const type of registry.types(kind).filter((t) => !t.startsWith('test-'))) assert.match(committed, new RegExp(`## \`${type}\``));
  });
}

test('nested fields and secrets are documented', () => {
  const page = componentPage(registry, 'sink');
  assert.match(page, /\| `batch.maxRows` \| a positive integer \| `1000` \|/);
  assert.match(page, /\| `retry.maxBackoff` \|/);
});
