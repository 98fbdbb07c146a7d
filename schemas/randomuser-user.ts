/**
 * The `randomuser-user` schema: one RandomUser 1.4 user as the user pipeline's `validate` step accepts
 * it (every documented quirk allowed; what the Cassandra row needs is required), and the Avro schema
 * users are written with under `format: avro` — derived from the codec of the whole user, so the two
 * cannot drift apart. The codecs live with the RandomUser-compatible server in randomuser/codec.ts.
 */
import { registerSchema } from '../topology/functions.ts';
import { RandomUser, RandomUserRecord } from '../randomuser/codec.ts';
import { avroSchemaOf } from './avro-schema.ts';

/** The Avro schema of a RandomUser user, derived from `RandomUserRecord`. */
export const RANDOMUSER_USER_AVRO = avroSchemaOf(RandomUserRecord, { name: 'User', namespace: 'me.randomuser', doc: 'A RandomUser 1.4 user (randomuser/codec.ts RandomUserRecord).' });

registerSchema('randomuser-user', {
  summary: 'A RandomUser 1.4 user with what a created_users row needs (login.uuid a UUID, name, location, email, dob, registered, picture).',
  codec: RandomUser as never,
  avro: RANDOMUSER_USER_AVRO,
});
