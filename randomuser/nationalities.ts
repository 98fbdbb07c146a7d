/**
 * The 21 RandomUser nationalities: how each one's users look (country name, postcode shape, phone and ID
 * formats, script) and, built lazily once per nationality, the pools of names, streets, cities and states
 * the generator picks from.
 *
 * Pools are sampled from faker's locale data with a fixed faker seed, so they are the same in every
 * process; calling faker per user instead would be several times too slow for the 20k users/s target.
 */
import {
  Faker, base, da, de, en, en_AU, en_CA, en_GB, en_IE, en_IN, en_US, es, es_MX, fa, fi, fr, fr_CH, nb_NO, nl, pt_BR,
  sr_RS_latin, tr, uk,
  type LocaleDefinition,
} from '@faker-js/faker';
import { mix32 } from './random.ts';
import { serbianToCyrillic, toAsciiLocalPart } from './transliterate.ts';

export const NATIONALITIES = [
  'AU', 'BR', 'CA', 'CH', 'DE', 'DK', 'ES', 'FI', 'FR', 'GB', 'IE', 'IN', 'IR', 'MX', 'NL', 'NO', 'NZ', 'RS', 'TR', 'UA', 'US',
] as const;
export type Nationality = (typeof NATIONALITIES)[number];

export function isNationality(code: string): code is Nationality {
  return (NATIONALITIES as readonly string[]).includes(code);
}

/**
 * A number in [min, max] written with `digits` digits: postcodes that would lose a leading zero as a
 * number are sent as strings ("02134"), the rest as numbers (69217), like RandomUser's mixed types.
 */
interface NumericPostcode {
  digits: number;
  min: number;
  max: number;
}
/** faker-style patterns: `#` a digit, `?` a capital letter, `*` either ("SW1A 1AA", "1234 AB"). */
interface PatternPostcode {
  patterns: readonly string[];
}

/** `blankRate`: share of users with `{ name: "", value: null }`; `nullValueRate`: share with the name but a null value. */
interface IdRule {
  name: string;
  pattern: string;
  blankRate?: number;
  nullValueRate?: number;
}

interface Profile {
  country: string;
  locale: LocaleDefinition[];
  postcode: NumericPostcode | PatternPostcode;
  phone: string;
  cell: string;
  id: IdRule;
  /** faker has Serbian only in Latin script; RandomUser's RS users are Cyrillic. */
  cyrillic?: boolean;
  /** For locales whose faker cities are invented English-sounding names. */
  cities?: readonly string[];
  states?: readonly string[] | 'counties';
  lastNames?: readonly string[];
  /** Share of first names replaced by a hyphenated French one (Jean-Luc, Marie-Claire). */
  compoundFirstNameRate?: number;
  frenchTitles?: boolean;
}

const BLANK_ID: IdRule = { name: '', pattern: '', blankRate: 1 };

const IRISH_SURNAMES = [
  'Murphy', 'Kelly', "O'Sullivan", 'Walsh', 'Smith', "O'Brien", 'Byrne', 'Ryan', "O'Connor", "O'Neill", "O'Reilly",
  'Doyle', 'McCarthy', 'Gallagher', "O'Doherty", 'Kennedy', 'Lynch', 'Murray', 'Quinn', 'Moore', 'McLoughlin',
  "O'Carroll", 'Connolly', 'Daly', "O'Connell", 'Wilson', 'Dunne', 'Brennan', 'Burke', 'Collins', 'Campbell',
  'Clarke', 'Johnston', 'Hughes', "O'Farrell", 'Fitzgerald', 'Brown', 'Martin', 'Maguire', 'Nolan', 'Flynn',
  'Thompson', "O'Callaghan", "O'Donnell", 'Duffy', "O'Mahony", 'Boyle', 'Healy', "O'Shea", 'White',
];
const IRISH_TOWNS = [
  'Dublin', 'Cork', 'Limerick', 'Galway', 'Waterford', 'Drogheda', 'Dundalk', 'Swords', 'Bray', 'Navan', 'Kilkenny',
  'Ennis', 'Carlow', 'Tralee', 'Newbridge', 'Portlaoise', 'Balbriggan', 'Naas', 'Athlone', 'Mullingar', 'Celbridge',
  'Wexford', 'Letterkenny', 'Sligo', 'Greystones', 'Clonmel', 'Malahide', 'Carrigaline', 'Leixlip', 'Tullamore',
  'Killarney', 'Arklow', 'Cobh', 'Ashbourne', 'Midleton', 'Mallow', 'Castlebar', 'Enniscorthy', 'Tramore', 'Ballina',
];
const NZ_CITIES = [
  'Auckland', 'Wellington', 'Christchurch', 'Hamilton', 'Tauranga', 'Napier', 'Dunedin', 'Palmerston North', 'Nelson',
  'Rotorua', 'Whangarei', 'New Plymouth', 'Invercargill', 'Whanganui', 'Gisborne', 'Porirua', 'Hastings', 'Upper Hutt',
  'Lower Hutt', 'Timaru', 'Taupo', 'Masterton', 'Blenheim', 'Greymouth',
];
const NZ_REGIONS = [
  'Northland', 'Auckland', 'Waikato', 'Bay of Plenty', 'Gisborne', "Hawke's Bay", 'Taranaki', 'Manawatu-Wanganui',
  'Wellington', 'Tasman', 'Nelson', 'Marlborough', 'West Coast', 'Canterbury', 'Otago', 'Southland',
];
export const FRENCH_COMPOUND_FIRST_NAMES = {
  male: ['Jean-Luc', 'Jean-Pierre', 'Jean-Marc', 'Jean-Claude', 'Jean-Baptiste', 'Jean-François', 'Pierre-Louis', 'Paul-Henri', 'Louis-Philippe', 'Jean-Michel'],
  female: ['Marie-Claire', 'Anne-Sophie', 'Marie-Louise', 'Marie-Christine', 'Anne-Laure', 'Marie-Hélène', 'Marie-France', 'Anne-Marie', 'Marie-Noëlle', 'Marie-Pierre'],
} as const;

function postcodePatterns(locale: LocaleDefinition): readonly string[] {
  const patterns = locale.location?.postcode;
  if (!Array.isArray(patterns)) throw new Error('faker locale has no postcode patterns');
  return patterns;
}

const PROFILES: Record<Nationality, Profile> = {
  AU: { country: 'Australia', locale: [en_AU, en, base], postcode: { digits: 4, min: 1000, max: 9999 }, phone: '0#-####-####', cell: '04##-###-###', id: { name: 'TFN', pattern: '#########' } },
  BR: { country: 'Brazil', locale: [pt_BR, en, base], postcode: { digits: 5, min: 10000, max: 99999 }, phone: '(##) ####-####', cell: '(##) #####-####', id: { name: 'CPF', pattern: '###.###.###-##' } },
  CA: {
    country: 'Canada', locale: [en_CA, en, base], postcode: { patterns: postcodePatterns(en_CA) }, phone: '###-###-####', cell: '###-###-####',
    id: { name: 'SIN', pattern: '### ### ###' }, compoundFirstNameRate: 0.05,
  },
  CH: {
    country: 'Switzerland', locale: [fr_CH, fr, en, base], postcode: { digits: 4, min: 1000, max: 9999 }, phone: '07# ### ## ##', cell: '07# ### ## ##',
    id: { name: 'AVS', pattern: '756.####.####.##' }, compoundFirstNameRate: 0.1, frenchTitles: true,
  },
  DE: { country: 'Germany', locale: [de, en, base], postcode: { digits: 5, min: 1000, max: 99999 }, phone: '0###-#######', cell: '017#-#######', id: { name: 'SVNR', pattern: '## ###### ? ###' } },
  DK: { country: 'Denmark', locale: [da, en, base], postcode: { digits: 4, min: 1000, max: 9990 }, phone: '########', cell: '########', id: { name: 'CPR', pattern: '######-####' } },
  ES: { country: 'Spain', locale: [es, en, base], postcode: { digits: 5, min: 1000, max: 52999 }, phone: '9##-###-###', cell: '6##-###-###', id: { name: 'DNI', pattern: '########-?' } },
  FI: { country: 'Finland', locale: [fi, en, base], postcode: { digits: 5, min: 100, max: 99999 }, phone: '0#-###-###', cell: '04#-###-##-##', id: { name: 'HETU', pattern: '######-###?' } },
  FR: {
    country: 'France', locale: [fr, en, base], postcode: { digits: 5, min: 1000, max: 95999 }, phone: '0#-##-##-##-##', cell: '06-##-##-##-##',
    id: { name: 'INSEE', pattern: '############ ##' }, compoundFirstNameRate: 0.1, frenchTitles: true,
  },
  GB: { country: 'United Kingdom', locale: [en_GB, en, base], postcode: { patterns: postcodePatterns(en_GB) }, phone: '0##### #####', cell: '07### ######', id: { name: 'NINO', pattern: '?? ## ## ## ?' }, states: 'counties' },
  IE: {
    country: 'Ireland', locale: [en_IE, en, base], postcode: { patterns: postcodePatterns(en_IE) }, phone: '0##-###-####', cell: '08#-###-####',
    id: BLANK_ID, states: 'counties', cities: IRISH_TOWNS, lastNames: IRISH_SURNAMES,
  },
  IN: { country: 'India', locale: [en_IN, en, base], postcode: { digits: 6, min: 100000, max: 999999 }, phone: '##########', cell: '##########', id: { name: 'UIDAI', pattern: '############' } },
  IR: { country: 'Iran', locale: [fa, en, base], postcode: { digits: 5, min: 10000, max: 99999 }, phone: '0##-########', cell: '09##-###-####', id: BLANK_ID },
  MX: { country: 'Mexico', locale: [es_MX, es, en, base], postcode: { digits: 5, min: 1000, max: 99999 }, phone: '(###) ### ####', cell: '(###) ### ####', id: { name: 'NSS', pattern: '## ## ## ####-#' } },
  NL: { country: 'Netherlands', locale: [nl, en, base], postcode: { patterns: postcodePatterns(nl) }, phone: '(0##) #######', cell: '(06) ########', id: { name: 'BSN', pattern: '########', blankRate: 0.5 } },
  NO: { country: 'Norway', locale: [nb_NO, en, base], postcode: { digits: 4, min: 1, max: 9991 }, phone: '########', cell: '4#######', id: { name: 'FN', pattern: '###########' } },
  NZ: { country: 'New Zealand', locale: [en, base], postcode: { digits: 4, min: 1000, max: 9999 }, phone: '(###)-###-####', cell: '(###)-###-####', id: BLANK_ID, cities: NZ_CITIES, states: NZ_REGIONS },
  RS: { country: 'Serbia', locale: [sr_RS_latin, en, base], postcode: { digits: 5, min: 10000, max: 39999 }, phone: '0##-####-###', cell: '06#-####-###', id: { name: 'SID', pattern: '#########' }, cyrillic: true },
  TR: { country: 'Turkey', locale: [tr, en, base], postcode: { digits: 5, min: 1000, max: 81999 }, phone: '(###)-###-####', cell: '(###)-###-####', id: { name: 'TCKN', pattern: '###########' } },
  UA: { country: 'Ukraine', locale: [uk, en, base], postcode: { digits: 5, min: 1000, max: 99999 }, phone: '(0##) ###-####', cell: '(09#) ###-####', id: { name: 'INN', pattern: '##########' } },
  US: { country: 'United States', locale: [en_US, en, base], postcode: { digits: 5, min: 501, max: 99950 }, phone: '(###) ###-####', cell: '(###) ###-####', id: { name: 'SSN', pattern: '###-##-####', nullValueRate: 0.05 } },
};

/** A name as shown, and the ASCII form its owner's e-mail address is made of. */
export interface Name {
  text: string;
  ascii: string;
}

export interface NationalityData {
  nat: Nationality;
  country: string;
  postcode: NumericPostcode | PatternPostcode;
  phone: string;
  cell: string;
  id: IdRule;
  compoundFirstNameRate: number;
  frenchTitles: boolean;
  firstNames: { male: Name[]; female: Name[] };
  lastNames: { male: Name[]; female: Name[] };
  streets: string[];
  cities: string[];
  states: string[];
}

/** Up to `draws` distinct values of `draw()`. */
function sample(draws: number, draw: () => string): string[] {
  const values = new Set<string>();
  for (let i = 0; i < draws; i++) values.add(draw());
  return [...values];
}

function buildNationality(nat: Nationality): NationalityData {
  const profile = PROFILES[nat];
  // A private instance: seeding the shared locale instances would disturb anyone else using faker.
  const faker = new Faker({ locale: profile.locale });
  faker.seed(mix32(nat.charCodeAt(0) * 256 + nat.charCodeAt(1)));
  const script = profile.cyrillic ? serbianToCyrillic : (text: string) => text;
  const names = (latin: string[]): Name[] => latin.map((text) => ({ text: script(text), ascii: toAsciiLocalPart(text) || 'user' }));
  const lastNames = (sex: 'male' | 'female') => names(profile.lastNames ? [...profile.lastNames] : sample(600, () => faker.person.lastName(sex)));
  const states = profile.states === 'counties' ? sample(200, () => faker.location.county()) : profile.states ? [...profile.states] : sample(200, () => faker.location.state());
  return {
    nat,
    country: profile.country,
    postcode: profile.postcode,
    phone: profile.phone,
    cell: profile.cell,
    id: profile.id,
    compoundFirstNameRate: profile.compoundFirstNameRate ?? 0,
    frenchTitles: profile.frenchTitles ?? false,
    firstNames: { male: names(sample(400, () => faker.person.firstName('male'))), female: names(sample(400, () => faker.person.firstName('female'))) },
    lastNames: { male: lastNames('male'), female: lastNames('female') },
    streets: sample(400, () => faker.location.street()).map(script),
    cities: (profile.cities ? [...profile.cities] : sample(300, () => faker.location.city())).map(script),
    states: states.map(script),
  };
}

const built = new Map<Nationality, NationalityData>();

/** The nationality's pools, built on first use (a few milliseconds each). */
export function nationalityData(nat: Nationality): NationalityData {
  let data = built.get(nat);
  if (!data) {
    data = buildNationality(nat);
    built.set(nat, data);
  }
  return data;
}
