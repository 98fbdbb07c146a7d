/**
 * `npm run docs`: regenerate the component reference pages from the registered specs.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import '../components.ts';
import { registry } from '../topology/registry.ts';
import { COMPONENT_PAGES, componentPage } from '../topology/docs.ts';
import type { ComponentKind } from '../topology/types.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
for (const [kind, page] of Object.entries(COMPONENT_PAGES) as Array<[ComponentKind, string]>) {
  writeFileSync(path.join(root, page), componentPage(registry, kind));
  process.stdout.write(`wrote ${page}\n`);
}
