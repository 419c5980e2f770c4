// Result rows and their printing: a readable table for people, one JSON line for scripts.

export interface Row {
  /** Stable id for scripts, e.g. `pow.worker`. */
  key: string;
  group: string;
  name: string;
  value: number;
  unit: string;
  /** Key of the row this one is compared with (a baseline measured in the same run). */
  base?: string;
  /** Filled in by `withRatios`: value / base value. */
  ratio?: number;
  note?: string;
  /** Extra figures for the JSON line only. */
  extra?: Record<string, number | string>;
}

export function withRatios(rows: Row[]): Row[] {
  const byKey = new Map(rows.map((r) => [r.key, r]));
  return rows.map((r) => {
    const b = r.base ? byKey.get(r.base) : undefined;
    return b && b.value > 0 ? { ...r, ratio: r.value / b.value } : r;
  });
}

/** 1,234,567 / 12,345 / 123 / 12.3 / 1.23 / 0.123 */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 100) return Math.round(n).toLocaleString('en-US');
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

const ratioText = (r: Row, rows: Row[]): string => {
  if (r.ratio !== undefined) return `${r.ratio.toFixed(2)}×`;
  return rows.some((o) => o.base === r.key) ? 'base' : '';
};

export function printTable(rows: Row[], out: (line: string) => void = (l) => process.stdout.write(l + '\n')): void {
  const cells = rows.map((r) => [r.name, fmt(r.value), r.unit, ratioText(r, rows), r.note ?? '']);
  const head = ['benchmark', 'value', 'unit', 'ratio', 'note'];
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (i === 4 ? 0 : c[i].length))));
  const line = (c: string[]) =>
    [c[0].padEnd(width[0]), c[1].padStart(width[1]), c[2].padEnd(width[2]), c[3].padStart(width[3]), c[4]].join('  ').trimEnd();
  out(line(head));
  let group = '';
  for (let i = 0; i < rows.length; i++) {
    if (rows[i].group !== group) {
      group = rows[i].group;
      out('');
      out(`— ${group}`);
    }
    out(line(cells[i]));
  }
}

export function jsonLine(meta: Record<string, unknown>, rows: Row[], errors: string[]): string {
  const results: Record<string, unknown> = {};
  for (const r of rows) {
    results[r.key] = {
      name: r.name, value: Number(r.value.toPrecision(6)), unit: r.unit,
      ...(r.base ? { base: r.base } : {}),
      ...(r.ratio !== undefined ? { ratio: Number(r.ratio.toFixed(4)) } : {}),
      ...(r.extra ?? {}),
    };
  }
  return 'BENCH_JSON ' + JSON.stringify({ ...meta, results, errors });
}
