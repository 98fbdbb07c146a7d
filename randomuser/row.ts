/**
 * The reference mapping of a RandomUser user to a row of Cassandra's `spark_streams.created_users`, field for
 * field as the original demo's `format_data`, with `id` the user's own `login.uuid` so that a replayed user
 * overwrites its row instead of adding one. Integration tests compare real rows against it.
 */
import type { RandomUser } from './codec.ts';

export interface CreatedUserRow {
  id: string;
  first_name: string;
  last_name: string;
  gender: string;
  address: string;
  post_code: string;
  email: string;
  username: string;
  dob: string;
  registered_date: string;
  phone: string;
  picture: string;
}

export function toCreatedUserRow(user: RandomUser): CreatedUserRow {
  const { street, city, state, country, postcode } = user.location;
  return {
    id: user.login.uuid,
    first_name: user.name.first,
    last_name: user.name.last,
    gender: user.gender,
    address: `${street.number} ${street.name}, ${city}, ${state}, ${country}`,
    post_code: String(postcode),
    email: user.email,
    username: user.login.username,
    dob: user.dob.date,
    registered_date: user.registered.date,
    phone: user.phone,
    picture: user.picture.medium,
  };
}
