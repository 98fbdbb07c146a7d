import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  MAX_RESULTS, NATIONALITIES, USER_FIELDS, generateUsers, randomUserJson, randomUserResponse, type GeneratedUser,
} from '../../../randomuser/generator.ts';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const NOW = new Date('2026-11-21T12:00:00Z');

function mixedBatch(count: number): GeneratedUser[] {
  return generateUsers({ seed: 'quirks', results: count, now: NOW }).users;
}

describe('generateUsers', () => {
  test('the same seed and page give identical JSON; another page or seed gives other users', () => {
    const first = JSON.stringify(generateUsers({ seed: 'abc', page: 3, results: 50, now: NOW }));
    const again = JSON.stringify(generateUsers({ seed: 'abc', page: 3, results: 50, now: NOW }));
    assert.equal(again, first);

    const uuids = (seed: string, page: number) => generateUsers({ seed, page, results: 50, now: NOW }).users.map((u) => u.login.uuid);
    const page3 = new Set(uuids('abc', 3));
    assert.equal(uuids('abc', 4).filter((uuid) => page3.has(uuid)).length, 0);
    assert.equal(uuids('abd', 3).filter((uuid) => page3.has(uuid)).length, 0);
  });

  test('a bigger page starts with the users of a smaller one', () => {
    const small = generateUsers({ seed: 'prefix', results: 5, now: NOW }).users;
    const big = generateUsers({ seed: 'prefix', results: 20, now: NOW }).users;
    assert.deepEqual(big.slice(0, 5), small);
  });

  test('without a seed, a random 16-hex-digit seed is chosen and reproduces the page', () => {
    const page = generateUsers({ results: 3, now: NOW });
    assert.match(page.seed, /^[0-9a-f]{16}$/);
    assert.notEqual(generateUsers({ results: 3 }).seed, page.seed);
    assert.deepEqual(generateUsers({ seed: page.seed, results: 3, now: NOW }).users, page.users);
  });

  test('10,000 users have 10,000 distinct v4-shaped UUIDs', () => {
    const users = [1, 2].flatMap((page) => generateUsers({ seed: 'unique', page, results: MAX_RESULTS }).users);
    assert.equal(users.length, 10_000);
    for (const user of users) assert.match(user.login.uuid, UUID_V4);
    assert.equal(new Set(users.map((u) => u.login.uuid)).size, 10_000);
  });

  test('different nat filters under one seed do not share UUIDs', () => {
    const ir = generateUsers({ seed: 'same', nat: ['IR'], results: 100 }).users.map((u) => u.login.uuid);
    const ua = new Set(generateUsers({ seed: 'same', nat: ['UA'], results: 100 }).users.map((u) => u.login.uuid));
    assert.equal(ir.filter((uuid) => ua.has(uuid)).length, 0);
  });

  test('every user has the full 1.4 shape with the right types', () => {
    for (const user of mixedBatch(500)) {
      assert.deepEqual(Object.keys(user), [...USER_FIELDS]);
      assert.ok(user.gender === 'male' || user.gender === 'female');
      assert.deepEqual(Object.keys(user.name), ['title', 'first', 'last']);
      assert.equal(typeof user.location.street.number, 'number');
      for (const text of [user.name.first, user.name.last, user.location.street.name, user.location.city, user.location.state, user.location.country]) {
        assert.equal(typeof text, 'string');
        assert.ok(text.length > 0);
      }
      assert.match(user.location.coordinates.latitude, /^-?\d{1,2}\.\d{4}$/);
      assert.match(user.location.coordinates.longitude, /^-?\d{1,3}\.\d{4}$/);
      assert.match(user.location.timezone.offset, /^[+-]?\d{1,2}:\d{2}$/);
      assert.match(user.email, /^[a-z0-9-]+\.[a-z0-9-]+@example\.com$/);
      assert.match(user.login.md5, /^[0-9a-f]{32}$/);
      assert.match(user.login.sha1, /^[0-9a-f]{40}$/);
      assert.match(user.login.sha256, /^[0-9a-f]{64}$/);
      assert.match(user.login.salt, /^[A-Za-z0-9]{8}$/);
      assert.match(user.picture.medium, /^https:\/\/randomuser\.me\/api\/portraits\/med\/(men|women)\/\d{1,2}\.jpg$/);
      assert.ok(NATIONALITIES.includes(user.nat));
    }
  });

  test('hashes are of password + salt, and ages match the dates at `now`', async () => {
    const { createHash } = await import('node:crypto');
    const [user] = generateUsers({ seed: 'hash', results: 1, now: NOW }).users;
    assert.equal(user.login.md5, createHash('md5').update(user.login.password + user.login.salt).digest('hex'));
    assert.equal(user.login.sha256, createHash('sha256').update(user.login.password + user.login.salt).digest('hex'));
    for (const u of mixedBatch(300)) {
      const born = new Date(u.dob.date);
      const birthdayThisYear = Date.UTC(2026, born.getUTCMonth(), born.getUTCDate());
      assert.equal(u.dob.age, 2026 - born.getUTCFullYear() - (birthdayThisYear > Date.UTC(2026, 10, 21) ? 1 : 0));
      assert.ok(Date.parse(u.registered.date) > born.getTime());
    }
  });

  test('a mixed batch of 2,000 users contains every quirk of the real API', () => {
    const users = mixedBatch(2000);
    const some = (label: string, predicate: (u: GeneratedUser) => boolean) => assert.ok(users.some(predicate), `no user with ${label}`);
    some('a numeric postcode', (u) => typeof u.location.postcode === 'number');
    some('a digits-only string postcode', (u) => typeof u.location.postcode === 'string' && /^\d+$/.test(u.location.postcode));
    some('a postcode with letters and a space', (u) => typeof u.location.postcode === 'string' && /^[A-Z0-9]+ [A-Z0-9]+$/.test(u.location.postcode));
    some('a null id.value with an empty id.name', (u) => u.id.value === null && u.id.name === '');
    some('a Persian name, street and city', (u) => u.nat === 'IR' && /[\u0600-\u06ff]/.test(u.name.first + u.location.street.name + u.location.city));
    some('a Cyrillic Ukrainian name', (u) => u.nat === 'UA' && /^[\u0400-\u04ff’ -]+$/.test(u.name.last));
    some('a Cyrillic Serbian name and city', (u) => u.nat === 'RS' && /[\u0400-\u04ff]/.test(u.name.first + u.location.city) && !/[a-z]/.test(u.name.first));
    some("an apostrophe in a name (O'Connor)", (u) => /^O'[A-Z]/.test(u.name.last));
    some('a hyphen in a first name (Jean-Luc)', (u) => /^[A-Z][a-zé]+-[A-Z]/.test(u.name.first));
  });

  test('postcode types follow the nationality', () => {
    const byNat = (nat: 'GB' | 'CA' | 'NL' | 'DE' | 'AU') => generateUsers({ seed: 'pc', nat: [nat], results: 200 }).users.map((u) => u.location.postcode);
    for (const nat of ['GB', 'CA', 'NL'] as const) for (const code of byNat(nat)) assert.match(String(code), /[A-Z]/, `${nat} ${code}`);
    assert.ok(byNat('AU').every((code) => typeof code === 'number'));
    const german = byNat('DE');
    assert.ok(german.every((code) => (typeof code === 'number' ? code >= 10000 : /^0\d{4}$/.test(code))));
    assert.ok(german.some((code) => typeof code === 'string'), 'some German postcodes keep their leading zero as a string');
  });

  test('the nat filter restricts nationalities, in whatever order it lists them', () => {
    const users = generateUsers({ seed: 'nat', nat: ['UA', 'IR'], results: 300 }).users;
    assert.deepEqual(new Set(users.map((u) => u.nat)), new Set(['UA', 'IR']));
    assert.ok(users.filter((u) => u.nat === 'UA').every((u) => u.location.country === 'Ukraine'));
    assert.deepEqual(generateUsers({ seed: 'nat', nat: ['IR', 'UA'], results: 5 }).users, generateUsers({ seed: 'nat', nat: ['UA', 'IR'], results: 5 }).users);
  });

  test('the gender filter gives only that gender, with matching titles and portraits', () => {
    const women = generateUsers({ seed: 'g', gender: 'female', results: 300 }).users;
    assert.ok(women.every((u) => u.gender === 'female' && u.picture.large.includes('/women/') && u.name.title !== 'Mr'));
    const men = generateUsers({ seed: 'g', gender: 'male', results: 300 }).users;
    assert.ok(men.every((u) => u.gender === 'male' && u.picture.large.includes('/men/') && ['Mr', 'Monsieur'].includes(u.name.title)));
  });

  test('results are clamped to 1..5000 and bad pages mean page 1', () => {
    assert.equal(generateUsers({ seed: 'c', results: 9000 }).users.length, MAX_RESULTS);
    assert.equal(generateUsers({ seed: 'c', page: 8, results: MAX_RESULTS }).users.length, MAX_RESULTS);
    assert.equal(generateUsers({ seed: 'c', results: 0 }).users.length, 1);
    assert.equal(generateUsers({ seed: 'c', results: Number.NaN }).users.length, 1);
    assert.equal(generateUsers({ seed: 'c', results: 2.7 }).users.length, 2);
    assert.equal(generateUsers({ seed: 'c' }).users.length, 1);
    assert.equal(generateUsers({ seed: 'c', page: -4 }).page, 1);
  });
});

describe('randomUserResponse', () => {
  test('info carries seed, results, page and version 1.4; noinfo drops it', () => {
    const response = randomUserResponse({ seed: 'info', page: 7, results: 3 });
    assert.deepEqual(response.info, { seed: 'info', results: 3, page: 7, version: '1.4' });
    assert.equal(response.results.length, 3);
    assert.equal('info' in randomUserResponse({ seed: 'info', noinfo: true }), false);
  });

  test('inc keeps only the named blocks, exc removes them, and the values do not change', () => {
    const full = randomUserResponse({ seed: 'f', results: 2 }).results;
    const included = randomUserResponse({ seed: 'f', results: 2, inc: ['name', 'login', 'nat'] }).results;
    assert.deepEqual(Object.keys(included[0]), ['name', 'login', 'nat']);
    assert.deepEqual(included[1].login, full[1].login);
    const excluded = randomUserResponse({ seed: 'f', results: 2, exc: ['login', 'id', 'picture'] }).results;
    assert.deepEqual(Object.keys(excluded[0]), USER_FIELDS.filter((f) => !['login', 'id', 'picture'].includes(f)));
    const both = randomUserResponse({ seed: 'f', results: 1, inc: ['name', 'email'], exc: ['email'] }).results;
    assert.deepEqual(Object.keys(both[0]), ['name']);
  });

  test('randomUserJson is JSON.stringify of randomUserResponse, byte for byte', () => {
    for (const query of [{ seed: 'j', results: 2000 }, { seed: 'k', page: 4, results: 30, exc: ['login' as const], noinfo: true }, { seed: 'l', inc: ['id' as const, 'location' as const] }]) {
      const { json, users } = randomUserJson({ ...query, now: NOW });
      assert.equal(json, JSON.stringify(randomUserResponse({ ...query, now: NOW })));
      assert.equal(users, JSON.parse(json).results.length);
    }
  });
});
