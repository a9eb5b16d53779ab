/** Field mapping rows of an activation (model field → destination field): edits and checks. Pure, tested. */

export interface MappingRow {
  source: string;
  destination: string;
}

export function addRow(rows: MappingRow[], source = "", destination = ""): MappingRow[] {
  return [...rows, { source, destination }];
}

export function updateRow(rows: MappingRow[], index: number, patch: Partial<MappingRow>): MappingRow[] {
  return rows.map((row, position) => (position === index ? { ...row, ...patch } : row));
}

export function removeRow(rows: MappingRow[], index: number): MappingRow[] {
  return rows.filter((_, position) => position !== index);
}

/** Problems by row index: missing halves, a destination field mapped twice, the identifier's field. */
export function mappingProblems(rows: MappingRow[], identifierField?: string): Record<number, string> {
  const problems: Record<number, string> = {};
  const seen = new Map<string, number>();
  rows.forEach((row, index) => {
    const destination = row.destination.trim();
    if (!row.source) problems[index] = "Pick a model field";
    else if (!destination) problems[index] = "Name the destination field";
    else if (seen.has(destination.toLowerCase())) problems[index] = `“${destination}” is already mapped above`;
    else if (identifierField && row.source === identifierField && destination.toLowerCase() === "email") {
      problems[index] = "The identifier is sent already";
    }
    if (destination) seen.set(destination.toLowerCase(), index);
  });
  return problems;
}

/** Rows as the API takes them (complete rows only, trimmed). */
export function toApiMapping(rows: MappingRow[]): MappingRow[] {
  return rows.filter((row) => row.source && row.destination.trim()).map((row) => ({ source: row.source, destination: row.destination.trim() }));
}
