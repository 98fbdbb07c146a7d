import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serbianToCyrillic, toAsciiLocalPart } from '../../../randomuser/transliterate.ts';

test('Serbian Latin becomes Serbian Cyrillic, digraphs included', () => {
  assert.equal(serbianToCyrillic('Đorđe Petrović'), 'Ђорђе Петровић');
  assert.equal(serbianToCyrillic('Ljiljana Njegoš Džajić'), 'Љиљана Његош Џајић');
  assert.equal(serbianToCyrillic('4. sokače'), '4. сокаче');
});

test('names become the ASCII of an e-mail local part', () => {
  assert.equal(toAsciiLocalPart("O'Connor"), 'oconnor');
  assert.equal(toAsciiLocalPart('Jean-Luc'), 'jean-luc');
  assert.equal(toAsciiLocalPart('Мар’яна'), 'maryana');
  assert.equal(toAsciiLocalPart('Йосип Їжак'), 'yosypyizhak');
  assert.equal(toAsciiLocalPart('سیامک'), 'siamk');
  assert.equal(toAsciiLocalPart('Müller-Lüdenscheidt ßø'), 'muller-ludenscheidtsso');
  assert.equal(toAsciiLocalPart('de Vries'), 'devries');
});
