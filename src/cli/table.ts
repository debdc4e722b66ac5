/** How a column lines up: text to the left, numbers to the right. */
export type Align = 'left' | 'right'

export interface Column {
  header: string
  align?: Align
}

/** the gap between columns */
const GAP = '  '

/**
 * A plain-text table: a header row, then one row per entry, every column as wide as its widest
 * cell (by code points; cells are expected to be printable already). Trailing spaces are cut.
 */
export function formatTable (columns: readonly Column[], rows: ReadonlyArray<readonly string[]>, indent = ''): string[] {
  const width = (s: string): number => [...s].length
  const widths = columns.map((c, i) => Math.max(width(c.header), ...rows.map(r => width(r[i] ?? ''))))
  const line = (cells: readonly string[]): string => indent + columns.map((c, i) => {
    const cell = cells[i] ?? ''
    const pad = ' '.repeat(widths[i]! - width(cell))
    return c.align === 'right' ? pad + cell : cell + pad
  }).join(GAP).trimEnd()
  return [line(columns.map(c => c.header)), ...rows.map(line)]
}
