/**
 * RandomUser-shaped users (https://randomuser.me/api/ `results[]` entries), deterministic, with the
 * quirks the mapping must survive: numeric and text postcodes, Persian, Cyrillic and accented
 * names, apostrophes.
 */
import type { GeneratedUser } from '../../../randomuser/generator.ts';
import { toCreatedUserRow } from '../../../randomuser/row.ts';
/** A user as the API writes it, with any nationality and gender text (the quirks the mapping must survive). */
export type RandomUser = Omit<GeneratedUser, 'gender' | 'nat'> & { gender: string; nat: string };

const PEOPLE = [
  { nat: 'IR', first: 'آرمیتا', last: 'رضاییان', street: 'میدان امام حسین', city: 'اراک', state: 'کرمان', country: 'Iran', postcode: 69217, gender: 'female' },
  { nat: 'UA', first: 'Мирослав', last: 'Ковальчук', street: 'Січових Стрільців', city: 'Житомир', state: 'Київська', country: 'Ukraine', postcode: 12741, gender: 'male' },
  { nat: 'IE', first: 'Seán', last: "O'Connor", street: "St. Patrick's Road", city: 'Tralee', state: 'Kerry', country: 'Ireland', postcode: 'A92 F3C8', gender: 'male' },
  { nat: 'GB', first: 'Chloë', last: "D'Souza", street: 'Mill Lane', city: 'Stoke-on-Trent', state: 'Cumbria', country: 'United Kingdom', postcode: 'W1 2AB', gender: 'female' },
  { nat: 'FR', first: 'Léa', last: 'Lefèvre', street: "Rue de L'Abbé-Grégoire", city: 'Nîmes', state: 'Haute-Saône', country: 'France', postcode: 1305, gender: 'female' },
  { nat: 'RS', first: 'Вукашин', last: 'Јовановић', street: 'Бранка Радичевића', city: 'Ниш', state: 'Нишавски', country: 'Serbia', postcode: 91284, gender: 'male' },
];

const hex = (n: number, width: number): string => (n >>> 0).toString(16).padStart(width, '0').slice(-width);

export function randomUser(i: number): RandomUser {
  const p = PEOPLE[i % PEOPLE.length];
  const uuid = `${hex(i * 2654435761, 8)}-${hex(i, 4)}-4${hex(i * 7, 3)}-a${hex(i * 13, 3)}-${hex(i * 40503, 12)}`;
  const year = 1950 + (i % 50);
  return {
    gender: p.gender,
    name: { title: p.gender === 'female' ? 'Ms' : 'Mr', first: p.first, last: p.last },
    location: {
      street: { number: 1 + ((i * 37) % 9999), name: p.street },
      city: p.city,
      state: p.state,
      country: p.country,
      postcode: p.postcode,
      coordinates: { latitude: '-69.8246', longitude: '134.8719' },
      timezone: { offset: '+9:30', description: 'Adelaide, Darwin' },
    },
    email: `${p.first.toLowerCase()}.${i}@example.com`,
    login: { uuid, username: `user${i}`, password: 'hunter2', salt: 'ab12', md5: 'x', sha1: 'y', sha256: 'z' },
    dob: { date: `${year}-03-${String(1 + (i % 28)).padStart(2, '0')}T10:20:30.456Z`, age: 2026 - year },
    registered: { date: '2015-11-04T08:04:05.123Z', age: 11 },
    phone: `(0${i % 10}) ${1000 + (i % 9000)}-${2000 + (i % 7000)}`,
    cell: '0123-456-789',
    id: { name: p.nat === 'IE' ? 'PPS' : '', value: p.nat === 'IE' ? '1234567T' : null },
    picture: { large: `https://randomuser.me/api/portraits/women/${i % 100}.jpg`, medium: `https://randomuser.me/api/portraits/med/women/${i % 100}.jpg`, thumbnail: 'https://randomuser.me/api/portraits/thumb/women/1.jpg' },
    nat: p.nat,
  };
}

/** The user pipeline's mapping, as its topology file writes it. */
export const USER_MAPPING_YAML = `
type: mapping
fields:
  id: login.uuid
  first_name: name.first
  last_name: name.last
  gender: gender
  address: "{location.street.number} {location.street.name}, {location.city}, {location.state}, {location.country}"
  post_code: { path: location.postcode, as: string }
  email: email
  username: login.username
  dob: dob.date
  registered_date: registered.date
  phone: phone
  picture: picture.medium
`;

/** What that mapping must produce: the reference row mapping (randomuser/row.ts). */
export function referenceRow(user: RandomUser): Record<string, unknown> {
  return { ...toCreatedUserRow(user) };
}
