/**
 * A deterministic generator of RandomUser 1.4 users: the same (seed, page, results, nat, gender) gives the
 * same users every time, with the real service's quirks (numeric and string postcodes, blank IDs,
 * Persian and Cyrillic text, apostrophes and hyphens in names).
 *
 * ```ts
 * const { users } = generateUsers({ seed: 'abc', page: 2, results: 100, nat: ['IR', 'UA'] });
 * const body = randomUserResponse({ seed: 'abc', results: 10, exc: ['login'] });
 * ```
 *
 * User `i` of a page depends only on (seed, page, i, nat filter, gender filter), never on `results`, so a
 * bigger page starts with the users of a smaller one. Within one (seed, filters) no two users share a
 * `login.uuid` (see `uuidFor`). Ages are computed at `now` (default: today, UTC),
 * so they move on a birthday while the dates stay fixed.
 *
 * See also: nationalities.ts (what each nationality looks like), server.ts (serves this over HTTP).
 */
import { hash } from 'node:crypto';
import { type Name, type Nationality, NATIONALITIES, FRENCH_COMPOUND_FIRST_NAMES, nationalityData, type NationalityData } from './nationalities.ts';
import { Random, mix32, randomSeed, seedKey, uuidFor, type SeedKey } from './random.ts';

export { NATIONALITIES, isNationality, type Nationality } from './nationalities.ts';

export const MAX_RESULTS = 5000;
export const API_VERSION = '1.4';

export type Gender = 'male' | 'female';

/** The top-level blocks `inc`/`exc` select, in the order RandomUser writes them. */
export const USER_FIELDS = ['gender', 'name', 'location', 'email', 'login', 'dob', 'registered', 'phone', 'cell', 'id', 'picture', 'nat'] as const;
export type UserField = (typeof USER_FIELDS)[number];

export interface GeneratedUser {
  gender: Gender;
  name: { title: string; first: string; last: string };
  location: {
    street: { number: number; name: string };
    city: string;
    state: string;
    country: string;
    postcode: string | number;
    coordinates: { latitude: string; longitude: string };
    timezone: { offset: string; description: string };
  };
  email: string;
  login: { uuid: string; username: string; password: string; salt: string; md5: string; sha1: string; sha256: string };
  dob: { date: string; age: number };
  registered: { date: string; age: number };
  phone: string;
  cell: string;
  id: { name: string; value: string | null };
  picture: { large: string; medium: string; thumbnail: string };
  nat: Nationality;
}

export interface UserQuery {
  /** Any string. Without one a random 16-hex-digit seed is chosen (and reported, like the real API). */
  seed?: string;
  /** 1 or more; anything else means 1. */
  page?: number;
  /** 1..5000; less (or not a number) means 1, more means 5000, as the real API clamps. */
  results?: number;
  /** Nationalities to draw from; empty or absent means all 21. */
  nat?: readonly Nationality[];
  gender?: Gender;
  /** The moment ages are computed at; only its UTC date matters. */
  now?: Date;
}

export interface GeneratedPage {
  seed: string;
  page: number;
  users: GeneratedUser[];
}

export interface ResponseQuery extends UserQuery {
  /** Blocks to keep (all when absent or empty). */
  inc?: readonly UserField[];
  /** Blocks to drop, applied after `inc`. */
  exc?: readonly UserField[];
  /** Leave out `info`. */
  noinfo?: boolean;
}

export interface ResponseInfo {
  seed: string;
  results: number;
  page: number;
  version: typeof API_VERSION;
}

export interface RandomUserResponse {
  results: Partial<GeneratedUser>[];
  info?: ResponseInfo;
}

/** RandomUser's fixed list of time zones, assigned at random (not by country), as the real service does. */
const TIMEZONES = [
  ['-12:00', 'Eniwetok, Kwajalein'], ['-11:00', 'Midway Island, Samoa'], ['-10:00', 'Hawaii'], ['-9:00', 'Alaska'],
  ['-8:00', 'Pacific Time (US & Canada)'], ['-7:00', 'Mountain Time (US & Canada)'], ['-6:00', 'Central Time (US & Canada), Mexico City'],
  ['-5:00', 'Eastern Time (US & Canada), Bogota, Lima'], ['-4:00', 'Atlantic Time (Canada), Caracas, La Paz'], ['-3:30', 'Newfoundland'],
  ['-3:00', 'Brazil, Buenos Aires, Georgetown'], ['-2:00', 'Mid-Atlantic'], ['-1:00', 'Azores, Cape Verde Islands'],
  ['0:00', 'Western Europe Time, London, Lisbon, Casablanca'], ['+1:00', 'Brussels, Copenhagen, Madrid, Paris'], ['+2:00', 'Kaliningrad, South Africa'],
  ['+3:00', 'Baghdad, Riyadh, Moscow, St. Petersburg'], ['+3:30', 'Tehran'], ['+4:00', 'Abu Dhabi, Muscat, Baku, Tbilisi'], ['+4:30', 'Kabul'],
  ['+5:00', 'Ekaterinburg, Islamabad, Karachi, Tashkent'], ['+5:30', 'Bombay, Calcutta, Madras, New Delhi'], ['+5:45', 'Kathmandu'],
  ['+6:00', 'Almaty, Dhaka, Colombo'], ['+7:00', 'Bangkok, Hanoi, Jakarta'], ['+8:00', 'Beijing, Perth, Singapore, Hong Kong'],
  ['+9:00', 'Tokyo, Seoul, Osaka, Sapporo, Yakutsk'], ['+9:30', 'Adelaide, Darwin'], ['+10:00', 'Eastern Australia, Guam, Vladivostok'],
  ['+11:00', 'Magadan, Solomon Islands, New Caledonia'], ['+12:00', 'Auckland, Wellington, Fiji, Kamchatka'],
].map(([offset, description]) => ({ offset, description }));

const USERNAME_ADJECTIVES = [
  'yellow', 'purple', 'orange', 'silver', 'golden', 'black', 'white', 'red', 'blue', 'brown', 'green', 'lazy', 'crazy',
  'heavy', 'tiny', 'big', 'small', 'happy', 'sad', 'angry', 'beautiful', 'organic', 'ticklish', 'smart', 'brave',
];
const USERNAME_ANIMALS = [
  'peacock', 'bird', 'meercat', 'rabbit', 'koala', 'tiger', 'lion', 'bear', 'wolf', 'fish', 'frog', 'goose', 'duck',
  'swan', 'elephant', 'gorilla', 'monkey', 'panda', 'leopard', 'zebra', 'snake', 'butterfly', 'ladybug', 'dog', 'cat',
  'mouse', 'ostrich', 'owl', 'kangaroo', 'buffalo', 'lizard', 'penguin', 'dolphin', 'shark', 'whale', 'horse',
];
/** Common weak passwords, the kind RandomUser hands out. */
const PASSWORDS = [
  'addison', 'buster', 'cowboys', 'hotdog', 'dragon', 'monkey', 'shadow', 'master', 'jennifer', 'hunter', 'soccer',
  'harley', 'ranger', 'jordan', 'thomas', 'tigger', 'robert', 'access', 'love', 'batman', 'trustno1', 'killer',
  'sunshine', 'iloveyou', 'princess', 'starwars', 'whatever', 'freedom', 'qwerty', 'letmein', 'football', 'baseball',
  'welcome', 'ninja', 'mustang', 'password1', 'charlie', 'donald', 'summer', 'winter', 'flower', 'cookie', 'pepper',
  'maggie', 'ginger', 'jessica', 'michael', 'chelsea', 'yankees', 'lakers', 'eagles', 'penguin', 'snoopy', 'bigdog',
  '123456', '147258', '222222', 'abc123', 'qazwsx', 'zxcvbn', 'asdfgh', 'google', 'matrix', 'marine', 'rocket',
];
const SALT_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

const DOB_FROM = Date.UTC(1944, 0, 1);
const DOB_TO = Date.UTC(2004, 11, 31);
const REGISTERED_FROM = Date.UTC(2002, 0, 1);
const REGISTERED_TO = Date.UTC(2022, 11, 31);
const THIRTEEN_YEARS_MS = 13 * 365.25 * 86_400_000;

const compiledPatterns = new Map<string, string[]>();

/** A pattern split into runs of `#`, `?` or `*` and literal text, so a run of digits costs one draw. */
function compilePattern(pattern: string): string[] {
  let parts = compiledPatterns.get(pattern);
  if (!parts) {
    parts = pattern.match(/#+|\?+|\*+|[^#?*]+/g) ?? [];
    compiledPatterns.set(pattern, parts);
  }
  return parts;
}

function digits(count: number, random: Random): string {
  let out = '';
  for (let left = count; left > 0; left -= 9) {
    const width = Math.min(left, 9);
    out += String(random.int(10 ** width)).padStart(width, '0');
  }
  return out;
}

/** `#` a digit, `?` a capital letter, `*` a capital letter or digit; anything else is copied. */
function fillPattern(pattern: string, random: Random): string {
  let out = '';
  for (const part of compilePattern(pattern)) {
    const kind = part[0];
    if (kind === '#') out += digits(part.length, random);
    else if (kind === '?' || kind === '*') {
      const alphabet = kind === '?' ? UPPER : UPPER_ALNUM;
      for (let i = 0; i < part.length; i++) out += alphabet[random.int(alphabet.length)];
    } else out += part;
  }
  return out;
}

function postcode(data: NationalityData, random: Random): string | number {
  const rule = data.postcode;
  if ('patterns' in rule) return fillPattern(random.pick(rule.patterns), random);
  const value = random.between(rule.min, rule.max);
  return value < 10 ** (rule.digits - 1) ? String(value).padStart(rule.digits, '0') : value;
}

function title(gender: Gender, data: NationalityData, random: Random): string {
  if (gender === 'male') return data.frenchTitles && random.chance(0.5) ? 'Monsieur' : 'Mr';
  return random.pick(data.frenchTitles ? ['Madame', 'Mademoiselle', 'Mrs', 'Ms', 'Miss'] : ['Mrs', 'Ms', 'Miss']);
}

function firstName(gender: Gender, data: NationalityData, random: Random): Name {
  if (data.compoundFirstNameRate > 0 && random.chance(data.compoundFirstNameRate)) {
    const text = random.pick(FRENCH_COMPOUND_FIRST_NAMES[gender]);
    return { text, ascii: text.toLowerCase().normalize('NFD').replace(/\p{M}/gu, '') };
  }
  return random.pick(data.firstNames[gender]);
}

function idBlock(data: NationalityData, random: Random): GeneratedUser['id'] {
  const rule = data.id;
  if (rule.blankRate && random.chance(rule.blankRate)) return { name: '', value: null };
  if (rule.nullValueRate && random.chance(rule.nullValueRate)) return { name: rule.name, value: null };
  return { name: rule.name, value: fillPattern(rule.pattern, random) };
}

interface Today {
  year: number;
  /** month * 100 + day, to compare with a birthday. */
  monthDay: number;
}

function ageOn(today: Today, date: Date): number {
  const hadAnniversary = today.monthDay >= (date.getUTCMonth() + 1) * 100 + date.getUTCDate();
  return today.year - date.getUTCFullYear() - (hadAnniversary ? 0 : 1);
}

function saltChar(random: Random): number {
  return SALT_ALPHABET.charCodeAt(random.int(SALT_ALPHABET.length));
}

function login(key: SeedKey, page: number, index: number, random: Random): GeneratedUser['login'] {
  const uuid = uuidFor(key, page, index, random);
  const username = `${random.pick(USERNAME_ADJECTIVES)}${random.pick(USERNAME_ANIMALS)}${random.between(100, 999)}`;
  const password = random.pick(PASSWORDS);
  const salt = String.fromCharCode(
    saltChar(random), saltChar(random), saltChar(random), saltChar(random), saltChar(random), saltChar(random), saltChar(random), saltChar(random),
  );
  const salted = password + salt;
  return { uuid, username, password, salt, md5: hash('md5', salted), sha1: hash('sha1', salted), sha256: hash('sha256', salted) };
}

function picture(gender: Gender, random: Random): GeneratedUser['picture'] {
  const file = `${gender === 'male' ? 'men' : 'women'}/${random.int(100)}.jpg`;
  return {
    large: `https://randomuser.me/api/portraits/${file}`,
    medium: `https://randomuser.me/api/portraits/med/${file}`,
    thumbnail: `https://randomuser.me/api/portraits/thumb/${file}`,
  };
}

function generateUser(key: SeedKey, page: number, index: number, nats: readonly Nationality[], genderFilter: Gender | undefined, today: Today): GeneratedUser {
  // Distinct (page, index) give distinct starting states (mix32 is a bijection), hence distinct streams.
  const random = new Random(key[0] ^ mix32(page), key[1] ^ index, key[2], key[3]);
  const nat = nats[random.int(nats.length)];
  const data = nationalityData(nat);
  const gender: Gender = genderFilter ?? (random.chance(0.5) ? 'male' : 'female');
  const first = firstName(gender, data, random);
  const last = random.pick(data.lastNames[gender]);
  const dobMs = random.between(DOB_FROM, DOB_TO);
  const registeredMs = random.between(Math.max(REGISTERED_FROM, dobMs + THIRTEEN_YEARS_MS), REGISTERED_TO);
  const dob = new Date(dobMs);
  const registered = new Date(registeredMs);
  return {
    gender,
    name: { title: title(gender, data, random), first: first.text, last: last.text },
    location: {
      street: { number: random.between(1, 9999), name: random.pick(data.streets) },
      city: random.pick(data.cities),
      state: random.pick(data.states),
      country: data.country,
      postcode: postcode(data, random),
      coordinates: { latitude: (random.float() * 180 - 90).toFixed(4), longitude: (random.float() * 360 - 180).toFixed(4) },
      timezone: { ...random.pick(TIMEZONES) },
    },
    email: `${first.ascii}.${last.ascii}@example.com`,
    login: login(key, page, index, random),
    dob: { date: dob.toISOString(), age: ageOn(today, dob) },
    registered: { date: registered.toISOString(), age: ageOn(today, registered) },
    phone: fillPattern(data.phone, random),
    cell: fillPattern(data.cell, random),
    id: idBlock(data, random),
    picture: picture(gender, random),
    nat,
  };
}

function clampResults(results: number | undefined): number {
  if (results === undefined || !Number.isFinite(results) || results < 1) return 1;
  return Math.min(Math.floor(results), MAX_RESULTS);
}

function normalisePage(page: number | undefined): number {
  return page !== undefined && Number.isInteger(page) && page >= 1 && page <= 0xffffffff ? page : 1;
}

/** A page about to be generated: its resolved seed and page, and a way to make its users one by one. */
interface PagePlan {
  seed: string;
  page: number;
  results: number;
  user(index: number): GeneratedUser;
}

function planPage(query: UserQuery): PagePlan {
  const seed = query.seed ?? randomSeed();
  const page = normalisePage(query.page);
  // Canonical order, so `nat=ua,ir` and `nat=IR,UA` are the same request.
  const chosen = NATIONALITIES.filter((nat) => query.nat?.includes(nat));
  const nats = chosen.length > 0 ? chosen : NATIONALITIES;
  const now = query.now ?? new Date();
  const today = { year: now.getUTCFullYear(), monthDay: (now.getUTCMonth() + 1) * 100 + now.getUTCDate() };
  // The filters are part of the key: `nat=IR` and `nat=UA` under one seed must not share UUIDs.
  const key = seedKey(`${seed}\u0000${nats.join(',')}\u0000${query.gender ?? ''}`);
  return { seed, page, results: clampResults(query.results), user: (index) => generateUser(key, page, index, nats, query.gender, today) };
}

export function generateUsers(query: UserQuery): GeneratedPage {
  const plan = planPage(query);
  const users: GeneratedUser[] = new Array(plan.results);
  for (let i = 0; i < plan.results; i++) users[i] = plan.user(i);
  return { seed: plan.seed, page: plan.page, users };
}

/** The blocks a response keeps: `inc` (or all), minus `exc`; undefined when that is every block. */
function selectedFields(inc: readonly UserField[] = [], exc: readonly UserField[] = []): UserField[] | undefined {
  if (inc.length === 0 && exc.length === 0) return undefined;
  return USER_FIELDS.filter((field) => (inc.length === 0 || inc.includes(field)) && !exc.includes(field));
}

function pickFields(user: GeneratedUser, fields: readonly UserField[]): Partial<GeneratedUser> {
  const picked: Record<string, unknown> = {};
  for (const field of fields) picked[field] = user[field];
  return picked as Partial<GeneratedUser>;
}

/** What `GET /api/` answers: the users with `inc`/`exc` applied, and `info` unless `noinfo`. */
export function randomUserResponse(query: ResponseQuery): RandomUserResponse {
  const { seed, page, users } = generateUsers(query);
  const fields = selectedFields(query.inc, query.exc);
  const results = fields ? users.map((user) => pickFields(user, fields)) : users;
  if (query.noinfo) return { results };
  return { results, info: { seed, results: results.length, page, version: API_VERSION } };
}

/**
 * `JSON.stringify(randomUserResponse(query))`, byte for byte, made user by user so that each user's
 * objects die young: 5000 users held as one object graph cost a third of the time in the garbage collector.
 */
export function randomUserJson(query: ResponseQuery): { json: string; users: number } {
  const plan = planPage(query);
  const fields = selectedFields(query.inc, query.exc);
  const parts: string[] = new Array(plan.results);
  for (let i = 0; i < plan.results; i++) {
    const user = plan.user(i);
    parts[i] = JSON.stringify(fields ? pickFields(user, fields) : user);
  }
  const info: ResponseInfo = { seed: plan.seed, results: plan.results, page: plan.page, version: API_VERSION };
  return { json: `{"results":[${parts.join(',')}]${query.noinfo ? '' : `,"info":${JSON.stringify(info)}`}}`, users: plan.results };
}
