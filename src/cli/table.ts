/**
 * Column alignment as Go's text/tabwriter does it for docker's tables: tab-terminated cells
 * padded to the widest cell of their column plus `padding`, at least `minWidth`; the text
 * after a line's last tab is not a cell and is left as is.
 */

/** Options matching tabwriter.NewWriter(out, minWidth, tabWidth, padding, ' ', 0). */
export interface TabOptions {
  minWidth: number;
  padding: number;
}

/** docker's table writer settings (minwidth 10, padding 3). */
export const DOCKER_TABLE: TabOptions = { minWidth: 10, padding: 3 };

/** Align `text` (lines of tab-separated cells); returns the aligned text with the same line ends. */
export function alignColumns(text: string, options: TabOptions = DOCKER_TABLE): string {
  const lines = text.split('\n');
  const rows = lines.map((line) => line.split('\t'));
  const widths: number[] = [];
  for (const row of rows) {
    for (let i = 0; i < row.length - 1; i++) {
      widths[i] = Math.max(widths[i] ?? 0, [...row[i]!].length);
    }
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => {
          if (i === row.length - 1) return cell;
          const width = Math.max(options.minWidth, widths[i]! + options.padding);
          return cell + ' '.repeat(width - [...cell].length);
        })
        .join(''),
    )
    .join('\n');
}
