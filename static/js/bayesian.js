import { bindCsvInput, bindPage, fmt, formPayload, nextName, plotAll, renderKpis, renderTable, toast } from "./app.js";

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
};
const GUARDRAIL_METRICS = [
  ["proportion", "Conversion rate"],
  ["mean", "Continuous (mean)"],
  ["count", "Count per user"],
];

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
};

let csvNames = []; // variant names of the last CSV answer, for the control select

const metric = () => form.metric.value;
const byName = (name) => form.querySelector(`[name="${CSS.escape(name)}"]`);

function input(name, label, value = "", type = "number") {
  const el = document.createElement(type === "textarea" ? "textarea" : "input");
  el.name = name;
  if (type !== "textarea") el.type = type;
  if (type === "number") {
    el.step = "any";
    el.inputMode = "decimal";
  }
  el.value = value;
  el.setAttribute("aria-label", label);
  return el;
}

function removeButton(label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "bayes-remove";
  b.textContent = "×";
  b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}

// ---------------------------------------------------------------- the variants editor

function rowCount() {
  return rowsBox.querySelectorAll(".bayes-row:not(.bayes-head)").length;
}

/** The variant rows' current values, as [{name, users, …}]. */
function readRows() {
  return [...rowsBox.querySelectorAll(".bayes-row:not(.bayes-head)")].map((row) => {
    const out = {};
    for (const el of row.querySelectorAll("[name]")) out[el.name.split(".").pop()] = el.value;
    return out;
  });
}

/** Rebuild the rows for the current metric from values [{name, users, …}]. */
function buildRows(values) {
  const fields = FIELDS[metric()];
  const head = document.createElement("div");
  head.className = `bayes-row bayes-head bayes-cols-${fields.length}`;
  head.setAttribute("aria-hidden", "true");
  for (const label of ["Name", ...fields.map(([, l]) => l), ""]) {
    const span = document.createElement("span");
    span.textContent = label;
    head.append(span);
  }
  const rows = values.map((v, i) => {
    const row = document.createElement("div");
    row.className = `bayes-row bayes-cols-${fields.length}`;
    row.dataset.field = `variants[${i}]`;
    const name = input(`variants[${i}].name`, `Variant ${i + 1} name`, v.name ?? "", "text");
    row.append(name);
    for (const [key, label] of fields) {
      const type = key === "amounts" ? "textarea" : "number";
      row.append(input(`variants[${i}].${key}`, `${label} of variant ${i + 1}`, v[key] ?? "", type));
    }
    row.append(
      removeButton(`Remove variant ${i + 1}`, () => {
        if (rowCount() <= 2) {
          toast("An A/B test needs at least two variants.");
          return;
        }
        const kept = readRows();
        kept.splice(i, 1);
        buildRows(kept);
        page?.run();
      }),
    );
    return row;
  });
  rowsBox.replaceChildren(head, ...rows);
  syncControl();
  rebuildGuardrails();
}

/** A new variant starts empty (never a copy of another's data); it is incomplete until filled. */
function addVariant() {
  const rows = readRows();
  rows.push({ name: nextName(rows.map((r) => r.name)) });
  buildRows(rows);
  page?.run();
  rowsBox.querySelector(`.bayes-row:last-child [name$="].${FIELDS[metric()][0][0]}"]`)?.focus();
}

/** The control select lists the typed variant names, or the last CSV answer's names. */
function syncControl() {
  const select = form.control;
  const chosen = select.value;
  const names =
    form.source.value === "csv"
      ? csvNames
      : readRows()
          .map((r) => r.name.trim())
          .filter(Boolean);
  const options = [new Option("Detect (control or A)", ""), ...names.map((n) => new Option(n, n))];
  select.replaceChildren(...options);
  select.value = names.includes(chosen) ? chosen : "";
}

// ---------------------------------------------------------------- guardrails

function railCount() {
  return railsBox.querySelectorAll(".bayes-rail").length;
}

function readRails() {
  return [...railsBox.querySelectorAll(".bayes-rail")].map((box) => {
    const get = (key) => box.querySelector(`[name$="].${key}"]:not([name*="variants"])`)?.value ?? "";
    const variants = [...box.querySelectorAll(".bayes-row:not(.bayes-head)")].map((row) => {
      const out = {};
      for (const el of row.querySelectorAll("[name]")) out[el.name.split(".").pop()] = el.value;
      return out;
    });
    return {
      name: get("name"),
      metric: get("metric"),
      tolerance: get("tolerance"),
      higher_is_better: get("higher_is_better"),
      variants,
    };
  });
}

function labelled(text, el) {
  const label = document.createElement("label");
  label.className = "field";
  const span = document.createElement("span");
  span.textContent = text;
  label.append(span, el);
  return label;
}

function selectOf(name, label, options, value) {
  const s = document.createElement("select");
  s.name = name;
  s.setAttribute("aria-label", label);
  for (const [v, text] of options) s.append(new Option(text, v, false, v === value));
  return s;
}

/** Rebuild the guardrails from values, one number row per typed variant. */
function buildRails(values) {
  const names = readRows().map((r) => r.name);
  const boxes = values.map((g, k) => {
    const box = document.createElement("fieldset");
    box.className = "bayes-rail";
    const legend = document.createElement("legend");
    legend.textContent = `Guardrail ${k + 1}`;
    const p = `guardrails[${k}]`;
    const gMetric = g.metric || "proportion";
    const metricSelect = selectOf(`${p}.metric`, `Guardrail ${k + 1} metric`, GUARDRAIL_METRICS, gMetric);
    metricSelect.addEventListener("change", () => {
      const all = readRails();
      all[k].metric = metricSelect.value;
      all[k].variants = [];
      buildRails(all);
    });
    const top = document.createElement("div");
    top.className = "bayes-rail-top";
    top.append(
      labelled("Name", input(`${p}.name`, `Guardrail ${k + 1} name`, g.name ?? "", "text")),
      labelled("Metric", metricSelect),
      labelled("Tolerance", input(`${p}.tolerance`, `Guardrail ${k + 1} tolerance`, g.tolerance ?? "0.01")),
      labelled(
        "Direction",
        selectOf(
          `${p}.higher_is_better`,
          `Guardrail ${k + 1} direction`,
          [
            ["true", "Higher is better"],
            ["false", "Lower is better"],
          ],
          g.higher_is_better || "true",
        ),
      ),
    );
    top.dataset.field = p;
    const fields = FIELDS[gMetric];
    const rows = names.map((name, i) => {
      const row = document.createElement("div");
      row.className = `bayes-row bayes-cols-${fields.length}`;
      const tag = document.createElement("span");
      tag.className = "bayes-name";
      tag.textContent = name || `#${i + 1}`;
      row.append(tag);
      const v = g.variants?.[i] || {};
      for (const [key, label] of fields) {
        row.append(input(`${p}.variants[${i}].${key}`, `${label} of ${name} for guardrail ${k + 1}`, v[key] ?? ""));
      }
      return row;
    });
    const remove = removeButton(`Remove guardrail ${k + 1}`, () => {
      const all = readRails();
      all.splice(k, 1);
      buildRails(all);
      page?.run();
    });
    remove.classList.add("bayes-rail-remove");
    box.append(legend, remove, top, ...rows);
    return box;
  });
  railsBox.replaceChildren(...boxes);
}

function rebuildGuardrails() {
  if (railCount()) buildRails(readRails());
}

function addGuardrail() {
  const all = readRails();
  const users = readRows().map((r) => r.users || "1000");
  all.push({
    name: all.length ? `guardrail ${all.length + 1}` : "refunds",
    metric: "proportion",
    tolerance: "0.01",
    higher_is_better: "false",
    variants: users.map((u) => ({ users: u, conversions: String(Math.round(Number(u) * 0.05) || 0) })),
  });
  buildRails(all);
  page?.run();
}

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
  const rails = readRails();
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

function payload() {
  const body = options();
  if (form.source.value !== "csv") {
    body.variants = readRows().map((r) => recordOf(r, FIELDS[metric()]));
    return body;
  }
  const data = new FormData();
  const upload = csvFile();
  if (upload) data.append("file", upload);
  else data.append("csv", form.csv.value);
  for (const key of ["variant", "value", "date"]) if (form[key].value.trim()) data.append(key, form[key].value.trim());
  for (const [key, value] of Object.entries(body)) {
    if (value === null) continue;
    data.append(key, typeof value === "object" ? JSON.stringify(value) : String(value));
  }
  return data;
}

/** The input an error belongs to: rope[0] → low end, variants[i] fields, CSV columns → the CSV box. */
function fieldFor(name) {
  if (!name) return null;
  if (name.startsWith("rope")) return name === "rope[1]" ? form.rope_high : form.rope_low;
  const prior = /^prior\.(\w+)$/.exec(name);
  if (prior) return byName(`prior_${prior[1]}`);
  const csv = form.source.value === "csv";
  const dataBox = csvFile() ? form.file : form.csv;
  if (csv && name.startsWith("variants")) return dataBox;
  const direct = byName(name);
  if (direct) return direct;
  if (/^(variants|guardrails)\[\d+\]/.test(name)) {
    const row = form.querySelector(`[name^="${CSS.escape(name)}"]`);
    if (row) return row;
  }
  if (name === "variants") return rowsBox.querySelector("input");
  if (csv) return dataBox;
  return null;
}

// ---------------------------------------------------------------- rendering

const isRate = () => metric() === "proportion";
const pct =
  (digits = 1) =>
  (v) =>
    fmt(v, digits, "percent");
const value = (v) => (isRate() ? fmt(v, 2, "percent") : fmt(v, 4));
const diff = (v) => (v === null ? "–" : isRate() ? `${fmt(v * 100, 3)} pts` : fmt(v, 4));
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
    { label: `P(${best.name} is best)`, value: fmt(best.prob_best, 1, "percent") },
    { label: `expected loss of ${best.name}`, value: diff(best.expected_loss) },
    { label: `P(${first.variant} > ${r.control})`, value: fmt(first.prob_better, 1, "percent") },
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
  plotAll(data.figures);
  renderTable(document.querySelector('[data-table="variants"]'), {
    title: "Variants",
    columns: [
      { key: "name", label: "Variant", format: (v) => v },
      { key: "mean", label: "Posterior mean", format: value },
      { key: "ci_low", label: "95% CI low", format: value },
      { key: "ci_high", label: "95% CI high", format: value },
      { key: "prob_best", label: "P(best)", format: pct(1) },
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
      { key: "prob_better", label: "P(better)", format: pct(1) },
      { key: "lift_mean", label: "Lift", format: diff },
      { key: "hdi_low", label: "95% HDI low", format: diff },
      { key: "hdi_high", label: "95% HDI high", format: diff },
      { key: "relative_lift_mean", label: "Relative lift", format: pct(1) },
      { key: "prob_rope_below", label: "P(below band)", format: pct(1) },
      { key: "prob_rope_inside", label: "P(negligible)", format: pct(1) },
      { key: "prob_rope_above", label: "P(above band)", format: pct(1) },
      { key: "prob_better_and_safe", label: "P(better, guardrails safe)", format: pct(1) },
    ],
    rows: r.comparisons,
    filename: "abacus-bayesian-comparisons.csv",
  });
  const rails = document.querySelector('[data-table="guardrails"]');
  if (r.guardrails.length) {
    renderTable(rails, {
      title: "Guardrails",
      columns: [
        { key: "guardrail", label: "Guardrail", format: (v) => v },
        { key: "variant", label: "Variant", format: (v) => v },
        { key: "prob_degrade", label: "P(degrades beyond tolerance)", format: pct(1) },
        { key: "fails", label: "Fails", format: (v) => (v ? "yes" : "no") },
      ],
      rows: r.guardrails,
      filename: "abacus-bayesian-guardrails.csv",
    });
  } else rails.replaceChildren();
}

function sync() {
  const csv = form.source.value === "csv";
  for (const box of form.querySelectorAll("[data-mode]")) box.hidden = box.dataset.mode !== (csv ? "csv" : "typed");
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
  sync();
  syncControl();
});
rowsBox.addEventListener("change", (e) => {
  if (e.target.name?.endsWith(".name")) {
    syncControl();
    rebuildGuardrails();
  }
});

const csvFile = bindCsvInput(form, { onChange: () => page?.run() });

/** Rows (and guardrails) exist before bindPage restores the URL state into them. */
function rowsFromURL() {
  const params = new URLSearchParams(location.search);
  const count = (re) => Math.max(0, ...[...params.keys()].map((k) => Number(re.exec(k)?.[1] ?? -1) + 1));
  /** The values saved under prefix (e.g. "variants[0].") as an object. */
  const saved = (prefix) =>
    Object.fromEntries(
      [...params]
        .filter(([k]) => k.startsWith(prefix) && !k.slice(prefix.length).includes("."))
        .map(([k, v]) => [k.slice(prefix.length), v]),
    );
  if (FIELDS[params.get("metric")]) form.metric.value = params.get("metric");
  if (params.get("source") === "csv") form.source.value = "csv";
  const n = count(/^variants\[(\d+)\]\.name$/);
  buildRows(n >= 2 ? Array.from({ length: n }, (_, i) => saved(`variants[${i}].`)) : EXAMPLES[metric()].rows);
  const rails = count(/^guardrails\[(\d+)\]\.name$/);
  if (rails) {
    buildRails(
      Array.from({ length: rails }, (_, k) => ({
        ...saved(`guardrails[${k}].`),
        variants: Array.from({ length: rowCount() }, (_, i) => saved(`guardrails[${k}].variants[${i}].`)),
      })),
    );
  }
}

let page = null;
rowsFromURL();
shownMetric = metric();

/** A row not yet filled in is incomplete, not an error: no request until it is. */
function incomplete() {
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
        value: `${fmt(r.ship_rate_daily, 1, "percent")} ± ${fmt(r.ship_rate_daily_se, 1, "percent")}`,
      },
      {
        label: "ships B, once at the end",
        value: `${fmt(r.ship_rate_end, 1, "percent")} ± ${fmt(r.ship_rate_end_se, 1, "percent")}`,
      },
      { label: "simulated experiments", value: fmt(r.simulations, 0) },
    ]);
    plotAll(data.figures);
  },
});
