import { bindPage, fmt, plotAll, renderKpis, renderTable } from "./app.js";

const form = document.getElementById("params");
const show = (name, visible) => { form.querySelector(`[data-field="${name}"]`).hidden = !visible; };

function sync() {
  const proportion = form.metric.value === "proportion";
  show("baseline", proportion);
  show("mde_type", proportion);
  show("continuity_correction", proportion);
  show("sd", !proportion);
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
  const effect = r.baseline === null ? fmt(r.mde, 4) : `${fmt(r.mde * 100, 2)} pts`;
  renderKpis(document.querySelector("[data-kpis]"), [
    { label: "users per group", value: fmt(r.n_per_group, 0) },
    { label: "users in total", value: fmt(r.n_total, 0) },
    { label: "power", value: fmt(r.achieved_power, 1, "percent") },
    { label: "detectable effect", value: effect },
    { label: "days to run", value: r.days === null ? "–" : fmt(r.days, 0) },
  ]);
  plotAll(data.figures);
  const rows = [
    ["Solved for", SOLVED[r.solved_for]], ["Method", METHODS[r.method]], ["Users per group (control)", r.n_per_group],
    ["Users per treatment arm", r.n_treatment], ["Users in total", r.n_total],
    ["Exact n per group", r.n_exact], ["Target power", r.power], ["Achieved power", r.achieved_power],
    ["MDE (absolute)", r.mde], ["MDE (relative)", r.mde_relative], ["Alpha", r.alpha],
    ["Alpha per test", r.alpha_per_test], ["Alternative", r.alternative], ["Days", r.days],
  ].map(([quantity, value]) => ({ quantity, value }));
  renderTable(document.querySelector('[data-table="summary"]'), {
    title: "Summary",
    columns: [{ key: "quantity", label: "Quantity", format: (v) => v }, { key: "value", label: "Value", format: (v) => fmt(v, 6) }],
    rows,
    filename: "abacus-power.csv",
  });
}

bindPage({ form, sync, render });
