import { describe, expect, it } from "vitest";

import { addRow, mappingProblems, removeRow, toApiMapping, updateRow } from "./mapping";

describe("mapping editor state", () => {
  it("adds, edits and removes rows without touching the previous list", () => {
    const start = addRow([], "first_name", "FNAME");
    const edited = updateRow(addRow(start), 1, { source: "last_name", destination: "LNAME" });
    expect(start).toHaveLength(1);
    expect(edited).toEqual([
      { source: "first_name", destination: "FNAME" },
      { source: "last_name", destination: "LNAME" },
    ]);
    expect(removeRow(edited, 0)).toEqual([{ source: "last_name", destination: "LNAME" }]);
  });

  it("names what is wrong with a row", () => {
    const rows = [
      { source: "first_name", destination: "FNAME" },
      { source: "", destination: "X" },
      { source: "last_name", destination: " " },
      { source: "nickname", destination: "fname" },
    ];
    expect(mappingProblems(rows)).toEqual({
      1: "Pick a model field",
      2: "Name the destination field",
      3: "“fname” is already mapped above",
    });
  });

  it("sends only complete rows", () => {
    expect(toApiMapping([{ source: "a", destination: " A " }, { source: "", destination: "B" }])).toEqual([{ source: "a", destination: "A" }]);
  });
});
