import { bindPage, fmt, fmtPct, fmtPoints, fmtSigned, plotAll, renderKpis, renderTable, toast } from "./app.js";

const form = document.getElementById("params");
const show = (name, visible) => {
  form.querySelector(`[data-field="${name}"]`).hidden = !visible;
};

const RATIO_FIELDS = ["numerator_mean", "denominator_mean", "numerator_sd", "denominator_sd", "covariance"];

function sync() {
  const proportion = form.metric.value === "proportion";
  const ratio = form.metric.value === "ratio";
  show("baseline", proportion);
  show("continuity_correction", proportion);
  show("sd", !proportion && !ratio);
  show("baseline_mean", !proportion && !ratio);
  for (const name of RATIO_FIELDS) show(name, ratio);
  const unknown = form.solve_for.value;
  for (const name of ["n_per_group", "power", "mde"]) show(name, name !== unknown);
}

const SOLVED = { n_per_group: "Sample size", power: "Power", mde: "Minimum detectable effect" };
const METHODS = {
  fleiss: "Fleiss (pooled under H0, unpooled under H1)",
  "fleiss-cc": "Fleiss with continuity correction",
  "t-test": "Two-sample t-test (noncentral t)",
};

function render(data) {
  const r = data.result;
  const relative = r.mde_relative === null ? "" : ` (${fmtSigned(r.mde_relative, 1, "percent")})`;
  const effect = r.baseline === null ? `${fmt(r.mde, 4)}${relative}` : fmtPoints(r.mde, 2, { signed: false });
  renderKpis(document.querySelector("[data-kpis]"), [
    { label: "users per group", value: fmt(r.n_per_group, 0) },
    { label: "users in total", value: fmt(r.n_total, 0) },
    { label: "power", value: fmtPct(r.achieved_power) },
    { label: "detectable effect", value: effect },
    { label: "days to run", value: r.days === null ? "–" : fmt(r.days, 0) },
  ]);
  plotAll(data.figures);
  const rows = [
    ["Solved for", SOLVED[r.solved_for]],
    ["Method", METHODS[r.method]],
    ["Users per group (control)", r.n_per_group],
    ["Users per treatment arm", r.n_treatment],
    ["Users in total", r.n_total],
    ["Exact n per group", r.n_exact],
    ["Target power", r.power],
    ["Achieved power", r.achieved_power],
    ["MDE (absolute)", r.mde],
    ["MDE (relative)", r.mde_relative],
    ["Alpha", r.alpha],
    ["Alpha per test", r.alpha_per_test],
    ["Alternative", r.alternative],
    ["Days", r.days],
  ].map(([quantity, value]) => ({ quantity, value }));
  renderTable(document.querySelector('[data-table="summary"]'), {
    title: "Summary",
    columns: [
      { key: "quantity", label: "Quantity", format: (v) => v },
      { key: "value", label: "Value", format: (v) => fmt(v, 6) },
    ],
    rows,
    filename: "abacus-power.csv",
  });
}

const UNITS = { proportion: "points of conversion rate", mean: "units of the metric", ratio: "units of the ratio" };
let shownMetric = form.metric.value;

/**
 * An absolute effect changes meaning with the metric (0.02 = 2 points of conversion is not
 * 0.02 of revenue): it is cleared and the user asked for it again. A relative effect means the
 * same for both metrics and is kept (a mean then needs its baseline mean).
 */
form.metric.addEventListener("change", () => {
  const before = shownMetric;
  shownMetric = form.metric.value;
  if (form.mde_type.value !== "absolute" || form.mde.value.trim() === "") return;
  toast(
    `The effect ${form.mde.value} was in ${UNITS[before]}; give the minimum detectable effect in ${UNITS[shownMetric]}, or as a relative lift.`,
    null,
    "info",
  );
  form.mde.value = "";
});

/** A relative effect on a mean is a share of the baseline mean: without one, ask for it. */
function incomplete() {
  if (form.metric.value !== "mean" || form.mde_type.value !== "relative" || form.baseline_mean.value.trim() !== "")
    return null;
  return { message: "Give the baseline mean: a relative effect is a share of it.", field: form.baseline_mean };
}

bindPage({ form, sync, render, incomplete });
