import {
  bindPage,
  fmt,
  fmtP,
  fmtPoints,
  fmtSigned,
  fmtWith,
  formPayload,
  plotAll,
  renderKpis,
  renderTable,
  rowEditor,
  upgradeLink,
} from "./app.js";

const pct = fmtWith(2, "percent");
const num = fmtWith;
// A difference of conversion rates in percentage points (the API keeps proportions).
const points = (v) => fmtPoints(v);
const show = (form, name, visible) => {
  form.querySelector(`[data-field="${name}"]`).hidden = !visible;
};

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
  fieldFor: (name) => (name?.startsWith("fractions") ? boundsForm.fractions : null),
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
const DEFAULT_LOOKS = [
  [2500, 250, 2500, 272],
  [5000, 500, 5000, 560],
];
const ARMS = ["users[0]", "conversions[0]", "users[1]", "conversions[1]"]; // a look's fields

// Each look is a row of cumulative users and conversions per arm, fields looks[i].users[0] …
const looks = rowEditor({
  list: monForm.querySelector("[data-looks]"),
  template: monForm.querySelector("[data-look-row]"),
  name: "looks",
  onChange: () => monForm.dispatchEvent(new Event("input")),
});

function monitorPayload(form) {
  const body = formPayload(form);
  body.looks = looks.read().map((row) => {
    const look = { users: [null, null], conversions: [null, null] };
    for (const key of ARMS) {
      const [, field, arm] = /^(\w+)\[(\d)\]$/.exec(key);
      const value = row[key].trim();
      look[field][Number(arm)] = value === "" ? null : Number(value);
    }
    return look;
  });
  return body;
}

// Rows exist before bindPage restores a shared link into them (older links: mon.looks_json).
upgradeLink("mon.looks_json", "mon.looks", (row) => Object.fromEntries(ARMS.map((key, j) => [key, row?.[j]])));
const linked = looks.linkCount("mon.");
looks.set(
  linked
    ? Array.from({ length: linked }, () => ({}))
    : DEFAULT_LOOKS.map((values) => Object.fromEntries(ARMS.map((key, j) => [key, values[j]]))),
);
monForm.querySelector("[data-add-look]").addEventListener("click", () => {
  looks.add().querySelector("input").focus();
});

const DECISIONS = { continue: "Continue", "stop-efficacy": "Stop: efficacy", "stop-final": "Stop: final look" };
bindPage({
  form: monForm,
  root: monRoot,
  urlPrefix: "mon.",
  payload: monitorPayload,
  fieldFor: looks.field,
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
      {
        label: "relative lift (always-valid interval)",
        value: `${fmtSigned(r.relative_lift, 1, "percent")} (${fmtSigned(r.relative_ci_low, 1, "percent")} to ${fmtSigned(r.relative_ci_high, 1, "percent")})`,
      },
      { label: "τ", value: fmt(r.tau, 4) },
    ]);
    plotAll(data.figures);
  },
});
