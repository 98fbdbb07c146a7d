import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePath, kindOf, parsePath, parseTemplate, scalarText } from '../../../operators/path.ts';

test('paths parse into field names and array indexes', () => {
  assert.deepEqual(parsePath('gender'), ['gender']);
  assert.deepEqual(parsePath('name.first'), ['name', 'first']);
  assert.deepEqual(parsePath('results[0].id'), ['results', 0, 'id']);
  assert.deepEqual(parsePath('matrix[1][2]'), ['matrix', 1, 2]);
  assert.deepEqual(parsePath('first name.x-y'), ['first name', 'x-y']);
});

test('malformed paths are refused with the reason', () => {
  const cases: [string, RegExp][] = [
    ['', /a path cannot be empty/],
    ['a..b', /field name is missing before the "\." at character 3/],
    ['.a', /field name is missing before the "\." at character 1/],
    ['a.', /ends with "\."/],
    ['a[x]', /\[x\] is not an array index/],
    ['a[-1]', /\[-1\] is not an array index/],
    ['a[0', /"\[" at character 2 is not closed/],
    ['[0].a', /starts with an index/],
    ['a.[0]', /field name is missing before the "\["/],
    ['a[0]b', /expected "\." or "\[" at character 5/],
    ['a]', /"\]" cannot appear in a field name/],
    ['a{b}', /"\{" cannot appear in a field name/],
    ['name. first', /starts or ends with a space/],
    ['__proto__.x', /"__proto__" cannot be read/],
  ];
  for (const [text, reason] of cases) {
    assert.throws(() => parsePath(text), reason, `path ${JSON.stringify(text)}`);
  }
});

test('an accessor reads nested fields and array elements', () => {
  const value = { name: { first: 'Zoé' }, results: [{ id: 'a' }, { id: 'b' }], deep: { a: { b: { c: 3 } } } };
  assert.equal(compilePath('name.first')(value), 'Zoé');
  assert.equal(compilePath('results[1].id')(value), 'b');
  assert.equal(compilePath('deep.a.b.c')(value), 3);
  assert.deepEqual(compilePath('name')(value), { first: 'Zoé' });
});

test('a path that leads nowhere reads as undefined, without throwing', () => {
  const value = { name: { first: 'Zoé' }, results: [{ id: 'a' }], nothing: null, tags: ['x'] };
  const cases = ['missing', 'name.last', 'name.first.length', 'nothing.x', 'results[5].id', 'name[0]', 'tags.length', 'deep.a.b.c'];
  for (const path of cases) assert.equal(compilePath(path)(value), undefined, path);
  assert.equal(compilePath('name.first')(null), undefined);
  assert.equal(compilePath('name.first')('a string'), undefined);
});

test('inherited properties are not fields', () => {
  const value = { name: {} };
  assert.equal(compilePath('constructor')(value), undefined);
  assert.equal(compilePath('name.toString')(value), undefined);
  assert.equal(compilePath('constructor')({ constructor: 'own field' }), 'own field');
});

test('templates split into literals and placeholder paths', () => {
  assert.deepEqual(parseTemplate('{a} {b.c}, {d[0]}!'), { literals: ['', ' ', ', ', '!'], paths: ['a', 'b.c', 'd[0]'] });
  assert.deepEqual(parseTemplate('{ spaced.path }'), { literals: ['', ''], paths: ['spaced.path'] });
});

test('malformed templates are refused with the reason', () => {
  assert.throws(() => parseTemplate('{a} {b'), /"\{" at character 5 is not closed/);
  assert.throws(() => parseTemplate('{a} b}'), /"\}" at character 6 closes no placeholder/);
  assert.throws(() => parseTemplate('{a {b}}'), /"\{" at character 1 is not closed/);
  assert.throws(() => parseTemplate('x {} y'), /placeholder \{\}: a path cannot be empty/);
  assert.throws(() => parseTemplate('{a..b}'), /placeholder \{a\.\.b\}/);
  assert.throws(() => parseTemplate('no placeholder'), /has no \{path\} placeholder/);
});

test('scalarText and kindOf describe values', () => {
  assert.equal(scalarText(69217), '69217');
  assert.equal(scalarText(false), 'false');
  assert.equal(scalarText('x'), 'x');
  assert.equal(scalarText(null), undefined);
  assert.equal(scalarText({}), undefined);
  assert.deepEqual([undefined, null, [], {}, 'a', 1, true, Buffer.from('x')].map(kindOf), ['missing', 'null', 'an array', 'an object', 'a string', 'a number', 'a boolean', 'a Buffer']);
});
