/**
 * Component reference pages, generated from the registered specs (docs/sources.md, docs/operators.md,
 * docs/sinks.md). Generated, so a field's docs cannot drift from its validation; a unit test fails
 * when the committed pages are stale (`npm run docs` rewrites them).
 */
import type { ComponentKind } from './types.ts';
import type { Registry } from './registry.ts';
import { isObjectCodec, type Fields } from './spec.ts';

const TITLES: Record<ComponentKind, string> = { source: 'Sources', operator: 'Operators', sink: 'Sinks', state: 'State backends' };
const CHOSEN: Record<ComponentKind, string> = { source: 'Every source is', operator: 'Every operator is', sink: 'Every sink is', state: "A pipeline's `state` backend is" };

function defaultText(value: unknown, codecName: string): string {
  if (value === undefined) return '';
  if (codecName.startsWith('a duration') && typeof value === 'number') return `\`${value}ms\``;
  return `\`${JSON.stringify(value)}\``;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Table rows for a field set; nested object fields appear as `parent.child`. */
function fieldRows(fields: Fields, prefix = ''): string[] {
  const rows: string[] = [];
  for (const [name, spec] of Object.entries(fields)) {
    const path = `${prefix}${name}`;
    const nested = isObjectCodec(spec.codec) ? spec.codec : undefined;
    const presence = spec.presence === 'always' && spec.default === undefined ? 'required' : spec.default !== undefined ? defaultText(spec.default, spec.codec.name) : 'optional';
    const type = nested ? 'object' : spec.codec.name;
    rows.push(`| \`${path}\` | ${escapeCell(type)} | ${nested && spec.default !== undefined ? 'see below' : presence}${spec.secret ? ' (secret)' : ''} | ${escapeCell(spec.description)} |`);
    if (nested) rows.push(...fieldRows(nested.fields, `${path}.`));
  }
  return rows;
}

const TABLE_HEAD = ['| field | type | default | description |', '| --- | --- | --- | --- |'];

export function componentPage(registry: Registry, kind: ComponentKind): string {
  const lines = [
    `# ${TITLES[kind]}`,
    '',
    `<!-- Generated from the component specs by \`npm run docs\`; do not edit by hand. -->`,
    '',
    `${CHOSEN[kind]} chosen by \`type\` in a topology file. Fields marked (secret) are never logged.`,
    '',
  ];
  const common = registry.commonFields[kind];
  if (common) {
    lines.push(`## Fields every ${kind} has`, '', 'The framework handles these itself, around the component.', '', ...TABLE_HEAD, ...fieldRows(common), '');
  }
  for (const def of registry.definitions(kind)) {
    if (def.type.startsWith('test-')) continue;
    lines.push(`## \`${def.type}\``, '', `${def.summary}`, '', def.description.trim(), '');
    if (Object.keys(def.fields).length > 0) lines.push(...TABLE_HEAD, ...fieldRows(def.fields), '');
    for (const example of def.examples ?? []) lines.push('```yaml', example.trim(), '```', '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

export const COMPONENT_PAGES: Record<ComponentKind, string> = { source: 'docs/sources.md', operator: 'docs/operators.md', sink: 'docs/sinks.md', state: 'docs/state.md' };
