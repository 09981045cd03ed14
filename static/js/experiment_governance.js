// Specs, the pre-registered policy and decision records on the Experiments page (issue 15).
// experiments.js owns the page; it calls initGovernance once, prepareDetail(exp) before the
// first analysis of an experiment, and showPolicy(result) after each analysis.
import { clearFieldErrors, debounce, downloadText, fmt, renderKpis, renderTable, toast } from "./app.js";

const $ = (sel, root = document) => root.querySelector(sel);
const specForm = $("#spec-form");
const policyCard = $("#policy-card");
const decisionsCard = $("#decisions-card");
const decisionForm = $("#decision-form");
let deps = null; // { api, report, open }
let experiment = null; // the experiment in the detail view
let spec = null; // its spec (with plan), or null when it was created without one
let specOptions = false; // whether the analysis options hold a spec's values
const SPEC_OPTIONS = ["alpha", "planned_n", "guardrail_tolerance"];

const VERDICT_CLASS = { ship: "ship", iterate: "iterate", stop: "stop", "re-run": "rerun" };

function when(iso) {
  return iso ? `${iso.slice(0, 16).replace("T", " ")} UTC` : "–";
}

// ---- creating from a spec ----------------------------------------------------------------

function showProblems(problems) {
  $("[data-spec-problems]", specForm).replaceChildren(
    ...problems.map((p) => Object.assign(document.createElement("li"), { textContent: p.detail })),
  );
}

async function createFromSpec(event) {
  event.preventDefault();
  clearFieldErrors(specForm);
  showProblems([]);
  const text = specForm.elements.spec.value;
  const type = text.trim().startsWith("{") ? "application/json" : "application/yaml";
  try {
    const created = await deps.api("POST", "/api/experiments/spec", text, { type });
    const { experiment: exp, plan } = created;
    toast(`Created ${exp.name} (draft): ${fmt(plan.n_total, 0)} units over ${plan.runtime_days} days.`, null, "info");
    for (const warning of plan.warnings) toast(warning, null, "info");
    $("#spec-card").open = false;
    await deps.open(exp.id);
  } catch (err) {
    if (err.problem?.errors?.length) showProblems(err.problem.errors);
    deps.report(err, specForm);
  }
}

// ---- the policy beside the analysis ------------------------------------------------------

/** Fetch the experiment's pre-registered spec; with one, analyse at its α and planned sample. */
export async function prepareDetail(exp) {
  experiment = exp;
  spec = null;
  try {
    // The audit trail answers for every experiment (no versions: created without a spec).
    const { versions } = await deps.api("GET", `/api/experiments/${exp.id}/audit`);
    const launched = versions.filter((v) => !v.after_launch).at(-1);
    if (launched) spec = { ...launched.spec, plan: launched.plan };
  } catch (err) {
    deps.report(err);
  }
  const form = $("#analyze-form").elements;
  if (spec) {
    form.alpha.value = spec.policy.alpha;
    form.planned_n.value = spec.plan.n_total;
    form.guardrail_tolerance.value = "";
    decisionForm.elements.owner.value ||= spec.owner;
    specOptions = true;
  } else if (specOptions) {
    // The previous experiment's spec set them: back to the page's defaults.
    for (const name of SPEC_OPTIONS) form[name].value = form[name].defaultValue;
    specOptions = false;
  }
  policyCard.hidden = !spec;
  decisionsCard.hidden = exp.status === "draft";
  if (spec && exp.status === "draft") renderPlan(null);
  if (exp.status !== "draft") await loadDecisions();
}

function renderPlan(policy) {
  const plan = spec.plan;
  const box = $("[data-policy]", policyCard);
  if (!policy) {
    box.className = "readout verdict verdict-neutral";
    box.textContent = `Planned: ${fmt(plan.n_total, 0)} units over ${plan.runtime_days} days (${fmt(plan.n_per_group, 0)} in the control) to detect ${spec.primary_metric.mde} ${spec.primary_metric.mde_type} at α ${spec.policy.alpha} with ${fmt(plan.power, 0, "percent")} power; ${spec.policy.mode} policy. Launch it to start.`;
    $("[data-deviations]", policyCard).replaceChildren(
      ...(plan.warnings || []).map((w) => Object.assign(document.createElement("li"), { textContent: w })),
    );
  }
  renderKpis($("[data-plan]", policyCard), [
    { label: "units / planned", value: `${policy ? fmt(policy.n ?? 0, 0) : "0"} / ${fmt(plan.n_total, 0)}` },
    { label: "days / runtime", value: `${policy ? fmt(policy.days, 1) : "0"} / ${plan.runtime_days}` },
    { label: "policy", value: `${spec.policy.mode}${spec.policy.method ? ` (${spec.policy.method})` : ""}` },
    { label: "α", value: String(spec.policy.alpha) },
  ]);
  $("[data-spec-meta]", policyCard).textContent =
    `Spec version ${policy?.spec_version ?? 1} · owner ${spec.owner} · primary metric ${spec.primary_metric.event} (${spec.primary_metric.direction}, minimum worthwhile ${spec.primary_metric.mde} ${spec.primary_metric.mde_type})`;
}

/** The policy's verdict, deviations and the audit trail from an analysis result. */
export function showPolicy(result) {
  if (decisionsCard.hidden) {
    decisionsCard.hidden = false; // launched since the detail opened
    loadDecisions();
  }
  const policy = result.policy;
  policyCard.hidden = !policy;
  if (!policy || !spec) return;
  const box = $("[data-policy]", policyCard);
  box.className = `readout verdict verdict-${VERDICT_CLASS[policy.decision] || "neutral"}`;
  const title = document.createElement("strong");
  title.textContent = policy.decision === "continue" ? "Keep collecting. " : `Policy verdict: ${policy.decision}. `;
  box.replaceChildren(title, policy.reason);
  $("[data-deviations]", policyCard).replaceChildren(
    ...policy.deviations.map((d) =>
      Object.assign(document.createElement("li"), { textContent: `Deviation (${d.code}): ${d.message}` }),
    ),
  );
  renderPlan({ ...policy, n: result.n });
  renderTable($('[data-table="audit"]', policyCard), {
    title: policy.amendments.length ? "Audit trail: amendments after launch" : "Audit trail: no amendment since launch",
    columns: [
      { key: "version", label: "Version", format: (v) => String(v) },
      { key: "at", label: "When", format: when },
      { key: "changed", label: "Changed", format: (v) => v.join(", ") },
      { key: "reason", label: "Reason", format: (v) => v },
    ],
    rows: policy.amendments,
    filename: `abacus-experiment-${experiment.id}-audit.csv`,
  });
  if (policy.decision !== "continue") decisionForm.elements.decision.value = policy.decision;
}

async function downloadSpec() {
  try {
    const text = await deps.api("GET", `/api/experiments/${experiment.id}/spec`, undefined, {
      accept: "application/yaml",
    });
    downloadText(`abacus-experiment-${experiment.id}-spec.yaml`, text, "application/yaml");
  } catch (err) {
    deps.report(err);
  }
}

// ---- decision records ----------------------------------------------------------------------

function decisionsURL(format = "json") {
  const params = new URLSearchParams({ format });
  const q = $("#f-decision_q").value.trim();
  if (q) params.set("q", q);
  return `/api/experiments/${experiment.id}/decisions?${params}`;
}

async function loadDecisions() {
  let data;
  try {
    data = await deps.api("GET", decisionsURL());
  } catch (err) {
    deps.report(err, decisionsCard);
    return;
  }
  const rows = data.decisions.map((d) => ({
    ...d,
    verdict: d.analysis.result?.policy?.decision ?? "–",
    readout: d.analysis.readout ?? "",
  }));
  renderTable($('[data-table="decisions"]', decisionsCard), {
    title: `${rows.length} decision record${rows.length === 1 ? "" : "s"}${data.query ? ` matching “${data.query}”` : ""}`,
    columns: [
      { key: "decided_at", label: "Decided", format: when },
      { key: "decision", label: "Decision", format: (v) => v },
      { key: "owner", label: "Owner", format: (v) => v },
      { key: "rationale", label: "Rationale", format: (v) => v },
      { key: "follow_up", label: "Follow-up", format: (v) => v || "–" },
      { key: "verdict", label: "Policy said", format: (v) => v },
      { key: "readout", label: "Analysis then", format: (v) => v },
    ],
    rows,
    filename: `abacus-experiment-${experiment.id}-decisions.csv`,
  });
}

async function recordDecision(event) {
  event.preventDefault();
  clearFieldErrors(decisionForm);
  const f = decisionForm.elements;
  const body = {
    decision: f.decision.value,
    owner: f.owner.value.trim(),
    rationale: f.rationale.value.trim(),
    follow_up: f.follow_up.value.trim(),
  };
  try {
    const record = await deps.api("POST", `/api/experiments/${experiment.id}/decisions`, body);
    toast(`Recorded: ${record.decision} (record ${record.id}).`, null, "info");
    f.rationale.value = "";
    f.follow_up.value = "";
    await loadDecisions();
  } catch (err) {
    deps.report(err, decisionForm);
  }
}

async function exportDecisions(format) {
  try {
    if (format === "markdown") {
      const text = await deps.api("GET", decisionsURL("markdown"), undefined, { accept: "text/markdown" });
      downloadText(`abacus-decisions-${experiment.id}.md`, text, "text/markdown");
    } else {
      const data = await deps.api("GET", decisionsURL());
      downloadText(`abacus-decisions-${experiment.id}.json`, JSON.stringify(data, null, 2), "application/json");
    }
  } catch (err) {
    deps.report(err);
  }
}

// ---- wiring ----------------------------------------------------------------------------------

/** Wire the spec editor and the decision form; deps: {api, report, open(id)}. */
export function initGovernance(given) {
  deps = given;
  specForm.addEventListener("submit", createFromSpec);
  $("#spec-sample").addEventListener("click", async () => {
    const response = await fetch($("#spec-sample").dataset.url);
    specForm.elements.spec.value = await response.text();
  });
  const file = $("#f-spec-file");
  $("#spec-open").addEventListener("click", () => file.click());
  file.addEventListener("change", async () => {
    if (file.files.length) specForm.elements.spec.value = await file.files[0].text();
    file.value = "";
  });
  $("#spec-download").addEventListener("click", downloadSpec);
  decisionForm.addEventListener("submit", recordDecision);
  $("#f-decision_q").addEventListener("input", debounce(loadDecisions, 300));
  $("#decisions-json").addEventListener("click", () => exportDecisions("json"));
  $("#decisions-md").addEventListener("click", () => exportDecisions("markdown"));
}
