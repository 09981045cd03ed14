import { bindPage, fmt, fmtP, fmtPct, fmtWith, plotAll, renderKpis, renderTable, rowEditor, toast } from "./app.js";

const form = document.getElementById("params");
const num = fmtWith(4);

// Rubin (1981); Gelman et al., Bayesian Data Analysis (3rd ed.), Table 5.2: SAT coaching
// effects in eight schools, the textbook case for partial pooling.
const EIGHT_SCHOOLS = [
  ["A", 28, 15],
  ["B", 8, 10],
  ["C", -3, 16],
  ["D", 7, 11],
  ["E", -1, 9],
  ["F", 1, 11],
  ["G", 18, 10],
  ["H", 12, 18],
];

const segments = rowEditor({
  list: form.querySelector("[data-segments]"),
  template: form.querySelector("[data-segment-row]"),
  name: "segments",
  min: 2,
  minMessage: "Keep at least 2 segments.",
  onChange: () => form.dispatchEvent(new Event("input")),
});

/** Rows of pasted CSV text: segment, effect, standard error (a header row is skipped). */
function pastedRows(text) {
  const rows = [];
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (!line.trim()) continue;
    const cells = line.split(/[,;\t]/).map((c) => c.trim().replace(/^"(.*)"$/, "$1"));
    if (cells.length < 3) return { error: `Each row needs a segment, an effect and a standard error: "${line}".` };
    const [name, estimate, se] = cells;
    if (!rows.length && Number.isNaN(Number(estimate))) continue; // the header
    if (estimate === "" || se === "" || Number.isNaN(Number(estimate)) || Number.isNaN(Number(se)))
      return { error: `Not a number in "${line}": effects and standard errors are numbers with a decimal point.` };
    rows.push({ name, estimate, se });
  }
  return rows.length >= 2 ? { rows } : { error: "Paste at least 2 rows: segment, effect, standard error." };
}

form.querySelector("[data-use-paste]").addEventListener("click", () => {
  const { rows, error } = pastedRows(form.paste.value);
  if (error) {
    toast(error, form.paste);
    return;
  }
  segments.set(rows);
  form.dispatchEvent(new Event("input"));
});

const linked = segments.linkCount();
segments.set(
  linked
    ? Array.from({ length: linked }, () => ({}))
    : EIGHT_SCHOOLS.map(([name, estimate, se]) => ({ name, estimate, se })),
);
form.querySelector("[data-add-segment]").addEventListener("click", () => {
  segments.add().querySelector("input").focus();
});

function incomplete() {
  const empty = segments.read().findIndex((row) => !row.name.trim() || row.estimate === "" || row.se === "");
  return empty >= 0 ? `Fill in segment ${empty + 1} (name, effect and standard error) to see the results.` : null;
}

function payload() {
  const body = {
    segments: segments
      .read()
      .map((row) => ({ name: row.name.trim(), estimate: Number(row.estimate), se: Number(row.se) })),
    alpha: Number(form.alpha.value),
    correction: form.correction.value,
    direction: form.direction.value,
  };
  if (form.pooled_estimate.value !== "" || form.pooled_se.value !== "") {
    body.pooled = {
      estimate: form.pooled_estimate.value === "" ? null : Number(form.pooled_estimate.value),
      se: form.pooled_se.value === "" ? null : Number(form.pooled_se.value),
    };
  }
  return body;
}

function fieldFor(name) {
  if (name?.startsWith("pooled"))
    return form.querySelector(name.endsWith(".se") ? "#f-pooled_se" : "#f-pooled_estimate");
  return segments.field(name);
}

bindPage({
  form,
  payload,
  incomplete,
  fieldFor,
  render(data) {
    const r = data.result;
    const h = r.heterogeneity;
    renderKpis(form.closest(".workbench").querySelector("[data-kpis]"), [
      { label: `overall effect (${r.overall.method})`, value: fmt(r.overall.estimate, 4) },
      { label: "Cochran's Q p-value", value: fmtP(h.pvalue) },
      { label: "I² (variation beyond chance)", value: fmtPct(h.i2, 0) },
      { label: "τ, spread of true effects", value: fmt(r.tau ?? r.tau_median, 4) },
    ]);
    plotAll(data.figures);
    renderTable(form.closest(".workbench").querySelector('[data-table="segments"]'), {
      title: "Segments",
      filename: "abacus-segments.csv",
      columns: [
        { key: "name", label: "Segment", format: (v) => v },
        { key: "estimate", label: "Effect", format: num },
        { key: "se", label: "Std. error", format: num },
        { key: "ci_low", label: "CI low", format: num },
        { key: "ci_high", label: "CI high", format: num },
        { key: "pvalue", label: "p", format: fmtP },
        { key: "pvalue_adjusted", label: `p adjusted (${r.correction})`, format: fmtP },
        { key: "shrunk_estimate", label: "Pooled effect", format: num },
        { key: "shrunk_ci_low", label: "Pooled CI low", format: num },
        { key: "shrunk_ci_high", label: "Pooled CI high", format: num },
        { key: "prob_positive", label: "P(effect > 0)", format: (v) => fmtPct(v, 1) },
        { key: "verdict", label: "Verdict", format: (v) => v },
      ],
      rows: r.segments,
    });
  },
});
