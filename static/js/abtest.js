import {
  bindCsvInput,
  bindPage,
  fmt,
  fmtP,
  fmtPoints,
  fmtSigned,
  linkValue,
  nextName,
  plot,
  plotAll,
  renderKpis,
  renderTable,
  rowEditor,
  upgradeLink,
} from "./app.js";
import { renderSegmentTable } from "./segment_table.js";
import { bindSourcePicker } from "./sources.js";

const form = document.getElementById("params");
const mappingBox = form.querySelector("[data-mapping]");
const MAPPING = ["variant", "metric_column", "kind", "numerator", "denominator", "user_id", "segment", "users", "sd"];
let columns = []; // the CSV's columns, from the last answer
let metricColumns = []; // those detected as metrics (0/1 or numbers)
let page = null;

const csvMode = () => form.querySelector('[name="source"]:checked').value === "csv";
const tableMode = () => form.querySelector('[name="source"]:checked').value === "table";
/** The typed fields of each metric kind (a ratio metric: per-user moments of its two parts). */
const METRIC_KEYS = {
  proportion: ["name", "users", "conversions"],
  mean: ["name", "users", "mean", "sd"],
  ratio: ["name", "users", "numerator_mean", "denominator_mean", "numerator_sd", "denominator_sd", "covariance"],
};
const typedKeys = () => METRIC_KEYS[form.metric.value] ?? METRIC_KEYS.proportion;

// ---------------------------------------------------------------- typed variants (row editor)

const DEFAULT_VARIANTS = [
  {
    name: "A",
    users: 1000,
    conversions: 120,
    mean: 10,
    sd: 5,
    numerator_mean: 60,
    denominator_mean: 2,
    numerator_sd: 45,
    denominator_sd: 1.2,
    covariance: 40,
  },
  {
    name: "B",
    users: 1000,
    conversions: 160,
    mean: 10.5,
    sd: 5,
    numerator_mean: 64,
    denominator_mean: 2,
    numerator_sd: 46,
    denominator_sd: 1.2,
    covariance: 41,
  },
];

const variants = rowEditor({
  list: form.querySelector("[data-variants] tbody"),
  template: form.querySelector("[data-variant-row]"),
  scope: form.querySelector("[data-variants]"),
  name: "variants",
  min: 2,
  onChange: () => page?.run(),
});

function readVariants() {
  return variants.read().map((row) => {
    const v = {};
    for (const [key, value] of Object.entries(row)) {
      const raw = value.trim();
      v[key] = key === "name" ? raw : raw === "" ? null : Number(raw);
    }
    return v;
  });
}

form.querySelector("[data-add-variant]").addEventListener("click", () => {
  const taken = readVariants().map((v) => v.name);
  const row = variants.add({ name: nextName(taken) }); // starts empty: no invented users
  page?.run();
  row.querySelector('input[data-key="users"]').focus();
});

// ---------------------------------------------------------------- guardrails (CSV columns)

function options(select, values, value, blank = "") {
  const opts = values.map((c) => new Option(c, c, false, c === value));
  if (blank) opts.unshift(new Option(blank, "", false, !value));
  select.replaceChildren(...opts);
  if (value && values.includes(value)) select.value = value;
}

const guardrails = rowEditor({
  list: form.querySelector("[data-guardrails]"),
  template: form.querySelector("[data-guardrail-row]"),
  name: "guardrails",
  build(row, g) {
    const metric = g.metric || [...metricColumns, ...columns].find((c) => c !== form.metric_column.value);
    options(row.querySelector('[data-key="metric"]'), columns, metric);
  },
  onChange: () => page?.run(),
});

function readGuardrails() {
  return guardrails
    .read()
    .map((g) => ({ ...g, tolerance: Number(g.tolerance || 0) }))
    .filter((g) => g.metric);
}

form.querySelector("[data-add-guardrail]").addEventListener("click", () => {
  guardrails.add();
  page?.run();
});

// ---------------------------------------------------------------- CSV input

function newData() {
  columns = [];
  for (const name of [...MAPPING, "control"]) if (name !== "kind") form[name].replaceChildren();
  form.kind.value = "";
  guardrails.set([]);
  mappingBox.hidden = true;
}

const csvFile = bindCsvInput(form, {
  onChange: () => {
    newData();
    page?.run();
  },
});
form.csv.addEventListener("input", newData);
form.metric_column.addEventListener("change", () => {
  form.kind.value = "";
});
form.variant.addEventListener("change", () => {
  form.control.replaceChildren();
});
for (const radio of form.querySelectorAll('[name="source"]')) {
  radio.addEventListener("change", () => {
    form.control.replaceChildren();
    if (tableMode()) {
      newData();
      picker.load();
    }
    page?.run();
  });
}

// ---------------------------------------------------------------- data source (a table)

// A shared link's choices (columns, kind, control, guardrails) meet its table's columns once:
// they are kept, not cleared as for new data, so later requests stay the sender's.
let linkedTable = linkValue("source") === "table";

/** A table's columns shown as a CSV's mapping: text columns for the variant, numbers for metrics. */
function tableColumns(cols) {
  if (!linkedTable) newData();
  linkedTable = false;
  if (!cols.length) return page?.run();
  const names = cols.map((c) => c.name);
  const numbers = cols.filter((c) => c.numeric).map((c) => c.name);
  const texts = cols.filter((c) => !c.numeric).map((c) => c.name);
  const variant = texts.find((c) => /variant|group|arm|bucket/i.test(c)) ?? texts[0] ?? names[0];
  showMapping({
    layout: "users",
    columns: names,
    metrics: numbers.map((name) => ({ name })),
    candidates: { variant: names, metric: numbers.length ? numbers : names },
    variant,
    metric: numbers.find((c) => c !== variant) ?? null,
    kind: "",
    user_id: null,
    users: null,
    sd: null,
  });
  form.querySelector('[data-field="user_id"]').hidden = true;
  page?.run();
}

const picker = bindSourcePicker(form, { onColumns: tableColumns });

// ---------------------------------------------------------------- request

function sync() {
  const table = tableMode();
  const csv = csvMode() || table; // a table's columns are mapped as a CSV's
  form.querySelector('[data-panel="typed"]').hidden = csv;
  form.querySelector('[data-panel="csv"]').hidden = !csvMode();
  form.querySelector('[data-panel="table"]').hidden = !table;
  form.querySelector("[data-guardrails-section]").hidden = !csv || !columns.length;
  if (!csv) mappingBox.hidden = true;
  variants.showColumns(typedKeys());
  if (!csv) {
    const names = readVariants()
      .map((v) => v.name)
      .filter(Boolean);
    const current = form.control.value || linkValue("control");
    options(form.control, names, names.includes(current) ? current : names[0]);
  }
}

function splitList(text) {
  const parts = text.split(/[,;\s]+/).filter(Boolean);
  return parts.every((p) => Number.isFinite(Number(p))) ? parts.map(Number) : text;
}

function common() {
  const body = {};
  for (const name of ["alpha", "min_effect", "noninferiority_margin"]) {
    if (form[name].value.trim() !== "") body[name] = Number(form[name].value);
  }
  for (const name of [
    "alternative",
    "direction",
    "min_effect_type",
    "relative_interval",
    "control",
    "comparisons",
    "correction",
  ]) {
    if (form[name].value) body[name] = form[name].value;
  }
  if (form.planned_split.value.trim()) body.planned_split = splitList(form.planned_split.value);
  return body;
}

/** Quantile options: sent with a CSV or a table only, and only when changed from the defaults. */
function quantileOptions() {
  const body = {};
  if (form.quantiles.value.trim()) body.quantiles = splitList(form.quantiles.value);
  if (form.quantile_method.value === "bootstrap") {
    body.quantile_method = "bootstrap";
    for (const name of ["bootstrap_resamples", "seed"]) {
      if (form[name].value.trim() !== "") body[name] = Number(form[name].value);
    }
  }
  return body;
}

function payload() {
  const body = common();
  if (tableMode()) {
    Object.assign(body, picker.selected());
    // A ratio (numerator and denominator chosen) replaces the metric column on a source.
    const ratio = form.numerator.value && form.denominator.value;
    const roles = ratio
      ? ["variant", "numerator", "denominator", "segment"]
      : ["variant", "metric_column", "kind", "segment"];
    for (const name of roles) {
      if (form[name].value) body[name === "metric_column" ? "metric" : name] = form[name].value;
    }
    if (ratio) return body;
    const guardrails = readGuardrails();
    if (guardrails.length) body.guardrails = guardrails;
    return Object.assign(body, quantileOptions());
  }
  if (!csvMode()) {
    const keys = typedKeys();
    body.metric = form.metric.value;
    body.variants = readVariants().map((v) => Object.fromEntries(keys.map((k) => [k, v[k]])));
    return body;
  }
  for (const name of MAPPING) if (form[name].value) body[name === "metric_column" ? "metric" : name] = form[name].value;
  Object.assign(body, quantileOptions());
  const guardrails = readGuardrails();
  if (guardrails.length) body.guardrails = guardrails;
  const upload = csvFile();
  if (!upload) return { csv: form.csv.value, ...body };
  const data = new FormData();
  data.append("file", upload);
  for (const [k, v] of Object.entries(body)) data.append(k, typeof v === "string" ? v : JSON.stringify(v));
  return data;
}

/** Where a problem's field goes: CSV problems under the data box, mapping names to their select. */
function fieldFor(name) {
  if (!name) return null;
  if (tableMode()) {
    const target = { source: "source_name", table: "source_table", metric: "metric_column" }[name] ?? name;
    if (form.elements[target]) return form.elements[target];
  }
  if (csvMode() && name === "metric") return mappingBox.hidden ? form.csv : form.metric_column;
  if (name === "file" || name === "csv" || (csvMode() && (columns.includes(name) || !form.elements[name]))) {
    return form.csv;
  }
  if (MAPPING.includes(name) && mappingBox.hidden) return form.csv;
  const el = form.querySelector(`[data-field="${CSS.escape(name)}"] input, [data-field="${CSS.escape(name)}"] select`);
  return el && !el.closest("[hidden]") ? el : null;
}

// ---------------------------------------------------------------- results

const VERDICTS = { ship: "Ship", iterate: "Iterate", hold: "Hold", stop: "Stop", rerun: "Re-run" };
const CORRECTIONS = { holm: "Holm", bonferroni: "Bonferroni", bh: "Benjamini–Hochberg" };
const LIFT_METHODS = { score: "score (risk ratio)", fieller: "Fieller", delta: "delta method" };

function showMapping(m) {
  columns = m.columns;
  metricColumns = m.metrics.map((x) => x.name);
  mappingBox.hidden = false;
  const perUser = m.layout === "users";
  form.querySelector("[data-layout]").textContent = perUser
    ? "Detected one row per user; change a column to re-run."
    : "Detected one row per variant (aggregates); change a column to re-run.";
  // The user's current choice wins over an answer to an older request.
  const keep = (select, values, value) => (select.value && values.includes(select.value) ? select.value : value);
  const variants = m.candidates.variant?.length ? m.candidates.variant : m.columns;
  const metrics = m.candidates.metric?.length ? m.candidates.metric : m.columns;
  options(form.variant, variants, keep(form.variant, variants, m.variant));
  options(form.metric_column, metrics, keep(form.metric_column, metrics, m.metric));
  if (!perUser) form.kind.value = "";
  else if (form.metric_column.value === m.metric) form.kind.value = m.kind;
  options(form.user_id, m.columns, keep(form.user_id, m.columns, m.user_id), "(none detected)");
  options(form.segment, m.columns, keep(form.segment, m.columns, ""), "(none)");
  for (const name of ["numerator", "denominator"]) {
    options(form[name], metricColumns, keep(form[name], metricColumns, m[name] ?? ""), "(none)");
  }
  options(form.users, m.columns, keep(form.users, m.columns, m.users));
  options(form.sd, m.columns, keep(form.sd, m.columns, m.sd), "(conversions, no sd)");
  for (const name of ["kind", "numerator", "denominator", "user_id", "segment"]) {
    form.querySelector(`[data-field="${name}"]`).hidden = !perUser;
  }
  for (const name of ["users", "sd"]) form.querySelector(`[data-field="${name}"]`).hidden = perUser;
  for (const row of guardrails.rows()) {
    const select = row.querySelector('[data-key="metric"]');
    options(select, columns, select.value);
  }
  form.querySelector("[data-guardrails-section]").hidden = false;
}

function renderVerdict(r) {
  const card = document.querySelector("[data-verdict]");
  card.hidden = false;
  card.className = `card verdict verdict-${r.verdict}`;
  card.querySelector("[data-verdict-title]").textContent = `Verdict: ${VERDICTS[r.verdict]}`;
  card.querySelector("[data-reasons]").replaceChildren(
    ...r.reasons.map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }),
  );
}

/** Each treatment against control within each segment (a segment column is mapped). */
function segmentTable(r) {
  renderSegmentTable(document.querySelector('[data-table="segments"]'), r, {
    effect: r.kind === "proportion" ? (v) => fmtPoints(v) : (v) => fmtSigned(v, 4),
    filename: "abacus-abtest-segments.csv",
  });
}

function primaryTable(r) {
  const proportion = r.kind === "proportion";
  const byName = Object.fromEntries(r.comparisons.filter((c) => c.control === r.control).map((c) => [c.variant, c]));
  const inputs = Object.fromEntries(r.inputs.primary.map((v) => [v.name, v]));
  const ordered = [...r.variants].sort((a, b) => (b.name === r.control) - (a.name === r.control));
  const rows = ordered.map((v) => {
    const c = byName[v.name] || {};
    const input = inputs[v.name];
    return {
      variant: v.name + (v.name === r.control ? " (control)" : ""),
      users: v.n,
      conversions: proportion ? input.conversions : null,
      sd: proportion ? null : input.sd,
      estimate: v.estimate,
      est_low: v.ci_low,
      est_high: v.ci_high,
      diff: c.estimate ?? null,
      ci_low: c.ci_low ?? null,
      ci_high: c.ci_high ?? null,
      lift: c.relative_lift ?? null,
      lift_low: c.relative_ci_low ?? null,
      lift_high: c.relative_ci_high ?? null,
      lift_method: c.relative_method ? LIFT_METHODS[c.relative_method] : "",
      pvalue: c.pvalue ?? null,
      pvalue_adjusted: c.pvalue_adjusted ?? null,
      test: c.test ?? "",
      effect_size: c.effect_size ?? null,
    };
  });
  const value = proportion ? (v) => fmt(v, 2, "percent") : (v) => fmt(v, 4);
  const diff = proportion ? (v) => fmtPoints(v, 2) : (v) => fmtSigned(v, 4);
  // The columns that decide (difference, its interval, p) come first, so they are in view
  // without scrolling; the counts and per-arm rates follow.
  const cols = [
    { key: "variant", label: "Variant", format: (v) => v },
    { key: "diff", label: "Difference", format: diff },
    { key: "ci_low", label: "Diff. CI low", format: diff },
    { key: "ci_high", label: "Diff. CI high", format: diff },
    { key: "pvalue_adjusted", label: `Adjusted p (${CORRECTIONS[r.correction]})`, format: fmtP },
    { key: "pvalue", label: "p-value", format: fmtP },
    { key: "lift", label: "Relative lift", format: (v) => fmtSigned(v, 1, "percent") },
    { key: "lift_low", label: "Lift CI low", format: (v) => fmtSigned(v, 1, "percent") },
    { key: "lift_high", label: "Lift CI high", format: (v) => fmtSigned(v, 1, "percent") },
    { key: "lift_method", label: "Lift CI method", format: (v) => v },
    { key: "users", label: "Users", format: (v) => fmt(v, 0) },
    proportion
      ? { key: "conversions", label: "Conversions", format: (v) => fmt(v, 0) }
      : { key: "sd", label: "SD", format: (v) => fmt(v, 4) },
    { key: "estimate", label: proportion ? "Rate" : r.kind === "ratio" ? "Ratio" : "Mean", format: value },
    { key: "est_low", label: "Low", format: value },
    { key: "est_high", label: "High", format: value },
    { key: "effect_size", label: proportion ? "Cohen's h" : "Cohen's d", format: (v) => fmt(v, 3) },
    { key: "test", label: "Test", format: (v) => v },
  ];
  const level = r.comparisons.length ? fmt(r.comparisons[0].ci_level, 1, "percent") : "";
  renderTable(document.querySelector('[data-table="primary"]'), {
    title: `Primary metric: ${r.metric} (difference intervals at ${level})`,
    columns: cols,
    rows,
    filename: "abacus-abtest-primary.csv",
  });
}

/** Every pair of variants (comparisons = all): the family the correction adjusts over. */
function pairsTable(r) {
  const box = document.querySelector('[data-table="pairs"]');
  box.hidden = r.comparison_set !== "all";
  if (box.hidden) return;
  const diff = r.kind === "proportion" ? (v) => fmtPoints(v, 2) : (v) => fmtSigned(v, 4);
  renderTable(box, {
    title: `All pairs (${CORRECTIONS[r.correction]}-adjusted)`,
    columns: [
      { key: "variant", label: "Variant", format: (v) => v },
      { key: "control", label: "Against", format: (v) => v },
      { key: "estimate", label: "Difference", format: diff },
      { key: "ci_low", label: "CI low", format: diff },
      { key: "ci_high", label: "CI high", format: diff },
      { key: "ci_level", label: "CI level", format: (v) => fmt(v, 2, "percent") },
      { key: "pvalue_adjusted", label: "Adjusted p", format: fmtP },
      { key: "pvalue", label: "p-value", format: fmtP },
    ],
    rows: r.comparisons,
    filename: "abacus-abtest-pairs.csv",
  });
}

const quantileName = (p) => (p === 0.5 ? "median" : `p${+(p * 100).toPrecision(4)}`);

/** Quantile differences (row-level continuous data), with each arm's quantile. */
function quantileTable(r) {
  const box = document.querySelector('[data-table="quantiles"]');
  box.hidden = !r.quantiles;
  if (!r.quantiles) return;
  const rows = r.quantiles.differences.map((d) => ({
    quantile: d.quantile,
    variant: d.variant,
    control_value: d.arms[0].estimate,
    variant_value: d.arms[1].estimate,
    estimate: d.estimate,
    ci_low: d.ci_low,
    ci_high: d.ci_high,
    ci_level: d.ci_level,
    pvalue: d.pvalue,
    method: d.method,
  }));
  renderTable(box, {
    title: `Quantiles of ${r.metric} against ${r.control}`,
    columns: [
      { key: "quantile", label: "Quantile", format: quantileName },
      { key: "variant", label: "Variant", format: (v) => v },
      { key: "estimate", label: "Difference", format: (v) => fmtSigned(v, 4) },
      { key: "ci_low", label: "CI low", format: (v) => fmtSigned(v, 4) },
      { key: "ci_high", label: "CI high", format: (v) => fmtSigned(v, 4) },
      { key: "pvalue", label: "p-value", format: fmtP },
      { key: "variant_value", label: "Variant's quantile", format: (v) => fmt(v, 4) },
      { key: "control_value", label: "Control's quantile", format: (v) => fmt(v, 4) },
      { key: "ci_level", label: "CI level", format: (v) => fmt(v, 2, "percent") },
      { key: "method", label: "Interval", format: (v) => v },
    ],
    rows,
    filename: "abacus-abtest-quantiles.csv",
  });
}

function guardrailTables(r) {
  const box = document.querySelector("[data-guardrail-tables]");
  const metrics = [...new Set(r.guardrails.map((g) => g.metric))];
  box.replaceChildren(
    ...metrics.map((metric) => {
      const div = document.createElement("div");
      div.className = "table-card";
      const rows = r.guardrails
        .filter((g) => g.metric === metric)
        .map((g) => ({
          variant: g.variant,
          status: g.status,
          estimate: g.estimate,
          ci_low: g.test.ci_low,
          ci_high: g.test.ci_high,
          tolerance: g.tolerance,
          direction: g.test.direction,
          pvalue: g.test.pvalue,
          pvalue_worse: g.test.pvalue_worse,
        }));
      renderTable(div, {
        title: `Guardrail: ${metric} (against ${r.control})`,
        columns: [
          { key: "variant", label: "Variant", format: (v) => v },
          { key: "status", label: "Status", format: (v) => v },
          { key: "estimate", label: "Difference", format: (v) => fmtSigned(v, 4) },
          { key: "ci_low", label: "CI low", format: (v) => fmtSigned(v, 4) },
          { key: "ci_high", label: "CI high", format: (v) => fmtSigned(v, 4) },
          { key: "tolerance", label: "Tolerance", format: (v) => fmt(v, 4) },
          { key: "direction", label: "Better is", format: (v) => v },
          { key: "pvalue", label: "p (within tolerance)", format: fmtP },
          { key: "pvalue_worse", label: "p (worse)", format: fmtP },
        ],
        rows,
        filename: `abacus-abtest-guardrail-${metric}.csv`,
      });
      return div;
    }),
  );
}

function render(data) {
  const r = data.result;
  renderVerdict(r);
  if (r.mapping) {
    // A table's columns (tableColumns) stay its mapping: a source's answer lists only the
    // columns it analysed, which would leave a ratio's numerator no other column to pick.
    if (!tableMode()) showMapping(r.mapping);
    options(form.control, r.mapping.variants, r.control);
  }
  const best = r.comparisons
    .filter((c) => c.control === r.control)
    .reduce((a, c) => (a === null || c.pvalue_adjusted < a.pvalue_adjusted ? c : a), null);
  renderKpis(document.querySelector("[data-kpis]"), [
    { label: "verdict", value: VERDICTS[r.verdict] },
    { label: `lift of ${best?.variant ?? "–"}`, value: fmtSigned(best?.relative_lift ?? null, 1, "percent") },
    { label: "adjusted p-value", value: fmtP(best?.pvalue_adjusted ?? null) },
    { label: "SRM p-value", value: `${fmtP(r.srm.pvalue)}${r.srm.flagged ? " ⚠" : ""}` },
    {
      label: "users",
      value: fmt(
        r.variants.reduce((s, v) => s + v.n, 0),
        0,
      ),
    },
  ]);
  const dist = document.querySelector("[data-distribution]");
  dist.hidden = !data.figures.distribution;
  if (!data.figures.distribution) window.Plotly.purge(document.getElementById("fig-distribution"));
  plotAll({ estimates: data.figures.estimates, forest: data.figures.forest });
  if (data.figures.distribution) plot("fig-distribution", data.figures.distribution);
  const quantiles = document.querySelector("[data-quantiles]");
  quantiles.hidden = !data.figures.quantiles;
  if (data.figures.quantiles) plot("fig-quantiles", data.figures.quantiles);
  else window.Plotly.purge(document.getElementById("fig-quantiles"));
  const segments = document.querySelector("[data-segments]");
  segments.hidden = !data.figures.segments;
  if (data.figures.segments) plot("fig-segments", data.figures.segments);
  else window.Plotly.purge(document.getElementById("fig-segments"));
  segmentTable(r);
  quantileTable(r);
  primaryTable(r);
  pairsTable(r);
  guardrailTables(r);
}

/** A typed row not yet filled in (a new variant) is incomplete, not an error: no request yet. */
function incomplete() {
  if (tableMode()) {
    if (picker.missing()) return picker.missing();
    return picker.selected() && form.variant.value && form.metric_column.value
      ? null
      : "Pick a source and a table, then its variant and metric columns, to see the results.";
  }
  // An empty CSV box (or a shared link, which cannot carry the data) is a hint, not an error.
  if (csvMode()) {
    return csvFile() || form.csv.value.trim()
      ? null
      : "Paste a CSV into the box or upload a file to see the results (a shared link does not carry the data).";
  }
  const keys = typedKeys().slice(1);
  const empty = readVariants().some((v) => keys.some((k) => v[k] === null));
  return empty ? `Fill in the ${keys.join(", ")} of every variant to see the results.` : null;
}

// Rows exist before bindPage restores a shared link into them (older links: variants_json).
upgradeLink("variants_json", "variants");
const linked = variants.linkCount();
variants.set(linked >= 2 ? Array.from({ length: linked }, () => ({})) : DEFAULT_VARIANTS);
guardrails.set(Array.from({ length: guardrails.linkCount() }, () => ({})));
page = bindPage({ form, sync, render, payload, fieldFor, incomplete });
if (tableMode()) picker.load(); // a shared link in Data source mode
