/**
 * Loading a topology: find the file (a name in the topology folder, or a path), parse the YAML,
 * interpolate `${ENV}` / `${ENV:-default}` in string values, validate the whole tree with io-ts.
 * Every problem — YAML syntax, missing variables, invalid fields — is collected and reported together,
 * by path, before anything starts.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { ConfigError, formatErrors, UserFacingError } from './errors.ts';
import { topologyCodec, type TopologyConfig } from './model.ts';
import { registry as defaultRegistry, type Registry } from './registry.ts';

/** The project's topology folder: `config/` at the repository root. */
export const TOPOLOGY_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'config');

/** The names of the topologies in the topology folder. */
export function listTopologies(dir = TOPOLOGY_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => f.replace(/\.ya?ml$/, ''))
    .sort();
}

/** `user-pipeline` → `<topology dir>/user-pipeline.yaml`; anything with a slash or a .yaml ending is a path. */
export function resolveTopologyPath(nameOrPath: string, dir = TOPOLOGY_DIR): string {
  const looksLikePath = nameOrPath.includes('/') || /\.ya?ml$/.test(nameOrPath);
  if (looksLikePath) {
    const resolved = path.resolve(nameOrPath);
    if (!existsSync(resolved)) throw new UserFacingError(`topology file ${resolved} does not exist`, 'check the path, or give the name of a topology in config/');
    return resolved;
  }
  for (const ext of ['.yaml', '.yml']) {
    const candidate = path.join(dir, nameOrPath + ext);
    if (existsSync(candidate)) return candidate;
  }
  const known = listTopologies(dir);
  throw new UserFacingError(`no topology called "${nameOrPath}" in ${dir}`, `known topologies: ${known.join(', ') || '(none)'}; or pass a path to a .yaml file`);
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replace `${NAME}` and `${NAME:-default}` in every string of `tree`; the result is text. A value that is
 * exactly one variable and expands to nothing is null, i.e. absent. `$${` is a literal `${`.
 */
export function interpolateEnv(tree: unknown, env: NodeJS.ProcessEnv, problems: string[], at = ''): unknown {
  if (typeof tree === 'string') {
    if (!tree.includes('${')) return tree;
    const escaped = tree.split('$${');
    const parts = escaped.map((segment) =>
      segment.replace(VARIABLE, (_match, name: string, fallback: string | undefined) => {
        const value = env[name];
        if (value !== undefined && value !== '') return value;
        if (fallback !== undefined) return fallback;
        problems.push(`${at || '(top level)'}: environment variable ${name} is not set (set it, or write \${${name}:-default} in the file)`);
        return '';
      }),
    );
    const result = parts.join('${');
    const whole = /^\$\{[^}]*\}$/.test(tree);
    // A whole-value variable that expands to nothing means "not given" (`duration: ${RUN_FOR:-}`).
    // Otherwise the text stays text (a password "0123" must not become 123): number, boolean and
    // duration codecs accept their text forms.
    return whole && result === '' ? null : result;
  }
  if (Array.isArray(tree)) return tree.map((item, i) => interpolateEnv(item, env, problems, `${at}[${i}]`));
  if (tree && typeof tree === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(tree)) out[key] = interpolateEnv(value, env, problems, at ? `${at}.${key}` : key);
    return out;
  }
  return tree;
}

export interface LoadOptions {
  registry?: Registry;
  env?: NodeJS.ProcessEnv;
  /** Name used when the file has no `name:` (defaults to the file name). */
  defaultName?: string;
}

/** Validate a topology given as YAML text. Throws ConfigError listing every problem. */
export function parseTopology(yamlText: string, label: string, options: LoadOptions = {}): TopologyConfig {
  const problems: string[] = [];
  const doc = parseDocument(yamlText, { prettyErrors: true, uniqueKeys: true });
  // The first syntax error is the useful one; the rest are usually its echoes.
  if (doc.errors.length > 0) {
    const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more syntax errors after it)` : '';
    problems.push(`YAML: ${doc.errors[0].message.split("\n")[0].replace(/:$/, "")}${more}`);
  }
  if (problems.length > 0) throw new ConfigError(label, problems);
  const tree = interpolateEnv(doc.toJS(), options.env ?? process.env, problems);
  // A missing variable is reported once, not again as the empty value it left behind.
  const unset = problems.map((p) => p.slice(0, p.indexOf(': environment variable') + 1));
  const result = topologyCodec(options.registry ?? defaultRegistry).decode(tree);
  if (result._tag === 'Left') problems.push(...formatErrors(result.left).filter((line) => !unset.some((at) => line.startsWith(at))));
  if (problems.length > 0) throw new ConfigError(label, problems);
  const config = result._tag === 'Right' ? result.right : undefined;
  return { ...config!, name: config!.name ?? options.defaultName ?? 'topology' };
}

/** Load and validate a topology by name or path. */
export function loadTopology(nameOrPath: string, options: LoadOptions = {}): { config: TopologyConfig; file: string } {
  const file = resolveTopologyPath(nameOrPath);
  const text = readFileSync(file, 'utf8');
  const config = parseTopology(text, file, { ...options, defaultName: options.defaultName ?? path.basename(file).replace(/\.ya?ml$/, '') });
  return { config, file };
}
