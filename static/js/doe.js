import {
  bindCsvInput,
  bindPage,
  fmt,
  fmtP,
  fmtSig,
  fmtWith,
  parseNumbers,
  restoreFromURL,
  plotAll,
  renderKpis,
  renderTable,
} from "./app.js";
import { bindSourcePicker, fillColumn } from "./sources.js";

const form = document.getElementById("params");
const ROLES = ["factor_a", "factor_b", "response"]; // in Data source mode, selects table_<role>
const gridBox = form.querySelector("[data-grid]");
const MAX_GRID = 8; // the API allows 5 levels; a few more are drawn so it can say so

// Montgomery, Design and Analysis of Experiments (8th ed.), Table 5.1: battery life (hours)
// by plate material (rows) and temperature in °F (columns), four replicates per cell.
const BATTERY = [
  ["130, 155, 74, 180", "34, 40, 80, 75", "20, 70, 82, 58"],
  ["150, 188, 159, 126", "136, 122, 106, 115", "25, 70, 58, 45"],
  ["138, 110, 168, 160", "174, 120, 150, 139", "96, 104, 82, 60"],
];

let cellOfRow = []; // rows[i] of the last request came from this textarea

function allLevels(text) {
  const seen = [];
  for (const name of text.split(",").map((s) => s.trim())) {
    if (name && !seen.includes(name)) seen.push(name);
  }
  return seen;
}

function levels(text) {
  return allLevels(text).slice(0, MAX_GRID);
}

/** A cell is named by its two level names (never its position), in the page and the URL. */
function cellName(a, b) {
  return `y${JSON.stringify([a, b])}`;
}

let shown = { a: [], b: [] }; // the levels the grid on the page was drawn for

/**
 * Rebuild the A × B grid of textareas; `values(levelA, levelB, i, j)` gives each cell's text.
 */
function buildGrid(values) {
  const la = levels(form.levels_a.value);
  const lb = levels(form.levels_b.value);
  const a = form.factor_a.value.trim() || "A";
  const b = form.factor_b.value.trim() || "B";
  const table = document.createElement("table");
  table.className = "doe-grid";
  const head = table.createTHead().insertRow();
  const corner = document.createElement("th");
  corner.scope = "col";
  corner.textContent = `${a} \\ ${b}`;
  head.append(corner);
  for (const level of lb) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = level;
    head.append(th);
  }
  const body = table.createTBody();
  la.forEach((levelA, i) => {
    const tr = body.insertRow();
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = levelA;
    tr.append(th);
    lb.forEach((levelB, j) => {
      const area = document.createElement("textarea");
      area.name = cellName(levelA, levelB);
      area.rows = 3;
      area.spellcheck = false;
      area.inputMode = "decimal";
      area.dataset.a = levelA;
      area.dataset.b = levelB;
      area.setAttribute("aria-label", `${form.response.value || "response"} at ${a} = ${levelA}, ${b} = ${levelB}`);
      area.setAttribute("aria-describedby", "h-rows");
      area.value = values(levelA, levelB, i, j);
      tr.insertCell().append(area);
    });
  });
  gridBox.replaceChildren(table);
  shown = { a: la, b: lb };
}

/**
 * Which old level each new level continues: the same name, or, when exactly one name changed in
 * place and the count is the same (a level being renamed or typed), the old name it replaced.
 */
function renamed(before, after) {
  const map = new Map(after.map((name) => [name, name]));
  if (before.length === after.length) {
    const changed = after.map((_, i) => i).filter((i) => after[i] !== before[i]);
    if (changed.length === 1 && !before.includes(after[changed[0]])) map.set(after[changed[0]], before[changed[0]]);
  }
  return map;
}

/** Data stay with their level names: reordering or inserting levels moves the cells with them. */
function rebuildKeepingValues() {
  const old = new Map([...gridBox.querySelectorAll("textarea")].map((t) => [t.name, t.value]));
  const fromA = renamed(shown.a, levels(form.levels_a.value));
  const fromB = renamed(shown.b, levels(form.levels_b.value));
  buildGrid((a, b) => old.get(cellName(fromA.get(a), fromB.get(b))) ?? "");
}

function sync() {
  const mode = form.source.value;
  for (const box of form.querySelectorAll("[data-mode]")) box.hidden = box.dataset.mode !== mode;
}

/** The first cell whose text cannot be read without guessing (a lone "2,7"), with why. */
function unreadableCell() {
  if (form.source.value === "table") {
    return (
      picker.missing() ??
      (picker.selected() ? null : "Pick a source and a table (one row per observation) to see the results.")
    );
  }
  if (form.source.value === "csv") return null;
  for (const area of gridBox.querySelectorAll("textarea")) {
    const { error } = parseNumbers(area.value);
    if (error) return { message: error, field: area };
  }
  return null;
}

function payload() {
  const options = { anova_type: Number(form.anova_type.value), alpha: Number(form.alpha.value) };
  if (form.source.value === "table") {
    const body = { ...picker.selected() };
    for (const key of ROLES) if (form[`table_${key}`].value) body[key] = form[`table_${key}`].value;
    return { ...body, ...options };
  }
  if (form.source.value === "csv") {
    const data = new FormData();
    const file = csvFile();
    if (file) data.append("file", file);
    else data.append("csv", form.csv.value);
    for (const key of ["factor_a", "factor_b", "response"]) {
      const value = form[`csv_${key}`].value.trim();
      if (value) data.append(key, value);
    }
    for (const [key, value] of Object.entries(options)) data.append(key, String(value));
    return data;
  }
  const rows = [];
  cellOfRow = [];
  for (const area of gridBox.querySelectorAll("textarea")) {
    for (const y of parseNumbers(area.value).values) {
      rows.push({ a: area.dataset.a, b: area.dataset.b, y });
      cellOfRow.push(area);
    }
  }
  return {
    factor_a: form.factor_a.value,
    factor_b: form.factor_b.value,
    response: form.response.value,
    levels_a: allLevels(form.levels_a.value),
    levels_b: allLevels(form.levels_b.value),
    ...options,
    rows,
  };
}

/** The input an error belongs to: a cell for rows[i], the first empty cell for an empty one. */
function fieldFor(name) {
  if (!name) return null;
  if (form.source.value === "table") {
    if (ROLES.includes(name)) return form[`table_${name}`];
    if (["alpha", "anova_type"].includes(name)) return form[name];
    return name === "source" ? form.source_name : form.source_table; // the table's data
  }
  if (form.source.value === "csv") {
    if (["factor_a", "factor_b", "response"].includes(name)) return form[`csv_${name}`];
    if (["alpha", "anova_type"].includes(name)) return form[name];
    return name === "file" ? form.file : form.csv;
  }
  const row = /^rows\[(\d+)\]/.exec(name);
  if (row) return cellOfRow[Number(row[1])] || null;
  if (name === "rows") {
    return [...gridBox.querySelectorAll("textarea")].find((t) => !t.value.trim()) || gridBox.querySelector("textarea");
  }
  if (name === "factor_a" || name === "factor_b") {
    const key = name.slice(-1);
    return form[name].value.trim() ? form[`levels_${key}`] : form[name];
  }
  return null;
}

const num = fmtWith;
/** Six significant digits, whatever the scale of the response (134.75, 0.0312468). */
const sig = (v) => fmtSig(v);
/** "price:layout" shown as "price × layout" (the CSV keeps the API's name). */
const term = (v) => v.replace(":", " × ");

function render(data) {
  const r = data.result;
  const cells = r.levels_a.length * r.levels_b.length;
  renderKpis(document.querySelector("[data-kpis]"), [
    { label: "observations", value: fmt(r.n, 0) },
    { label: `cells (${r.levels_a.length} × ${r.levels_b.length})`, value: fmt(cells, 0) },
    { label: "design", value: r.balanced ? "balanced" : "unbalanced" },
    { label: "interaction tested", value: r.interaction_tested ? "yes" : "no (1 per cell)" },
    { label: "residual df", value: fmt(r.df_resid, 0) },
  ]);
  plotAll(data.figures);
  renderTable(document.querySelector('[data-table="anova"]'), {
    title: `ANOVA (Type ${r.anova_type === 2 ? "II" : "III"})`,
    columns: [
      { key: "source", label: "Source", format: term },
      { key: "sum_sq", label: "Sum of squares", format: sig },
      { key: "df", label: "df", format: num(0) },
      { key: "mean_sq", label: "Mean square", format: sig },
      { key: "f", label: "F", format: num(3) },
      { key: "pvalue", label: "p-value", format: fmtP },
      { key: "partial_eta_sq", label: "Partial η²", format: num(3) },
    ],
    rows: r.anova,
    filename: "abacus-doe-anova.csv",
  });
  renderTable(document.querySelector('[data-table="cells"]'), {
    title: "Cell means",
    columns: [
      { key: "a", label: r.factor_a, format: (v) => v },
      { key: "b", label: r.factor_b, format: (v) => v },
      { key: "n", label: "n", format: num(0) },
      { key: "mean", label: `Mean ${r.response}`, format: sig },
      { key: "sd", label: "SD", format: sig },
      { key: "ci_low", label: "CI low", format: sig },
      { key: "ci_high", label: "CI high", format: sig },
    ],
    rows: r.cell_means,
    filename: "abacus-doe-cell-means.csv",
  });
  const marginal = [
    ...r.marginal_means_a.map((m) => ({ factor: r.factor_a, ...m })),
    ...r.marginal_means_b.map((m) => ({ factor: r.factor_b, ...m })),
  ];
  renderTable(document.querySelector('[data-table="marginal"]'), {
    title: "Marginal means (main effects)",
    columns: [
      { key: "factor", label: "Factor", format: (v) => v },
      { key: "level", label: "Level", format: (v) => v },
      { key: "n", label: "n", format: num(0) },
      { key: "estimate", label: "Marginal mean", format: sig },
      { key: "se", label: "SE", format: sig },
      { key: "ci_low", label: "CI low", format: sig },
      { key: "ci_high", label: "CI high", format: sig },
    ],
    rows: marginal,
    filename: "abacus-doe-marginal-means.csv",
  });
}

// The grid exists before bindPage restores the URL state into it: the link's factors and levels first.
restoreFromURL(form);
const params = new URLSearchParams(location.search);
const restoring = [...params.keys()].some((k) => k.startsWith("y"));
// Links from before cells were named by their levels hold y_<row>_<column>.
buildGrid((_a, _b, i, j) => (restoring ? (params.get(`y_${i}_${j}`) ?? "") : (BATTERY[i]?.[j] ?? "")));

for (const key of ["levels_a", "levels_b", "factor_a", "factor_b", "response"]) {
  form[key].addEventListener("input", rebuildKeepingValues);
}

// Data source mode: a table's columns fill the role selects ("(detect)" as a CSV's empty field).
const picker = bindSourcePicker(form, {
  onColumns: (cols) => {
    const names = cols.map((c) => c.name);
    for (const key of ROLES) fillColumn(form[`table_${key}`], names, null, "(detect)");
    page.run();
  },
});
form.source.addEventListener("change", () => {
  if (form.source.value === "table") picker.load();
});

const csvFile = bindCsvInput(form, { onChange: () => page.run() });
const page = bindPage({ form, payload, render, sync, fieldFor, incomplete: unreadableCell });
if (form.source.value === "table") picker.load(); // a shared link in Data source mode
