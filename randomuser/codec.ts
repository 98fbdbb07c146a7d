/**
 * `RandomUser`: one RandomUser 1.4 user as the pipeline's validate step accepts it.
 *
 * It checks exactly what `toCreatedUserRow` (row.ts) reads, with the real service's quirks allowed: a
 * postcode that is a string or a number, text in any script, apostrophes. Everything the row does not
 * read (cell, id, nat, coordinates, timezone, login's hashes...) may be missing or odd, and extra fields
 * are kept: a user is never rejected for a field nobody uses.
 *
 * Rejected: a missing or non-UUID `login.uuid` (it becomes the Cassandra primary key), a wrong type where
 * the row reads (e.g. `name.first` a number), a missing block the row needs (name, location, email,
 * login, dob, registered, phone, picture).
 *
 * ```ts
 * const decoded = RandomUser.decode(JSON.parse(body).results[0]);
 * if (isLeft(decoded)) deadLetter(record, formatErrors(decoded.left).join('; '));
 * ```
 */
import * as t from 'io-ts';
import { predicateType } from '../operators/schema-check.ts';
import { withAvroType } from '../schemas/avro-schema.ts';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Any RFC 4122 layout (Cassandra's `uuid` type accepts every version); RandomUser sends v4. */
export const Uuid = withAvroType(
  predicateType('a UUID', (u): u is string => typeof u === 'string' && UUID_PATTERN.test(u)),
  'string',
);

/**
 * RandomUser sends a string for some nationalities ("SW1A 1AA", "02134") and a number for others (69217).
 * In Avro a union of both: a double carries any finite number exactly as JavaScript has it.
 */
export const Postcode = withAvroType(
  predicateType('a postcode (string or number)', (u): u is string | number => typeof u === 'string' || (typeof u === 'number' && Number.isFinite(u))),
  ['string', 'double'],
);

export const RandomUser = t.type(
  {
    gender: t.string,
    name: t.type({ first: t.string, last: t.string }, 'a name { first, last }'),
    location: t.type(
      {
        street: t.type({ number: t.number, name: t.string }, 'a street { number, name }'),
        city: t.string,
        state: t.string,
        country: t.string,
        postcode: Postcode,
      },
      'a location { street, city, state, country, postcode }',
    ),
    email: t.string,
    login: t.type({ uuid: Uuid, username: t.string }, 'a login { uuid, username }'),
    dob: t.type({ date: t.string }, 'a dob { date }'),
    registered: t.type({ date: t.string }, 'a registered { date }'),
    phone: t.string,
    picture: t.type({ medium: t.string }, 'a picture { medium }'),
  },
  'a RandomUser user',
);

export type RandomUser = t.TypeOf<typeof RandomUser>;

/**
 * `RandomUserRecord`: the whole RandomUser 1.4 user, every field the service sends (the generator's
 * `GeneratedUser`), with its quirks: a postcode that is text or a number, an `id.value` that is null for
 * some nationalities. It is the shape a user has on a topic in Avro: the `randomuser-user` schema's Avro
 * schema is derived from it (schemas/randomuser-user.ts), so it is the one place that shape is written.
 * Unlike `RandomUser` (what `validate` requires) every field must be there: an Avro record has them all.
 */
export const RandomUserRecord = t.type(
  {
    gender: t.string,
    name: t.type({ title: t.string, first: t.string, last: t.string }),
    location: t.type({
      street: t.type({ number: t.Int, name: t.string }),
      city: t.string,
      state: t.string,
      country: t.string,
      postcode: Postcode,
      coordinates: t.type({ latitude: t.string, longitude: t.string }),
      timezone: t.type({ offset: t.string, description: t.string }),
    }),
    email: t.string,
    login: t.type({ uuid: Uuid, username: t.string, password: t.string, salt: t.string, md5: t.string, sha1: t.string, sha256: t.string }),
    dob: t.type({ date: t.string, age: t.Int }),
    registered: t.type({ date: t.string, age: t.Int }),
    phone: t.string,
    cell: t.string,
    id: t.type({ name: t.string, value: t.union([t.string, t.null]) }),
    picture: t.type({ large: t.string, medium: t.string, thumbnail: t.string }),
    nat: t.string,
  },
  'a whole RandomUser user',
);

export type RandomUserRecord = t.TypeOf<typeof RandomUserRecord>;
