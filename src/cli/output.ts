/**
 * Printing lists the docker way: a default table, `--format` templates (with or without the
 * `table` prefix), `--format json`, and `-q`.
 */
import { alignColumns } from './table.js';
import { parseFormat, renderTemplate } from './template.js';

/** Everything needed to print one list. */
export interface ListOutput<Row> {
  rows: Row[];
  /** The user's --format, if any. */
  format?: string | undefined;
  /** docker's default for this list, e.g. `table {{.ID}}\t{{.Image}}`. */
  defaultFormat: string;
  /** Header text per field, e.g. `{ ID: 'CONTAINER ID' }`; unknown fields get their name upper-cased. */
  headers: Record<string, string>;
}

/** Render a list to text (with a trailing newline when non-empty or when a header is printed). */
export function renderList<Row>(output: ListOutput<Row>): string {
  const format = !output.format || output.format === 'table' ? output.defaultFormat : output.format === 'json' ? '{{json .}}' : output.format;
  const spec = parseFormat(format);
  const lines = output.rows.map((row) => renderTemplate(spec.template, row));
  if (!spec.isTable) return lines.map((l) => l + '\n').join('');
  const headerData = new Proxy(output.headers, {
    get: (target, key) => (typeof key === 'string' ? target[key] ?? upperSnake(key) : undefined),
  });
  const header = renderTemplate(spec.template, headerData);
  return alignColumns([header, ...lines].join('\n')) + '\n';
}

function upperSnake(name: string): string {
  return name.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
}
