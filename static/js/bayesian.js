import {
  bindCsvInput,
  bindPage,
  fmt,
  fmtPct,
  fmtPoints,
  fmtWith,
  formPayload,
  linkValue,
  nextName,
  plotAll,
  renderKpis,
  renderTable,
  restoreFromURL,
  rowEditor,
  toast,
} from "./app.js";
import { renderSegmentTable } from "./segment_table.js";
import { bindSourcePicker, fillColumn } from "./sources.js";

const form = document.getElementById("params");
const rowsBox = form.querySelector("[data-variants]");
const railsBox = form.querySelector("[data-guardrails]");

// The numbers each metric's variant record holds, with their column labels.
const FIELDS = {
  proportion: [
    ["users", "Users"],
    ["conversions", "Conversions"],
  ],
  mean: [
    ["users", "Users"],
    ["mean", "Mean"],
    ["sd", "SD"],
  ],
  count: [
    ["users", "Users"],
    ["total", "Events"],
  ],
  revenue: [["amounts", "Amounts per user (zeros included)"]],
  ratio: [
    ["users", "Users"],
    ["numerator_mean", "Num. mean"],
    ["denominator_mean", "Den. mean"],
    ["numerator_sd", "Num. SD"],
    ["denominator_sd", "Den. SD"],
    ["covariance", "Cov."],
  ],
};

// An example per metric, so that every metric shows a result as soon as it is chosen.
const REVENUE_A =
  "0, 0, 0, 25.5, 0, 0, 41.2, 0, 0, 0, 18.9, 0, 33, 0, 0, 0, 52.4, 0, 0, 12.3, 0, 0, 0, 28.7, 0, 0, 0, 0, 45.1, 0, 0, 22, 0, 0, 0, 0, 61.5, 0, 0, 9.9";
const REVENUE_B =
  "0, 31.7, 0, 0, 44.8, 0, 0, 27.3, 0, 0, 0, 58.1, 0, 19.6, 0, 0, 36.2, 0, 0, 0, 24.4, 0, 71, 0, 0, 15.8, 0, 0, 39.9, 0, 0, 0, 47.3, 0, 0, 21.1, 0, 0, 0, 30.6";
const EXAMPLES = {
  proportion: {
    threshold: "0.001",
    rope: ["-0.005", "0.005"],
    rows: [
      { name: "A", users: "1000", conversions: "100" },
      { name: "B", users: "1000", conversions: "120" },
    ],
  },
  mean: {
    threshold: "0.5",
    rope: ["-1", "1"],
    rows: [
      { name: "A", users: "500", mean: "61.2", sd: "40.1" },
      { name: "B", users: "500", mean: "66", sd: "42.3" },
    ],
  },
  count: {
    threshold: "0.01",
    rope: ["-0.02", "0.02"],
    rows: [
      { name: "A", users: "1000", total: "420" },
      { name: "B", users: "1000", total: "475" },
    ],
  },
  revenue: {
    threshold: "0.5",
    rope: ["-0.5", "0.5"],
    rows: [
      { name: "A", amounts: REVENUE_A },
      { name: "B", amounts: REVENUE_B },
    ],
  },
  ratio: {
    threshold: "0.1",
    rope: ["-0.3", "0.3"],
    rows: [
      {
        name: "A",
        users: "1000",
        numerator_mean: "60",
        denominator_mean: "2",
        numerator_sd: "45",
        denominator_sd: "1.2",
        covariance: "40",
      },
      {
        name: "B",
        users: "1000",
        numerator_mean: "64",
        denominator_mean: "2",
        numerator_sd: "46",
        denominator_sd: "1.2",
        covariance: "41",
      },
    ],
  },
};

let csvNames = []; // variant names of the last CSV answer, for the control select

const metric = () => form.metric.value;
const byName = (name) => form.querySelector(`[name="${CSS.escape(name)}"]`);

// ---------------------------------------------------------------- the variants (row editor)

const variants = rowEditor({
  list: rowsBox,
  template: form.querySelector("[data-variant-row]"),
  scope: form.querySelector(".bayes-variants"),
  name: "variants",
  linkHidden: false,
  min: 2,
  minMessage: "An A/B test needs at least two variants.",
  onChange: () => {
    syncControl();
    rebuildGuardrails();
    page?.run();
  },
});

/** The variant rows' current values, as [{name, users, …}]. */
const readRows = () => variants.read();

/** Rebuild the rows for the current metric from values [{name, users, …}]. */
function buildRows(values) {
  const fields = FIELDS[metric()];
  variants.showColumns(["name", ...fields.map(([key]) => key)]);
  form.querySelector(".bayes-variants").style.setProperty("--cols", String(fields.length));
  variants.set(values);
  syncControl();
  rebuildGuardrails();
}

/** A new variant starts empty (never a copy of another's data); it is incomplete until filled. */
function addVariant() {
  const row = variants.add({ name: nextName(readRows().map((r) => r.name)) });
  syncControl();
  rebuildGuardrails();
  page?.run();
  row.querySelector(`[data-key="${FIELDS[metric()][0][0]}"]`)?.focus();
}

/** The control select lists the typed variant names, or the last CSV answer's names. */
function syncControl() {
  const select = form.control;
  const chosen = select.value;
  const names =
    form.source.value !== "typed"
      ? csvNames
      : readRows()
          .map((r) => r.name.trim())
          .filter(Boolean);
  const options = [new Option("Detect (control or A)", ""), ...names.map((n) => new Option(n, n))];
  select.replaceChildren(...options);
  select.value = names.includes(chosen) ? chosen : "";
}

// ---------------------------------------------------------------- guardrails (row editor)

/** A guardrail's numbers, one row per typed variant, fields guardrails[k].variants[i].key. */
function fillRail(rail, values = []) {
  const fields = FIELDS[rail.querySelector('[data-key="metric"]').value];
  const rows = readRows().map((v, i) => {
    const row = document.createElement("div");
    row.className = `bayes-row bayes-cols-${fields.length}`;
    const tag = document.createElement("span");
    tag.className = "bayes-name";
    tag.textContent = v.name || `#${i + 1}`;
    row.append(tag);
    for (const [key, label] of fields) {
      const input = document.createElement("input");
      input.type = "number";
      input.step = "any";
      input.inputMode = "decimal";
      input.dataset.key = `variants[${i}].${key}`;
      input.dataset.label = `${label} of ${v.name} for guardrail {n}`;
      input.value = values[i]?.[key] ?? "";
      row.append(input);
    }
    return row;
  });
  rail.querySelector("[data-rail-variants]").replaceChildren(...rows);
}

const guardrails = rowEditor({
  list: railsBox,
  template: form.querySelector("[data-rail-row]"),
  name: "guardrails",
  build(rail, g) {
    fillRail(rail, g.variants);
    rail.querySelector('[data-key="metric"]').addEventListener("change", () => {
      fillRail(rail);
      guardrails.renumber();
    });
  },
  onChange: () => page?.run(),
});

/** Each guardrail as {name, metric, tolerance, higher_is_better, variants: [{users, …}]}. */
function readRails() {
  return guardrails.read().map((g) => {
    const rail = { variants: [] };
    for (const [key, value] of Object.entries(g)) {
      const cell = /^variants\[(\d+)\]\.(\w+)$/.exec(key);
      if (!cell) rail[key] = value;
      else {
        const i = Number(cell[1]);
        rail.variants[i] = { ...rail.variants[i], [cell[2]]: value };
      }
    }
    return rail;
  });
}

/** The variants changed (names, count): each guardrail gets one row per variant again. */
function rebuildGuardrails() {
  const values = readRails();
  guardrails.rows().forEach((rail, k) => {
    fillRail(rail, values[k].variants);
  });
  guardrails.renumber();
}

function addGuardrail() {
  const all = readRails();
  const users = readRows().map((r) => r.users || "1000");
  guardrails.add({
    name: all.length ? `guardrail ${all.length + 1}` : "refunds",
    metric: "proportion",
    tolerance: "0.01",
    higher_is_better: "false",
    variants: users.map((u) => ({ users: u, conversions: String(Math.round(Number(u) * 0.05) || 0) })),
  });
  page?.run();
}

// ---------------------------------------------------------------- data source (a table)

const TABLE_ROLES = ["variant", "value", "date", "segment", "numerator", "denominator"]; // the selects table_<role>
// The metric column a name suggests, per metric.
const VALUE_NAMES = {
  proportion: /convert|conversion|click|signup|success/i,
  mean: /time|value|score|duration|amount/i,
  count: /count|events|purchases|orders|sessions/i,
  revenue: /revenue|spend|amount|sales/i,
  ratio: /revenue|value|clicks/i,
};

/** A table's columns fill the role selects: a text column for the variant, a number for the
 * metric, a date (none for revenue, whose model takes every amount) for the loss over time. */
function tableColumns(cols) {
  const names = cols.map((c) => c.name);
  const texts = cols.filter((c) => !c.numeric && !/date|time/.test(c.type)).map((c) => c.name);
  const numbers = cols.filter((c) => c.numeric && !/(^|_)id$/i.test(c.name)).map((c) => c.name);
  const dates = cols.filter((c) => /date|timestamp/.test(c.type) || /^(date|day)$/i.test(c.name)).map((c) => c.name);
  const variant = texts.find((c) => /variant|group|arm|bucket/i.test(c)) ?? texts[0];
  fillColumn(form.table_variant, names, variant);
  fillColumn(form.table_value, names, numbers.find((c) => VALUE_NAMES[metric()].test(c)) ?? numbers[0]);
  fillColumn(form.table_date, names, metric() === "revenue" ? "" : (dates[0] ?? ""), "(none)");
  for (const role of ["segment", "numerator", "denominator"]) fillColumn(form[`table_${role}`], names, "", "(none)");
  page?.run();
}

const picker = bindSourcePicker(form, { onColumns: tableColumns });

// ---------------------------------------------------------------- request and errors

const num = (v) => (v === "" ? null : Number(v));

function recordOf(values, fields) {
  const out = { name: values.name };
  for (const [key] of fields) {
    if (key === "amounts")
      out.amounts = values.amounts
        .split(/[\s,;]+/)
        .filter(Boolean)
        .map(Number);
    else out[key] = num(values[key]);
  }
  return out;
}

function options() {
  const m = metric();
  const body = {
    metric: m,
    threshold: num(form.threshold.value),
    rope: [num(form.rope_low.value), num(form.rope_high.value)],
  };
  if (m === "proportion" || m === "revenue")
    body.prior = { alpha: num(form.prior_alpha.value), beta: num(form.prior_beta.value) };
  if (m === "count") body.prior = { shape: num(form.prior_shape.value), rate: num(form.prior_rate.value) };
  for (const key of ["draws", "seed"]) if (form[key].value.trim() !== "") body[key] = Number(form[key].value);
  if (form.control.value) body.control = form.control.value;
  if (form.higher_is_better.value === "false") body.higher_is_better = false;
  if (form.effect_prior_sd.value.trim() !== "") {
    body.effect_prior = { mean: num(form.effect_prior_mean.value.trim()) ?? 0, sd: num(form.effect_prior_sd.value) };
  }
  const rails = readRails();
  if (form.correlation.value.trim() && rails.length)
    body.correlation = correlation(form.correlation.value, rails.length + 1);
  if (form.weights.value.trim())
    body.weights = form.weights.value
      .split(/[,;\s]+/)
      .filter(Boolean)
      .map(Number);
  if (rails.length) {
    body.guardrails = rails.map((g) => ({
      name: g.name,
      metric: g.metric,
      tolerance: num(g.tolerance),
      higher_is_better: g.higher_is_better === "true",
      variants: g.variants.map((v, i) => recordOf({ ...v, name: readRows()[i]?.name ?? "" }, FIELDS[g.metric])),
    }));
  }
  return body;
}

/** One correlation for every pair of the k metrics, or a JSON matrix as typed. */
function correlation(text, k) {
  const t = text.trim();
  if (t.startsWith("[")) {
    try {
      return JSON.parse(t);
    } catch {
      return t; // the server names the field
    }
  }
  const rho = Number(t);
  return Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => (i === j ? 1 : rho)));
}

function payload() {
  const body = options();
  if (form.source.value === "typed") {
    body.variants = readRows().map((r) => recordOf(r, FIELDS[metric()]));
    return body;
  }
  if (form.source.value === "table") {
    Object.assign(body, picker.selected());
    for (const key of TABLE_ROLES) if (form[`table_${key}`].value) body[key] = form[`table_${key}`].value;
    return body;
  }
  const data = new FormData();
  const upload = csvFile();
  if (upload) data.append("file", upload);
  else data.append("csv", form.csv.value);
  for (const key of ["variant", "value", "date", "segment", "numerator", "denominator"]) {
    if (form[key].value.trim()) data.append(key, form[key].value.trim());
  }
  for (const [key, value] of Object.entries(body)) {
    if (value === null) continue;
    data.append(key, typeof value === "object" ? JSON.stringify(value) : String(value));
  }
  return data;
}

/** The input an error belongs to: rope[0] → low end, variants[i] fields, CSV columns → the CSV box. */
function fieldFor(name) {
  if (!name) return null;
  if (form.source.value === "table") {
    if (TABLE_ROLES.includes(name)) return form[`table_${name}`];
    const picked = { source: form.source_name, table: form.source_table }[name];
    if (picked) return picked;
  }
  if (name.startsWith("rope")) return name === "rope[1]" ? form.rope_high : form.rope_low;
  if (name.startsWith("effect_prior")) return name.endsWith("mean") ? form.effect_prior_mean : form.effect_prior_sd;
  if (name.startsWith("correlation")) return form.correlation;
  if (name.startsWith("weights")) return form.weights;
  const prior = /^prior\.(\w+)$/.exec(name);
  if (prior) return byName(`prior_${prior[1]}`);
  const csv = form.source.value === "csv";
  const dataBox = csvFile() ? form.file : form.csv;
  if (csv && name.startsWith("variants")) return dataBox;
  const direct = byName(name);
  if (direct) return direct;
  const row = variants.field(name) || guardrails.field(name);
  if (row) return row;
  if (csv) return dataBox;
  return null;
}

// ---------------------------------------------------------------- rendering

const isRate = () => metric() === "proportion";
const pct = fmtWith(1, "percent");
const value = (v) => (isRate() ? fmtPct(v, 2) : fmt(v, 4));
const diff = (v) => (isRate() ? fmtPoints(v, 3, { signed: false }) : fmt(v, 4));
const VERDICT = { ship: "verdict-ship", "keep-control": "verdict-neutral", "keep-collecting": "verdict-hold" };
const TITLE = { ship: "Ship", "keep-control": "Keep control", "keep-collecting": "Keep collecting" };

function renderDecision(r) {
  const card = form.closest("main").querySelector("[data-decision]");
  card.hidden = false;
  card.className = `card verdict ${VERDICT[r.decision]}`;
  const h = document.createElement("h2");
  h.className = "bayes-decision";
  const badge = document.createElement("span");
  badge.className = `badge ${r.decision === "ship" ? "badge-good" : "badge-neutral"}`;
  badge.textContent = TITLE[r.decision];
  h.append(badge, ` ${r.decision === "ship" ? r.best : r.decision === "keep-control" ? r.control : "no decision yet"}`);
  const ul = document.createElement("ul");
  for (const reason of r.reasons) {
    const li = document.createElement("li");
    li.textContent = reason;
    ul.append(li);
  }
  card.replaceChildren(h, ul);
}

/** Each variant against control within each segment (a segment column is named). */
function segmentTable(r) {
  renderSegmentTable(document.querySelector('[data-table="segments"]'), r, {
    effect: diff,
    what: "Lift",
    note: ", with partial pooling",
    filename: "abacus-bayesian-segments.csv",
  });
}

function render(data) {
  const r = data.result;
  if (r.source) {
    csvNames = r.variants.map((v) => v.name);
    syncControl();
    form.control.value = r.control;
    const s = r.source;
    form.querySelector("#h-value").textContent =
      `Using column ${s.value} (${s.layout === "users" ? "one row per user" : "one row per variant"})${s.date ? `, dates from ${s.date}` : ""}.`;
  }
  renderDecision(r);
  const best = r.variants.find((v) => v.name === r.best);
  const first = r.comparisons.find((c) => c.variant === r.best) || r.comparisons[0];
  renderKpis(document.querySelector("[data-kpis]"), [
    { label: `P(${best.name} is best)`, value: fmtPct(best.prob_best) },
    { label: `expected loss of ${best.name}`, value: diff(best.expected_loss) },
    { label: `P(${first.variant} > ${r.control})`, value: fmtPct(first.prob_better) },
    { label: `lift of ${first.variant}`, value: diff(first.lift_mean) },
    {
      label: `95% HDI of the lift${isRate() ? " (pts)" : ""}`,
      value: isRate()
        ? `${fmt(first.hdi_low * 100, 2)} to ${fmt(first.hdi_high * 100, 2)}`
        : `${fmt(first.hdi_low, 3)} to ${fmt(first.hdi_high, 3)}`,
    },
  ]);
  const lossCard = document.querySelector("[data-loss-card]");
  lossCard.hidden = !data.figures.loss_over_time;
  document.querySelector("[data-segments-card]").hidden = !data.figures.segments;
  plotAll(data.figures);
  segmentTable(r);
  renderTable(document.querySelector('[data-table="variants"]'), {
    title: "Variants",
    columns: [
      { key: "name", label: "Variant", format: (v) => v },
      { key: "mean", label: "Posterior mean", format: value },
      { key: "ci_low", label: "95% CI low", format: value },
      { key: "ci_high", label: "95% CI high", format: value },
      { key: "prob_best", label: "P(best)", format: pct },
      { key: "expected_loss", label: "Expected loss", format: diff },
      { key: "cvar", label: "Worst-5% loss (CVaR)", format: diff },
    ],
    rows: r.variants,
    filename: "abacus-bayesian-variants.csv",
  });
  renderTable(document.querySelector('[data-table="comparisons"]'), {
    title: `Against ${r.control}`,
    columns: [
      { key: "variant", label: "Variant", format: (v) => v },
      { key: "prob_better", label: "P(better)", format: pct },
      { key: "lift_mean", label: "Lift", format: diff },
      { key: "hdi_low", label: "95% HDI low", format: diff },
      { key: "hdi_high", label: "95% HDI high", format: diff },
      { key: "relative_lift_mean", label: "Relative lift", format: pct },
      { key: "prob_rope_below", label: "P(below band)", format: pct },
      { key: "prob_rope_inside", label: "P(negligible)", format: pct },
      { key: "prob_rope_above", label: "P(above band)", format: pct },
      { key: "prob_better_and_safe", label: "P(better, guardrails safe)", format: pct },
    ],
    rows: r.comparisons,
    filename: "abacus-bayesian-comparisons.csv",
  });
  optionalTable('[data-table="guardrails"]', {
    title: "Guardrails",
    columns: [
      { key: "guardrail", label: "Guardrail", format: (v) => v },
      { key: "variant", label: "Variant", format: (v) => v },
      { key: "prob_degrade", label: "P(degrades beyond tolerance)", format: pct },
      { key: "fails", label: "Fails", format: (v) => (v ? "yes" : "no") },
    ],
    rows: r.guardrails,
    filename: "abacus-bayesian-guardrails.csv",
  });
  severalMetrics(r, data.figures);
}

/** Joint probabilities and the composite (with guardrails or weights), and the effect prior's pull. */
function severalMetrics(r, figures) {
  document.querySelector("[data-joint-card]").hidden = !figures.joint;
  document.querySelector("[data-prior-card]").hidden = !figures.effect_prior;
  optionalTable('[data-table="joint"]', {
    title: `Several metrics at once (${r.dependence} draws)`,
    columns: [
      { key: "variant", label: "Variant", format: (v) => v },
      { key: "prob_win", label: "P(better)", format: pct },
      { key: "prob_win_and_safe", label: "P(better, guardrails hold)", format: pct },
      { key: "prob_independent", label: "…if independent", format: pct },
      { key: "composite_mean", label: "Composite score", format: pct },
      { key: "composite_low", label: "Composite 95% low", format: pct },
      { key: "composite_high", label: "Composite 95% high", format: pct },
      { key: "composite_prob_positive", label: "P(composite > 0)", format: pct },
    ],
    rows: r.joint,
    filename: "abacus-bayesian-joint.csv",
  });
  optionalTable('[data-table="prior"]', {
    title: "Effect prior: how far it moved each lift",
    columns: [
      { key: "variant", label: "Variant", format: (v) => v },
      { key: "data_mean", label: "Lift (data)", format: diff },
      { key: "posterior_mean", label: "Lift (posterior)", format: diff },
      { key: "prior_mean", label: "Prior mean", format: diff },
      { key: "prior_sd", label: "Prior sd", format: diff },
      { key: "data_sd", label: "Data sd", format: diff },
      { key: "posterior_sd", label: "Posterior sd", format: diff },
      { key: "prior_weight", label: "Prior's weight", format: pct },
    ],
    rows: r.prior_influence,
    filename: "abacus-bayesian-effect-prior.csv",
  });
}

/** The table `spec` describes in the box `selector` names, or an empty box when it has no rows. */
function optionalTable(selector, spec) {
  const box = document.querySelector(selector);
  if (spec.rows.length) renderTable(box, spec);
  else box.replaceChildren();
}

function sync() {
  for (const box of form.querySelectorAll("[data-mode]")) box.hidden = box.dataset.mode !== form.source.value;
  const m = metric();
  for (const name of ["prior_alpha", "prior_beta"])
    form.querySelector(`[data-field="${name}"]`).hidden = !(m === "proportion" || m === "revenue");
  for (const name of ["prior_shape", "prior_rate"]) form.querySelector(`[data-field="${name}"]`).hidden = m !== "count";
  form.querySelector("[data-prior-note]").hidden = m !== "mean";
  form.querySelector("[data-variants-hint]").textContent =
    m === "revenue" ? "Each user's revenue, zeros included, separated by commas; a CSV suits real data better." : "";
}

// ---------------------------------------------------------------- wiring

form.querySelector("[data-add-variant]").addEventListener("click", addVariant);
form.querySelector("[data-add-guardrail]").addEventListener("click", addGuardrail);
const METRIC_LABEL = {
  proportion: "conversion rate",
  mean: "continuous (mean)",
  count: "count per user",
  revenue: "revenue per user",
};
const sameRows = (a, b, m) =>
  a.length === b.length &&
  a.every((row, i) => row.name === b[i].name && FIELDS[m].every(([key]) => (row[key] ?? "") === (b[i][key] ?? "")));
let shownMetric = metric(); // the metric the rows on the page are for

/**
 * Another metric: the variants keep their names (and users, where both metrics count users);
 * the other numbers mean something else now, so they start empty, unless the rows are still
 * the old metric's example. The threshold and band are in the metric's units: they take the
 * new metric's defaults, and a toast says so when the user had changed them.
 */
function switchMetric() {
  const before = shownMetric;
  const after = metric();
  shownMetric = after;
  const old = EXAMPLES[before];
  const example = EXAMPLES[after];
  const typed = [form.threshold.value, form.rope_low.value, form.rope_high.value];
  if (typed.join("|") !== [old.threshold, ...old.rope].join("|")) {
    toast(
      `The threshold and the negligible band are in the metric's units: they were ${typed.join(", ")} ` +
        `for the ${METRIC_LABEL[before]} and are now the defaults for the ${METRIC_LABEL[after]}; adjust them.`,
      null,
      "info",
    );
  }
  form.threshold.value = example.threshold;
  [form.rope_low.value, form.rope_high.value] = example.rope;
  const rows = readRows();
  const untouched = sameRows(rows, old.rows, before);
  const keepUsers = FIELDS[after].some(([key]) => key === "users");
  buildRows(
    untouched ? example.rows : rows.map((r) => ({ name: r.name, ...(keepUsers && r.users ? { users: r.users } : {}) })),
  );
}
form.metric.addEventListener("change", switchMetric);
form.source.addEventListener("change", () => {
  csvNames = []; // the last answer's variants were another data's
  sync();
  syncControl();
  if (form.source.value === "table") picker.load();
});
rowsBox.addEventListener("change", (e) => {
  if (e.target.name?.endsWith(".name")) {
    syncControl();
    rebuildGuardrails();
  }
});

const csvFile = bindCsvInput(form, { onChange: () => page?.run() });

// Rows (and guardrails) exist before bindPage restores a shared link into them: the link's
// metric first (it decides the columns), then as many rows as the link holds.
let page = null;
restoreFromURL(form);
if (!FIELDS[metric()]) form.metric.value = "proportion";
const linked = variants.linkCount();
buildRows(linked >= 2 ? Array.from({ length: linked }, () => ({})) : EXAMPLES[metric()].rows);
for (let k = 0; k < guardrails.linkCount(); k++) {
  guardrails.add({ metric: linkValue(`guardrails[${k}].metric`) || "proportion" });
}
shownMetric = metric();

/** A row not yet filled in is incomplete, not an error: no request until it is. */
function incomplete() {
  if (form.source.value === "table") {
    if (picker.missing()) return picker.missing();
    return picker.selected() && form.table_variant.value && form.table_value.value
      ? null
      : "Pick a source and a table, then its variant and metric columns, to see the results.";
  }
  if (form.source.value === "csv") return null;
  const fields = FIELDS[metric()];
  const empty = readRows().some((r) => fields.some(([key]) => (r[key] ?? "").trim() === ""));
  return empty
    ? `Fill in the ${fields.map(([, l]) => l.toLowerCase()).join(", ")} of every variant to see the results.`
    : null;
}
/** Open a collapsed section (guardrails, prior, draws) so that its error toast shows. */
function fieldShown(name) {
  const el = fieldFor(name);
  el?.closest("details:not([open])")?.setAttribute("open", "");
  return el;
}

page = bindPage({ form, payload, render, sync, fieldFor: fieldShown, incomplete });
syncControl();
if (form.source.value === "table") picker.load(); // a shared link in Data source mode

// ---------------------------------------------------------------- honest stopping

const stop = document.getElementById("stopping");
// The stopping form's fields are named s_<field> (unique on the page); the API wants <field>.
bindPage({
  form: stop,
  root: document.querySelector("[data-stop-root]"),
  payload: (f) => Object.fromEntries(Object.entries(formPayload(f)).map(([k, v]) => [k.slice(2), v])),
  fieldFor: (name) => (name ? stop.querySelector(`[name="s_${CSS.escape(name)}"]`) : null),
  render: (data) => {
    const r = data.result;
    renderKpis(document.querySelector("[data-stop-kpis]"), [
      {
        label: "ships B, checked daily",
        value: `${fmtPct(r.ship_rate_daily)} ± ${fmtPct(r.ship_rate_daily_se)}`,
      },
      {
        label: "ships B, once at the end",
        value: `${fmtPct(r.ship_rate_end)} ± ${fmtPct(r.ship_rate_end_se)}`,
      },
      { label: "simulated experiments", value: fmt(r.simulations, 0) },
    ]);
    plotAll(data.figures);
  },
});
