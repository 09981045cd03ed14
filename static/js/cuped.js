import {
  bindCsvInput,
  bindPage,
  fmt,
  fmtP,
  fmtSigned,
  fmtWith,
  linkValue,
  plotAll,
  renderKpis,
  renderTable,
  toast,
} from "./app.js";
import { renderSegmentTable } from "./segment_table.js";
import { bindSourcePicker } from "./sources.js";

const form = document.getElementById("params");
const tableMode = () => form.source.value === "table";
let header = [];
let linkedControl = linkValue("control") !== null; // a shared link's control, kept for its first request
let analysis = null; // bindPage's handle, once the sample is in the text box

// ---------------------------------------------------------------- columns from the CSV header

/** The column names on the first non-empty line (comma, semicolon, tab or pipe separated). */
function parseHeader(text) {
  const first =
    text
      .replace(/^\uFEFF/, "")
      .split(/\r?\n/)
      .find((l) => l.trim()) || "";
  const delimiter = [",", ";", "\t", "|"].reduce(
    (best, d) => (first.split(d).length > first.split(best).length ? d : best),
    ",",
  );
  return first
    .split(delimiter)
    .map((c) => c.trim().replace(/^"(.*)"$/, "$1"))
    .filter(Boolean);
}

/** Best guess for a role: the current choice, the URL's, a name that fits, else the first free one. */
function pick(select, pattern, taken) {
  const free = header.filter((c) => !taken.includes(c));
  for (const c of [select.value, linkValue(select.name)]) if (c && free.includes(c)) return c;
  const plain = free.filter((c) => !/(^|[_ ])id$/i.test(c)); // user ids are never a role here
  return plain.find((c) => pattern.test(c)) || plain[0] || free[0] || "";
}

function fillSelect(select, value) {
  select.replaceChildren(...header.map((c) => new Option(c, c, false, c === value)));
  select.value = value;
}

function setHeader(columns) {
  if (columns.join("\u0000") === header.join("\u0000")) return;
  header = columns;
  const variant = pick(form.variant, /variant|group|arm|bucket|treatment|cohort/i, []);
  const covariate = pick(form.covariate, /pre|before|prior|baseline|last|previous/i, [variant]);
  const outcome = pick(form.outcome, /^(?!.*(pre|before|prior)).*$/i, [variant, covariate]);
  fillSelect(form.variant, variant);
  fillSelect(form.covariate, covariate);
  fillSelect(form.outcome, outcome);
  const segment = [form.segment.value, linkValue("segment")].find((c) => c && header.includes(c)) ?? "";
  form.segment.replaceChildren(new Option("(none)", ""), ...header.map((c) => new Option(c, c)));
  form.segment.value = segment;
  for (const select of [form.denominator, form.denominator_pre]) {
    const kept = [select.value, linkValue(select.name)].find((c) => c && header.includes(c)) ?? "";
    select.replaceChildren(new Option("(none: a mean)", ""), ...header.map((c) => new Option(c, c)));
    select.value = kept;
  }
  // Arms come back with the next result; only the page's first data keep a link's control.
  if (!linkedControl) form.control.replaceChildren();
  linkedControl = false;
}

function sync() {
  for (const box of form.querySelectorAll("[data-mode]")) box.hidden = box.dataset.mode !== form.source.value;
  form.querySelector('[data-field="segment"]').hidden = tableMode(); // segments need the rows
  for (const name of ["denominator", "denominator_pre"])
    form.querySelector(`[data-field="${name}"]`).hidden = tableMode();
  if (!tableMode() && !csvFile()) setHeader(parseHeader(form.csv.value));
}

// ---------------------------------------------------------------- data source (a table)

// A table's columns take the place of the CSV header: the same guesses fill the roles.
const picker = bindSourcePicker(form, {
  onColumns: (cols) => {
    setHeader(cols.map((c) => c.name));
    analysis?.run();
  },
});
form.source.addEventListener("change", () => {
  if (tableMode()) picker.load();
});

/** Data source mode waits (a hint, not an error) until a table and its roles are picked. */
function incomplete() {
  if (!tableMode()) return null;
  if (picker.missing()) return picker.missing();
  return picker.selected() && form.variant.value && form.outcome.value && form.covariate.value
    ? null
    : "Pick a source and a table, then its variant, outcome and pre-experiment columns, to see the results.";
}

// ---------------------------------------------------------------- request and response

function payload() {
  const fields = {};
  for (const name of ["variant", "outcome", "covariate", "control"]) {
    if (form[name].value) fields[name] = form[name].value;
  }
  if (form.alpha.value.trim() !== "") fields.alpha = Number(form.alpha.value);
  if (tableMode()) return { ...picker.selected(), ...fields };
  if (form.segment.value) fields.segment = form.segment.value;
  for (const name of ["denominator", "denominator_pre"]) if (form[name].value) fields[name] = form[name].value;
  const upload = csvFile();
  if (!upload) return { csv: form.csv.value, ...fields };
  const body = new FormData();
  body.append("file", upload);
  for (const [k, v] of Object.entries(fields)) body.append(k, String(v));
  return body;
}

/** Errors about the CSV itself (or one of its columns) go under the data field. */
function fieldFor(name) {
  if (tableMode()) return { source: form.source_name, table: form.source_table }[name] ?? null;
  if (name === "file" || name === "csv" || (name && header.includes(name) && !form[name])) return form.csv;
  return null;
}

function render(data) {
  const r = data.result;
  const cuped = "theta" in r;
  renderKpis(
    document.querySelector("[data-kpis]"),
    cuped
      ? [
          { label: "θ (adjustment slope)", value: fmt(r.theta, 3) },
          { label: "ρ (correlation)", value: fmt(r.rho, 2) },
          { label: "variance kept (1 − ρ²)", value: fmt(r.variance_reduction, 0, "percent") },
          {
            label: "as many users, in effect",
            value: r.effective_multiplier === null ? "–" : `${fmt(r.effective_multiplier, 2)}×`,
          },
          { label: "users without pre-period value", value: fmt(r.n_missing_covariate, 0) },
        ]
      : [
          { label: "R² of the adjusted model", value: fmt(r.r_squared, 0, "percent") },
          { label: "covariates", value: r.covariates.join(", ") },
          { label: "users", value: fmt(r.n, 0) },
          { label: "users missing a covariate", value: fmt(r.n_missing_covariate, 0) },
        ],
  );
  const scatter = document.getElementById("fig-scatter");
  scatter.closest("figure").hidden = !data.figures.scatter;
  if (!data.figures.scatter) window.Plotly.purge(scatter);
  const segments = document.getElementById("fig-segments");
  segments.closest("figure").hidden = !data.figures.segments;
  if (!data.figures.segments) window.Plotly.purge(segments);
  plotAll(data.figures);
  segmentTable(r);

  const arms = cuped ? r.arms.map((a) => a.name) : [r.control, ...r.comparisons.map((c) => c.variant)];
  form.control.replaceChildren(...arms.map((a) => new Option(a, a, false, a === r.control)));
  form.control.value = r.control;

  const num = fmtWith;
  const level = fmt(1 - r.alpha, 0, "percent");
  renderTable(document.querySelector('[data-table="comparisons"]'), {
    title: `Differences against ${r.control} (${level} intervals)`,
    columns: [
      { key: "variant", label: "Variant", format: (v) => v },
      { key: "estimate", label: "Adjusted difference", format: (v) => fmtSigned(v, 4) },
      { key: "ci_low", label: "CI low", format: num(4) },
      { key: "ci_high", label: "CI high", format: num(4) },
      { key: "pvalue", label: "p-value", format: fmtP },
      { key: "relative_lift", label: "Relative lift", format: (v) => fmtSigned(v, 1, "percent") },
      { key: "relative_ci_low", label: "Lift CI low (Fieller)", format: (v) => fmtSigned(v, 1, "percent") },
      { key: "relative_ci_high", label: "Lift CI high (Fieller)", format: (v) => fmtSigned(v, 1, "percent") },
      { key: "unadjusted_estimate", label: "Unadjusted difference", format: (v) => fmtSigned(v, 4) },
      { key: "unadjusted_ci_low", label: "Unadj. CI low", format: num(4) },
      { key: "unadjusted_ci_high", label: "Unadj. CI high", format: num(4) },
      { key: "unadjusted_pvalue", label: "Unadj. p-value", format: fmtP },
    ],
    rows: r.comparisons,
    filename: "abacus-cuped-comparisons.csv",
  });
  const armsTable = document.querySelector('[data-table="arms"]');
  if (!cuped) {
    armsTable.replaceChildren();
    return;
  }
  renderTable(armsTable, {
    title: "Arms",
    columns: [
      { key: "name", label: "Variant", format: (v) => v },
      { key: "n", label: "Users", format: num(0) },
      { key: "mean_y", label: "Outcome mean", format: num(4) },
      { key: "adjusted_mean", label: "CUPED-adjusted mean", format: num(4) },
      { key: "mean_x", label: "Pre-period mean", format: num(4) },
    ],
    rows: r.arms,
    filename: "abacus-cuped-arms.csv",
  });
}

/** Each segment's adjusted difference, observed and partially pooled (a segment column is set). */
function segmentTable(r) {
  renderSegmentTable(document.querySelector('[data-table="segments"]'), r, {
    effect: (v) => fmtSigned(v, 4),
    what: "Adjusted difference",
    note: ", each adjusted on its own",
    filename: "abacus-cuped-segments.csv",
  });
}

// ---------------------------------------------------------------- file upload and drop

/** A new file's columns come from its first 64 KB; pasted text's come from sync(). */
function useFile(file) {
  if (!file) {
    analysis?.run();
    return;
  }
  file
    .slice(0, 65536)
    .text()
    .then((text) => {
      header = []; // force the selects to refill for the new file
      setHeader(parseHeader(text));
      analysis?.run();
    });
}

const csvFile = bindCsvInput(form, { onChange: useFile });
form.variant.addEventListener("change", () => form.control.replaceChildren());

// ---------------------------------------------------------------- planning what-if

const plan = document.getElementById("plan");
const rhoOut = plan.querySelector("[data-rho-out]");
plan.addEventListener("input", () => {
  rhoOut.textContent = Number(plan.rho.value).toFixed(2);
});
bindPage({
  form: plan,
  root: document.querySelector("[data-plan-root]"),
  urlPrefix: "plan.",
  delay: 150,
  sync: () => {
    rhoOut.textContent = Number(plan.rho.value).toFixed(2);
  },
  render: (data) => plotAll(data.figures),
});

// ---------------------------------------------------------------- start with the sample loaded

if (!form.csv.value.trim()) {
  try {
    const response = await fetch(form.querySelector("[data-load-sample]").dataset.loadSample);
    if (response.ok) form.csv.value = await response.text();
  } catch (err) {
    toast(`Could not load the sample: ${err.message}`);
  }
}
analysis = bindPage({ form, payload, render, sync, fieldFor, incomplete });
if (tableMode()) picker.load(); // a shared link in Data source mode
