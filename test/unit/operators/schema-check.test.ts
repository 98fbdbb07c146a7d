/**
 * The compiled schema check (operators/schema-check.ts) against io-ts itself: on the hostile cases of the
 * validate and RandomUser codec tests and on thousands of generated hostile values, the check says
 * "certainly valid" only when io-ts decodes the value to that same object, says it for every value io-ts
 * does decode to itself (so validate really takes the fast path), and `validate` gives exactly the verdicts,
 * values and dead-letter reasons that decoding with io-ts alone gives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as t from 'io-ts';
import { RandomUser } from '../../../randomuser/codec.ts';
import { generateUsers } from '../../../randomuser/generator.ts';
import { Random } from '../../../randomuser/random.ts';
import { compileSchemaCheck, predicateType } from '../../../operators/schema-check.ts';
import { validateOperator } from '../../../operators/validate.ts';
import { errorMessage, formatErrors } from '../../../topology/errors.ts';
import { registerSchema } from '../../../topology/functions.ts';
import { fakeContext, record, run } from './helpers.ts';
import { randomUser } from './randomuser-fixture.ts';

// The validate tests' codec: a UUID whose `is` is looser than its validate, and a postcode that converts numbers.
const LooseUuid = new t.Type<string, unknown, unknown>(
  'a UUID string',
  (u): u is string => typeof u === 'string',
  (u, c) => (typeof u === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(u) ? t.success(u) : t.failure(u, c)),
  (a) => a,
);
const PostcodeText = new t.Type<string, unknown, unknown>(
  'a postcode',
  (u): u is string => typeof u === 'string',
  (u, c) => (typeof u === 'string' ? t.success(u) : typeof u === 'number' ? t.success(String(u)) : t.failure(u, c)),
  (a) => a,
);
const SmallUser = t.type({ login: t.type({ uuid: LooseUuid }), email: t.string, location: t.type({ postcode: PostcodeText }) });
// Every kind of type the compiler understands, and a union it hands to io-ts.
const Everything = t.type({
  s: t.string,
  n: t.number,
  b: t.boolean,
  nil: t.null,
  u: t.unknown,
  undef: t.undefined,
  lit: t.literal('x'),
  list: t.array(t.type({ k: t.string })),
  ro: t.readonly(t.type({ r: t.number })),
  dict: t.UnknownRecord,
  arr: t.UnknownArray,
  either: t.union([t.string, t.number]),
  even: predicateType('an even number', (u): u is number => typeof u === 'number' && u % 2 === 0),
});
const Throws = new t.Type<unknown, unknown, unknown>(
  'throws on odd numbers',
  (_u): _u is unknown => true,
  (u, _c) => {
    if (typeof u === 'number' && u % 2 === 1) throw new Error('odd');
    return t.success(u);
  },
  (a) => a,
);
const WithThrows = t.type({ x: Throws });

const CODECS = { RandomUser, SmallUser, Everything, WithThrows } as Record<string, t.Mixed>;
for (const [name, codec] of Object.entries(CODECS)) registerSchema(`schema-check-${name}`, { summary: 'test only', codec });

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

function everythingValue(): Record<string, unknown> {
  return { s: 'a', n: 1.5, b: true, nil: null, u: { any: 1 }, undef: undefined, lit: 'x', list: [{ k: 'a' }, { k: 'b' }], ro: { r: 2 }, dict: {}, arr: [], either: 3, even: 4 };
}

/** The hostile cases of the validate and RandomUser codec tests, as changes to a valid user. */
const USER_CHANGES: Array<(u: any) => void> = [
  (u) => delete u.login.uuid,
  (u) => (u.login.uuid = 'not-a-uuid'),
  (u) => (u.login.uuid += '\n'),
  (u) => (u.login.uuid = u.login.uuid.toUpperCase()),
  (u) => (u.name.first = 42),
  (u) => (u.location.street.number = 'twelve'),
  (u) => (u.location.postcode = null),
  (u) => (u.location.postcode = 69217),
  (u) => (u.location.postcode = 'SW1A 1AA'),
  (u) => (u.location.postcode = Number.NaN),
  (u) => (u.location.postcode = Number.POSITIVE_INFINITY),
  (u) => delete u.name,
  (u) => delete u.location,
  (u) => delete u.email,
  (u) => delete u.dob,
  (u) => delete u.registered,
  (u) => delete u.picture.medium,
  (u) => delete u.phone,
  (u) => ['cell', 'id', 'nat'].forEach((key) => delete u[key]),
  (u) => (u.extra = { anything: [1, 2] }),
  (u) => (u.id = { name: '', value: null }),
  (u) => (u.email = undefined),
  (u) => (u.login = []),
  (u) => (u.location.street = null),
];

const FIXED: unknown[] = [
  null,
  undefined,
  'not json',
  '{"gender":"male"}',
  42,
  [],
  [1, 2],
  { error: 'Uh oh, something has gone wrong.' },
  {},
  Object.create(null),
  { login: {}, email: 42, location: { postcode: 69217 } },
  { login: { uuid: '6f1c1a4e-4a8e-4b43-9a8f-2d1c0e5b7a11' }, email: "o'brien@example.com", location: { postcode: 69217 } },
  { login: { uuid: '6f1c1a4e-4a8e-4b43-9a8f-2d1c0e5b7a11' }, email: 'a@b', location: { postcode: '69217' } },
  { x: 1 },
  { x: 2 },
  everythingValue(),
  { ...everythingValue(), undef: 'no' },
  (() => {
    const v = everythingValue();
    delete v.undef;
    return v;
  })(),
  { ...everythingValue(), list: [{ k: 'a' }, { k: 1 }] },
  { ...everythingValue(), even: 3 },
  { ...everythingValue(), either: true },
  { ...everythingValue(), lit: 'y' },
  { ...everythingValue(), dict: [] },
  { ...everythingValue(), ro: { r: '2' } },
  ...USER_CHANGES.map((change) => {
    const user = clone(randomUser(7));
    change(user);
    return user;
  }),
  ...[0, 1, 2, 3, 4, 5].map((i) => clone(randomUser(i))),
];

/** Fresh each time, so that a value never ends up inside itself. */
const HOSTILE_VALUES: Array<() => unknown> = [null, undefined, '', ' ', 'x\n', 0, -0, 1, 2, 3, Number.NaN, Number.POSITIVE_INFINITY, true, false, 'a@b', '6f1c1a4e-4a8e-4b43-9a8f-2d1c0e5b7a11', 'x']
  .map((v) => () => v)
  .concat([() => [], () => [1], () => ({}), () => ({ k: 'a' }), () => Object.create(null)]);

/** Paths of every value inside `v` (objects and arrays), so a change can hit any depth. */
function paths(v: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (v === null || typeof v !== 'object') return [prefix];
  const entries = Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v);
  return [prefix, ...entries.flatMap(([k, x]) => paths(x, [...prefix, k]))];
}

/** `base` with one to three random changes: a value replaced by a hostile one, a key deleted or added. */
function mutate(base: unknown, random: Random): unknown {
  let value = clone(base);
  // clone drops undefined members: put them back for the codec that needs them.
  if (base !== null && typeof base === 'object' && 'undef' in base) (value as Record<string, unknown>).undef = undefined;
  for (let n = random.between(1, 3); n > 0; n--) {
    const path = random.pick(paths(value));
    const replacement = random.pick(HOSTILE_VALUES)();
    if (path.length === 0) {
      value = replacement;
      continue;
    }
    let parent = value as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
    const last = path[path.length - 1];
    const action = random.int(3);
    if (action === 0) parent[last] = replacement;
    else if (action === 1 && !Array.isArray(parent)) delete parent[last];
    else if (!Array.isArray(parent)) parent[`extra${random.int(5)}`] = replacement;
  }
  return value;
}

function generated(): unknown[] {
  const random = Random.fromSeed('schema-check');
  const bases: unknown[] = [...generateUsers({ seed: 'schema-check', results: 50 }).users.map(clone), randomUser(3), everythingValue(), { x: 2 }, FIXED[11]];
  const out: unknown[] = [];
  for (let i = 0; i < 4000; i++) out.push(mutate(random.pick(bases), random));
  return out;
}

const INPUTS = [...FIXED, ...generated()];

/** What decoding with io-ts alone gives: 'same' (decodes to itself), 'converted', the problems, or the exception's message. */
function reference(codec: t.Mixed, value: unknown): { outcome: 'same' | 'converted'; value: unknown } | { outcome: 'rejected'; reason: string } | { outcome: 'threw'; message: string } {
  try {
    const result = codec.decode(value);
    if (result._tag === 'Left') return { outcome: 'rejected', reason: formatErrors(result.left).join('; ') };
    return { outcome: result.right === value ? 'same' : 'converted', value: result.right };
  } catch (error) {
    return { outcome: 'threw', message: errorMessage(error) };
  }
}

test('the check says "certainly valid" exactly when io-ts decodes the value to that same object', () => {
  const counts: Record<string, number> = {};
  for (const [name, codec] of Object.entries(CODECS)) {
    const check = compileSchemaCheck(codec);
    for (const value of INPUTS) {
      const expected = reference(codec, value);
      let certain: boolean;
      try {
        certain = check(value);
      } catch {
        certain = false;
      }
      const label = `${name} on ${JSON.stringify(value)?.slice(0, 200)}`;
      if (certain) assert.equal(expected.outcome, 'same', `${label}: the check passed a value io-ts does not decode to itself`);
      // Every codec here but the union's member is compiled without io-ts, so every value io-ts keeps as it is takes the fast path.
      if (expected.outcome === 'same' && name !== 'Everything') assert.ok(certain, `${label}: io-ts decodes it to itself, but the check was not sure`);
      counts[`${name} ${expected.outcome} ${certain}`] = (counts[`${name} ${expected.outcome} ${certain}`] ?? 0) + 1;
    }
  }
  // The inputs really cover both sides for each codec (the generator is not producing only garbage).
  for (const name of Object.keys(CODECS)) {
    assert.ok((counts[`${name} same true`] ?? 0) > 0, `${name}: some values pass`);
    assert.ok((counts[`${name} rejected false`] ?? 0) > 50, `${name}: many values are rejected (${counts[`${name} rejected false`]})`);
  }
  assert.ok((counts['SmallUser converted false'] ?? 0) > 0, 'a converting codec converts some values');
  assert.ok((counts['WithThrows threw false'] ?? 0) > 0, 'a throwing codec throws on some values');
});

test('validate with the compiled check gives the verdicts, values and reasons of io-ts alone', async () => {
  for (const [name, codec] of Object.entries(CODECS)) {
    const { deadLetters } = fakeContext();
    const records = INPUTS.map((value) => record(value));
    const output = await run(validateOperator({ schema: `schema-check-${name}` }), records);
    const expectedOutput: Array<{ same: unknown } | { converted: unknown }> = [];
    const expectedReasons: string[] = [];
    for (const r of records) {
      const expected = reference(codec, r.value);
      if (expected.outcome === 'rejected') expectedReasons.push(expected.reason);
      else if (expected.outcome === 'threw') expectedReasons.push(`schema "schema-check-${name}" threw: ${expected.message}`);
      else expectedOutput.push(expected.outcome === 'same' ? { same: r } : { converted: { ...r, value: expected.value } });
    }
    assert.deepEqual(deadLetters.map((d) => d.reason), expectedReasons, `${name}: the same reasons, in the same order`);
    assert.equal(output.length, expectedOutput.length, `${name}: as many records pass`);
    output.forEach((r, i) => {
      const expected = expectedOutput[i];
      if ('same' in expected) assert.equal(r, expected.same, `${name}: record ${i} passes as it is, not a copy`);
      else assert.deepEqual(r, expected.converted, `${name}: record ${i} passes as io-ts converted it`);
    });
  }
});

test('validate decodes with io-ts only what the check is not sure of: a valid user costs no decode', async () => {
  const codec = t.type({ login: t.type({ uuid: t.string }), email: t.string });
  let decodes = 0;
  const decode = codec.decode.bind(codec);
  codec.decode = (value) => {
    decodes++;
    return decode(value);
  };
  registerSchema('schema-check-counted', { summary: 'test only', codec: codec as t.Mixed });
  const { deadLetters } = fakeContext();
  const valid = Array.from({ length: 5 }, (_, i) => record({ login: { uuid: `u${i}` }, email: 'e' }));
  const output = await run(validateOperator({ schema: 'schema-check-counted' }), [...valid, record({ login: {}, email: 'e' })]);
  assert.deepEqual(output, valid, 'the valid records pass as they are');
  assert.equal(decodes, 1, 'only the invalid one was decoded by io-ts');
  assert.deepEqual(deadLetters.map((d) => d.reason), ['login.uuid: expected string, got nothing']);
});
