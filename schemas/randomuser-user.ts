/**
 * The `randomuser-user` schema: one RandomUser 1.4 user as the user pipeline's `validate` step accepts
 * it (every documented quirk allowed; what the Cassandra row needs is required). The codec itself lives
 * with the RandomUser-compatible server in randomuser/codec.ts.
 */
import { registerSchema } from '../topology/functions.ts';
import { RandomUser } from '../randomuser/codec.ts';

registerSchema('randomuser-user', {
  summary: 'A RandomUser 1.4 user with what a created_users row needs (login.uuid a UUID, name, location, email, dob, registered, picture).',
  codec: RandomUser as never,
});
