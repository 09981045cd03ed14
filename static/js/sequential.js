import { bindPage, fmt, fmtP, formPayload, plotAll, renderKpis, renderTable } from "./app.js";

const pct = (v) => fmt(v, 2, "percent");
const num = (d) => (v) => fmt(v, d);
// A difference of conversion rates in percentage points (the API keeps proportions).
const points = (v) => (v === null ? "–" : `${v > 0 ? "+" : ""}${fmt(v * 100, 2)} pts`);
const show = (form, name, visible) => {
  form.querySelector(`[data-field="${name}"]`).hidden = !visible;
};
const part = (id) => document.getElementById(id);

// ---------------------------------------------------------------- 1. peeking simulation
const METHODS = [
  ["naive", "Naive z-test at every look"],
  ["obrien_fleming", "O'Brien-Fleming-type"],
  ["pocock", "Pocock-type"],
  ["msprt", "mSPRT"],
];
const simForm = document.getElementById("form-simulate");
const simRoot = simForm.closest(".workbench");

bindPage({
  form: simForm,
  root: simRoot,
  urlPrefix: "sim.",
  sync(form) {
    show(form, "sd", form.metric.value === "mean");
  },
  render(data) {
    const r = data.result;
    const m = r.methods;
    const label = r.effect === 0 ? "false positives" : "power";
    renderKpis(simRoot.querySelector("[data-kpis]"), [
      { label: `naive peeking, ${label}`, value: pct(m.naive.rejection_rate) },
      { label: "exact naive rate (no effect)", value: pct(r.exact_naive_rate) },
      { label: `O'Brien-Fleming, ${label}`, value: pct(m.obrien_fleming.rejection_rate) },
      { label: `mSPRT, ${label}`, value: pct(m.msprt.rejection_rate) },
    ]);
    plotAll(data.figures);
    renderTable(simRoot.querySelector('[data-table="methods"]'), {
      title: `${fmt(r.simulations, 0)} simulated experiments, ${r.looks} looks`,
      columns: [
        { key: "method", label: "Method", format: (v) => v },
        { key: "rate", label: r.effect === 0 ? "False positive rate" : "Power", format: pct },
        { key: "se", label: "Monte Carlo SE", format: num(4) },
        { key: "n", label: "Mean users per arm at stop", format: num(0) },
        { key: "final", label: "Final |z| bound", format: num(3) },
      ],
      rows: METHODS.map(([key, method]) => ({
        method,
        rate: m[key].rejection_rate,
        se: m[key].rejection_se,
        n: m[key].mean_sample_size,
        final: m[key].z_bounds.at(-1),
      })),
      filename: "abacus-peeking.csv",
    });
  },
});

// ---------------------------------------------------------------- 2a. boundaries
const boundsForm = document.getElementById("form-bounds");
const boundsRoot = boundsForm.closest(".workbench");

function boundsPayload(form) {
  const body = formPayload(form);
  const text = (body.fractions || "").trim();
  delete body.fractions;
  if (text) {
    body.fractions = text
      .split(/[\s,;]+/)
      .filter(Boolean)
      .map(Number);
    delete body.looks;
  }
  return body;
}

bindPage({
  form: boundsForm,
  root: boundsRoot,
  urlPrefix: "gs.",
  payload: boundsPayload,
  sync(form) {
    show(form, "gamma", form.spending.value === "hsd");
  },
  fieldFor: (name) => (name && name.startsWith("fractions") ? boundsForm.fractions : null),
  render(data) {
    const r = data.result;
    plotAll(data.figures);
    renderTable(boundsRoot.querySelector('[data-table="boundaries"]'), {
      title: `Boundaries (maximum sample size × ${fmt(r.max_n_inflation, 3)})`,
      columns: [
        { key: "look", label: "Look", format: (v) => v },
        { key: "fraction", label: "Information fraction", format: num(4) },
        { key: "z", label: "z bound", format: num(4) },
        { key: "p", label: "Nominal p threshold", format: num(6) },
        { key: "spent", label: "α spent at this look", format: num(6) },
        { key: "cumulative", label: "Cumulative α", format: num(6) },
      ],
      rows: r.fractions.map((fraction, i) => ({
        look: i + 1,
        fraction,
        z: r.z_bounds[i],
        p: r.nominal_p[i],
        spent: r.alpha_spent[i],
        cumulative: r.cumulative_alpha[i],
      })),
      filename: "abacus-boundaries.csv",
    });
  },
});

// ---------------------------------------------------------------- 2b. monitoring
const monForm = document.getElementById("form-monitor");
const monRoot = monForm.closest(".workbench");
const looksBody = monForm.querySelector("[data-looks]");
const COLUMNS = [
  ["users", 0],
  ["conversions", 0],
  ["users", 1],
  ["conversions", 1],
];
const DEFAULT_LOOKS = [
  [2500, 250, 2500, 272],
  [5000, 500, 5000, 560],
];

function addLook(values = ["", "", "", ""]) {
  const tr = document.createElement("tr");
  const th = document.createElement("th");
  th.scope = "row";
  tr.append(th);
  COLUMNS.forEach(([key, arm], j) => {
    const td = document.createElement("td");
    const input = document.createElement("input");
    input.type = "number";
    input.min = "0";
    input.step = "1";
    input.inputMode = "numeric";
    input.dataset.noUrl = "";
    input.dataset.key = key;
    input.dataset.arm = String(arm);
    input.value = values[j];
    td.append(input);
    tr.append(td);
  });
  const td = document.createElement("td");
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "linkish";
  remove.textContent = "✕";
  remove.title = "Remove this look";
  remove.setAttribute("aria-label", "Remove this look");
  remove.addEventListener("click", () => {
    tr.remove();
    numberLooks();
    monForm.dispatchEvent(new Event("input"));
  });
  td.append(remove);
  tr.append(td);
  looksBody.append(tr);
  numberLooks();
}

function numberLooks() {
  [...looksBody.rows].forEach((tr, i) => {
    tr.cells[0].textContent = String(i + 1);
    tr.querySelectorAll("input").forEach((input) => {
      input.setAttribute("aria-label", `Look ${i + 1}: ${input.dataset.key} ${"AB"[input.dataset.arm]}`);
    });
  });
}

// The looks table travels in the URL as JSON in one hidden field, so a shared link reloads it.
const looksState = Object.assign(document.createElement("input"), { type: "hidden", name: "looks_json" });
looksState.dataset.ui = "1";
monForm.append(looksState);

function monitorPayload(form) {
  const body = formPayload(form);
  const cells = [...looksBody.rows].map((tr) => [...tr.querySelectorAll("input")].map((input) => input.value.trim()));
  looksState.value = JSON.stringify(cells);
  body.looks = cells.map((row) => {
    const look = { users: [null, null], conversions: [null, null] };
    COLUMNS.forEach(([key, arm], j) => {
      look[key][arm] = row[j] === "" ? null : Number(row[j]);
    });
    return look;
  });
  return body;
}

function savedLooks() {
  try {
    const rows = JSON.parse(new URLSearchParams(location.search).get("mon.looks_json"));
    if (Array.isArray(rows) && rows.length && rows.every((r) => Array.isArray(r) && r.length === 4)) return rows;
  } catch {
    /* no or malformed state: the defaults */
  }
  return DEFAULT_LOOKS;
}

// "looks[1].users[0]" -> that cell; "looks[1].users" -> the row's first users cell.
function lookField(name) {
  const match = /^looks\[(\d+)\]\.(\w+)(?:\[(\d)\])?/.exec(name || "");
  if (!match) return name === "looks" ? looksBody.querySelector("input") : null;
  const row = looksBody.rows[Number(match[1])];
  return row?.querySelector(`input[data-key="${match[2]}"][data-arm="${match[3] || 0}"]`) || null;
}

savedLooks().forEach((values) => addLook(values.map(String)));
monForm.querySelector("[data-add-look]").addEventListener("click", () => {
  addLook();
  looksBody.rows[looksBody.rows.length - 1].querySelector("input").focus();
});

const DECISIONS = { continue: "Continue", "stop-efficacy": "Stop: efficacy", "stop-final": "Stop: final look" };
bindPage({
  form: monForm,
  root: monRoot,
  urlPrefix: "mon.",
  payload: monitorPayload,
  fieldFor: lookField,
  sync(form) {
    show(form, "gamma", form.spending.value === "hsd");
  },
  render(data) {
    const r = data.result;
    renderKpis(monRoot.querySelector("[data-kpis]"), [
      { label: "decision", value: DECISIONS[r.decision] },
      { label: "z at the last look", value: fmt(r.statistic, 3) },
      { label: "bound at the last look", value: fmt(r.z_bounds.at(-1), 3) },
      { label: "α spent so far", value: fmt(r.cumulative_alpha.at(-1), 4) },
    ]);
    plotAll(data.figures);
    renderTable(monRoot.querySelector('[data-table="monitor"]'), {
      title: "Looks analysed",
      columns: [
        { key: "look", label: "Look", format: (v) => v },
        { key: "fraction", label: "Information fraction", format: num(4) },
        { key: "estimate", label: "Difference B − A", format: points },
        { key: "z", label: "z", format: num(3) },
        { key: "bound", label: "z bound", format: num(3) },
        { key: "p", label: "Nominal p threshold", format: num(5) },
      ],
      rows: r.fractions.map((fraction, i) => ({
        look: i + 1,
        fraction,
        estimate: r.estimates[i],
        z: r.z_statistics[i],
        bound: r.z_bounds[i],
        p: r.nominal_p[i],
      })),
      filename: "abacus-monitor.csv",
    });
  },
});

// ---------------------------------------------------------------- 3. mSPRT
const msForm = document.getElementById("form-msprt");
const msRoot = msForm.closest(".workbench");

function msprtSync(form) {
  const proportion = form.metric.value === "proportion";
  for (const arm of ["a", "b"]) {
    show(form, `conversions_${arm}`, proportion);
    show(form, `mean_${arm}`, !proportion);
    show(form, `sd_${arm}`, !proportion);
  }
  const planned = form.tau_from.value === "planned_n";
  show(form, "planned_n", planned);
  show(form, "tau", !planned);
}

function msprtPayload(form) {
  const f = formPayload(form);
  const proportion = f.metric === "proportion";
  const arm = (name, key) =>
    proportion
      ? { name, users: f[`users_${key}`], conversions: f[`conversions_${key}`] }
      : { name, users: f[`users_${key}`], mean: f[`mean_${key}`], sd: f[`sd_${key}`] };
  const body = { metric: f.metric, alpha: f.alpha, variants: [arm("A", "a"), arm("B", "b")] };
  if (f.planned_n !== undefined) body.planned_n = f.planned_n;
  if (f.tau !== undefined) body.tau = f.tau;
  return body;
}

// "variants[1].conversions" -> the B conversions field.
function msprtField(name) {
  const match = /^variants\[(\d)\]\.(\w+)/.exec(name || "");
  if (!match) return null;
  return msForm.querySelector(`[name="${match[2]}_${"ab"[Number(match[1])]}"]`);
}

bindPage({
  form: msForm,
  root: msRoot,
  urlPrefix: "ms.",
  payload: msprtPayload,
  sync: msprtSync,
  fieldFor: msprtField,
  render(data) {
    const r = data.result;
    const diff = msForm.metric.value === "proportion" ? points : num(4);
    renderKpis(msRoot.querySelector("[data-kpis]"), [
      { label: "decision", value: r.decision === "reject" ? "Reject: stop" : "Continue" },
      { label: "always-valid p-value", value: fmtP(r.pvalue) },
      { label: "log Λ (threshold log 1/α)", value: `${fmt(r.log_lr, 2)} / ${fmt(r.threshold, 2)}` },
      { label: "difference B − A", value: diff(r.estimate) },
      { label: "always-valid interval", value: `${diff(r.ci_low)} to ${diff(r.ci_high)}` },
      { label: "τ", value: fmt(r.tau, 4) },
    ]);
    plotAll(data.figures);
  },
});
