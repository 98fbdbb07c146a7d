/**
 * Renders the config templates kept in services/ (server.properties, cassandra.yaml): each
 * `{{name}}` is replaced by its value. A placeholder without a value is an error rather than an
 * empty string, so a typo in a template cannot start a server with a silently broken config.
 *
 * @example
 * renderTemplate('listeners=PLAINTEXT://{{host}}:{{port}}', { host: '127.0.0.1', port: 9092 })
 * // 'listeners=PLAINTEXT://127.0.0.1:9092'
 */
export function renderTemplate(template: string, values: Record<string, string | number>): string {
  const missing = new Set<string>();
  const text = template.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) {
      missing.add(name);
      return '';
    }
    return String(value);
  });
  if (missing.size > 0) throw new Error(`template placeholders without a value: ${[...missing].join(', ')}`);
  return text;
}
