/**
 * Secret values seen while decoding configs (fields marked `secret` in a spec). The logger's format
 * replaces any of them, wherever they appear in a log line, with `***`: a secret that leaks into an
 * error message from a client library is still masked.
 */
const secrets = new Set<string>();

/** Remember a secret value so that logs mask it. Very short values are ignored (they would mask noise). */
export function registerSecret(value: string): void {
  if (value.length >= 3) secrets.add(value);
}

/** `text` with every known secret replaced by `***`. */
export function maskSecrets(text: string): string {
  if (secrets.size === 0) return text;
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join('***');
  }
  return out;
}
