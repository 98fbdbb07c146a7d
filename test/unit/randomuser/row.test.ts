import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RandomUser } from '../../../randomuser/codec.ts';
import { generateUsers } from '../../../randomuser/generator.ts';
import { toCreatedUserRow } from '../../../randomuser/row.ts';

const base: RandomUser = {
  gender: 'female',
  name: { first: 'Jennie', last: 'Nichols' },
  location: { street: { number: 8929, name: 'Valwood Pkwy' }, city: 'Billings', state: 'Michigan', country: 'United States', postcode: '63104' },
  email: 'jennie.nichols@example.com',
  login: { uuid: '7a0eed16-9430-4d68-901f-c0d4c1c3bf00', username: 'yellowpeacock117' },
  dob: { date: '1992-03-08T15:13:16.688Z' },
  registered: { date: '2007-07-09T05:51:59.390Z' },
  phone: '(272) 790-0888',
  picture: { medium: 'https://randomuser.me/api/portraits/med/women/75.jpg' },
};

describe('toCreatedUserRow', () => {
  test('maps the documented example field for field', () => {
    assert.deepEqual(toCreatedUserRow(base), {
      id: '7a0eed16-9430-4d68-901f-c0d4c1c3bf00',
      first_name: 'Jennie',
      last_name: 'Nichols',
      gender: 'female',
      address: '8929 Valwood Pkwy, Billings, Michigan, United States',
      post_code: '63104',
      email: 'jennie.nichols@example.com',
      username: 'yellowpeacock117',
      dob: '1992-03-08T15:13:16.688Z',
      registered_date: '2007-07-09T05:51:59.390Z',
      phone: '(272) 790-0888',
      picture: 'https://randomuser.me/api/portraits/med/women/75.jpg',
    });
  });

  test('a numeric postcode becomes its decimal string', () => {
    const row = toCreatedUserRow({ ...base, location: { ...base.location, postcode: 69217 } });
    assert.equal(row.post_code, '69217');
  });

  test('non-Latin text and apostrophes pass through unchanged', () => {
    const persian = toCreatedUserRow({
      ...base,
      name: { first: 'آرسین', last: 'کامروا' },
      location: { street: { number: 12, name: 'بلوار ستارخان' }, city: 'قرچک', state: 'همدان', country: 'Iran', postcode: 49185 },
    });
    assert.equal(persian.first_name, 'آرسین');
    assert.equal(persian.address, '12 بلوار ستارخان, قرچک, همدان, Iran');
    const irish = toCreatedUserRow({ ...base, name: { first: 'Jean-Luc', last: "O'Connor" }, location: { ...base.location, city: "Hawke's Bay" } });
    assert.equal(irish.last_name, "O'Connor");
    assert.equal(irish.first_name, 'Jean-Luc');
    assert.equal(irish.address, "8929 Valwood Pkwy, Hawke's Bay, Michigan, United States");
  });

  test('every row of a generated batch has only strings, and its id is the login uuid', () => {
    for (const user of generateUsers({ seed: 'rows', results: 500 }).users) {
      const row = toCreatedUserRow(user);
      assert.equal(Object.keys(row).length, 12);
      for (const [column, value] of Object.entries(row)) assert.equal(typeof value, 'string', column);
      assert.equal(row.id, user.login.uuid);
      assert.equal(row.post_code, String(user.location.postcode));
      assert.ok(row.address.startsWith(`${user.location.street.number} ${user.location.street.name}, `));
    }
  });
});
