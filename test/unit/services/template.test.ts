import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderTemplate } from '../../../services/template.ts';

test('placeholders are replaced, repeated ones everywhere, with or without inner spaces', () => {
  assert.equal(renderTemplate('a={{x}} b={{ y }} c={{x}}', { x: 1, y: 'two' }), 'a=1 b=two c=1');
});

test('text without placeholders, including other ${...} syntaxes, is left untouched', () => {
  assert.equal(renderTemplate('dir=${sys:kafka.logs.dir} {single}', {}), 'dir=${sys:kafka.logs.dir} {single}');
});

test('a placeholder without a value is an error listing every missing name', () => {
  assert.throws(() => renderTemplate('{{host}}:{{port}} {{dir}}', { host: 'h' }), /without a value: port, dir/);
});
