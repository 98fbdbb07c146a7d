import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isRight, type Either } from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import { RandomUser } from '../../../randomuser/codec.ts';
import { MAX_RESULTS, generateUsers } from '../../../randomuser/generator.ts';
import { formatErrors } from '../../../topology/errors.ts';

/** The problems `RandomUser` reports for `value`, one line each, or [] when it is accepted. */
function problems(value: unknown): string[] {
  const decoded: Either<t.Errors, unknown> = RandomUser.decode(value);
  return isRight(decoded) ? [] : formatErrors(decoded.left);
}

/** A generated user, as plain JSON, with `change` applied. */
function userWith(change: (user: any) => void): unknown {
  const user = JSON.parse(JSON.stringify(generateUsers({ seed: 'codec', results: 1 }).users[0]));
  change(user);
  return user;
}

describe('RandomUser codec', () => {
  test('accepts 10,000 generated users, as they travel (through JSON)', () => {
    const users = [1, 2].flatMap((page) => JSON.parse(JSON.stringify(generateUsers({ seed: 'accept', page, results: MAX_RESULTS }).users)));
    assert.equal(users.length, 10_000);
    const rejected = users.map(problems).filter((found: string[]) => found.length > 0);
    assert.equal(rejected.length, 0, `first rejection: ${rejected[0]}`);
  });

  test('accepts every real quirk', () => {
    const quirks: Record<string, (user: any) => void> = {
      'numeric postcode': (u) => (u.location.postcode = 69217),
      'postcode with letters and a space': (u) => (u.location.postcode = 'SW1A 1AA'),
      'null id.value and empty id.name': (u) => (u.id = { name: '', value: null }),
      'Persian text': (u) => Object.assign(u.name, { first: 'آرسین', last: 'کامروا' }),
      'Cyrillic text': (u) => Object.assign(u.location, { city: 'Чортків', state: 'Житомирська' }),
      'apostrophes and hyphens': (u) => Object.assign(u.name, { first: 'Jean-Luc', last: "O'Connor" }),
      'missing blocks the row does not read': (u) => ['cell', 'id', 'nat'].forEach((key) => delete u[key]),
      'unknown extra fields': (u) => (u.extra = { anything: [1, 2] }),
      'an uppercase UUID': (u) => (u.login.uuid = u.login.uuid.toUpperCase()),
    };
    for (const [label, change] of Object.entries(quirks)) assert.deepEqual(problems(userWith(change)), [], label);
  });

  test('rejects what the row cannot be made from, naming the path', () => {
    const cases: [string, (user: any) => void, string][] = [
      ['missing login.uuid', (u) => delete u.login.uuid, 'login.uuid: expected a UUID, got nothing'],
      ['a uuid that is not a UUID', (u) => (u.login.uuid = 'not-a-uuid'), 'login.uuid: expected a UUID, got "not-a-uuid"'],
      ['a uuid with a trailing newline', (u) => (u.login.uuid += '\n'), 'login.uuid: expected a UUID'],
      ['name.first a number', (u) => (u.name.first = 42), 'name.first: expected string, got 42'],
      ['street.number a string', (u) => (u.location.street.number = 'twelve'), 'location.street.number: expected number, got "twelve"'],
      ['a null postcode', (u) => (u.location.postcode = null), 'location.postcode: expected a postcode (string or number), got null'],
      ['no name block', (u) => delete u.name, 'name: expected a name { first, last }, got nothing'],
      ['no location block', (u) => delete u.location, 'location: expected a location'],
      ['no email', (u) => delete u.email, 'email: expected string, got nothing'],
      ['no dob block', (u) => delete u.dob, 'dob: expected a dob { date }, got nothing'],
      ['no registered block', (u) => delete u.registered, 'registered: expected a registered { date }, got nothing'],
      ['no picture.medium', (u) => delete u.picture.medium, 'picture.medium: expected string, got nothing'],
      ['no phone', (u) => delete u.phone, 'phone: expected string, got nothing'],
    ];
    for (const [label, change, expected] of cases) {
      const found = problems(userWith(change));
      assert.ok(found.some((line) => line.startsWith(expected)), `${label}: got ${JSON.stringify(found)}`);
    }
  });

  test('rejects an error body and non-objects', () => {
    assert.ok(problems({ error: 'Uh oh, something has gone wrong.' }).length > 0);
    assert.deepEqual(problems(null), ['(top level): expected a RandomUser user, got null']);
    assert.ok(problems('{"gender":"male"}').length > 0);
  });
});
