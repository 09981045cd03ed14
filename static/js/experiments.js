// The Experiments admin page: token (sessionStorage only), list with summary, create form,
// detail view with launch / stop / analyze, and the analysis (charts, table, CSV).
import {
  clearFieldErrors,
  downloadCSV,
  fmt,
  fmtP,
  fmtSigned,
  fmtWith,
  nextName,
  plotAll,
  renderKpis,
  renderTable,
  rowEditor,
  setReportSource,
  toast,
} from "./app.js";
import { initGovernance, prepareDetail, showPolicy } from "./experiment_governance.js";

const TOKEN_KEY = "abacus.adminToken";
const $ = (sel, root = document) => root.querySelector(sel);
const app = $("#app");
const tokenForm = $("#token-form");
const createForm = $("#create-form");
const detail = $("#detail");
const analysisBox = $("#analysis");
let current = null; // the experiment shown in the detail view
let listed = [];

// ---- confirmations -------------------------------------------------------------------------

const CONSEQUENCES = {
  stop: (name) => ({
    title: `Stop ${name}?`,
    text: "Stopping ends assignment for good: a stopped experiment cannot be relaunched, and its results become final. To test again, create a new experiment.",
    ok: "Stop for good",
  }),
  delete: (name) => ({
    title: `Delete ${name}?`,
    text: "Deleting removes the experiment and all its recorded events; it cannot be undone.",
    ok: "Delete",
  }),
};

/** Ask in an in-page dialog that names the consequence; resolves true when confirmed. */
function confirmAction(act, name) {
  const dialog = $("#confirm");
  const { title, text, ok } = CONSEQUENCES[act](name);
  $("#confirm-title", dialog).textContent = title;
  $("#confirm-text", dialog).textContent = text;
  $("[data-confirm-ok]", dialog).textContent = ok;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
  });
}

class ApiFailure extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** Call the API with the admin token. A string body is sent as is (type: its Content-Type);
 * an accept other than JSON answers the response's text. */
async function api(method, path, body, { type = "application/json", accept = "application/json" } = {}) {
  const headers = { Accept: accept, Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ""}` };
  if (body !== undefined) headers["Content-Type"] = type;
  const payload = body === undefined || typeof body === "string" ? body : JSON.stringify(body);
  const response = await fetch(path, { method, headers, body: payload });
  if (response.status === 204) return null;
  if (response.ok && accept !== "application/json") return response.text();
  const data = await response.json();
  if (!response.ok) throw new ApiFailure(response.status, data);
  return data;
}

/** The input a problem names ("name", "variants[1].weight", "planned_n"), within root. */
function fieldIn(root, name) {
  if (!name) return null;
  const block = root.querySelector(`[data-field="${CSS.escape(name)}"]`);
  return block?.matches("input, select, textarea") ? block : block?.querySelector("input, select, textarea") || null;
}

function report(err, root = null) {
  if (!(err instanceof ApiFailure)) {
    toast(`Could not reach the server: ${err.message}`);
    return;
  }
  if (err.status === 401) {
    app.hidden = true;
    toast(err.message, fieldIn(tokenForm, "Authorization"));
    return;
  }
  const errors = err.problem.errors?.length ? err.problem.errors : [{ field: null, detail: err.message }];
  for (const e of errors) toast(e.detail || err.message, root ? fieldIn(root, e.field) : null);
}

// ---- list -------------------------------------------------------------------------------------

function shorten(text, n = 60) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}
function when(iso) {
  return iso ? iso.slice(0, 16).replace("T", " ") : "–";
}
function badge(status) {
  const span = document.createElement("span");
  span.className = `badge ${{ running: "badge-good", stopped: "badge-bad", draft: "" }[status] || ""}`;
  span.textContent = status;
  return span;
}

function actionButton(label, act, id) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.dataset.act = act;
  b.dataset.id = id;
  return b;
}

async function loadList() {
  let data;
  try {
    data = await api("GET", "/api/experiments");
  } catch (err) {
    report(err);
    return false;
  }
  clearFieldErrors(tokenForm);
  app.hidden = false;
  listed = data.experiments;
  renderKpis($("[data-summary]"), [
    { label: "experiments", value: fmt(data.summary.total, 0) },
    { label: "running", value: fmt(data.summary.running, 0) },
    { label: "winners found", value: fmt(data.summary.winners, 0) },
  ]);
  const body = $("#exp-table tbody");
  body.replaceChildren(
    ...listed.map((e) => {
      const tr = document.createElement("tr");
      tr.dataset.id = e.id;
      const cells = [
        e.name,
        shorten(e.hypothesis || "–"),
        null,
        String(e.variants.length),
        null,
        when(e.created_at),
        null,
      ];
      for (const text of cells) {
        const td = tr.insertCell();
        if (text !== null) td.textContent = text;
      }
      tr.cells[2].append(badge(e.status));
      if (e.winner) {
        const w = document.createElement("span");
        w.className = "badge badge-good";
        w.textContent = `winner: ${e.winner}`;
        tr.cells[2].append(" ", w);
      }
      if (e.bandit) {
        const b = document.createElement("span");
        b.className = "badge badge-neutral";
        b.textContent = "bandit";
        tr.cells[4].append(b);
      } else tr.cells[4].textContent = "fixed split";
      const actions = tr.cells[6];
      actions.className = "exp-row-actions";
      if (e.status === "draft") actions.append(actionButton("Launch", "launch", e.id));
      if (e.status === "running") actions.append(actionButton("Stop", "stop", e.id));
      actions.append(actionButton("View", "view", e.id));
      return tr;
    }),
  );
  $("[data-empty]").hidden = listed.length > 0;
  return true;
}

$("#exp-table").addEventListener("click", async (e) => {
  const button = e.target.closest("button[data-act]");
  if (!button) return;
  const id = Number(button.dataset.id);
  if (button.dataset.act === "view") {
    await openDetail(id);
    return;
  }
  const name = listed.find((e) => e.id === id)?.name ?? `experiment ${id}`;
  if (CONSEQUENCES[button.dataset.act] && !(await confirmAction(button.dataset.act, name))) return;
  try {
    const exp = await api("POST", `/api/experiments/${id}/${button.dataset.act}`);
    toast(`${exp.name} is ${exp.status}.`, null, "info");
    await loadList();
    if (current?.id === id) await openDetail(id);
  } catch (err) {
    report(err);
  }
});

$("#list-csv").addEventListener("click", () => {
  const columns = ["id", "name", "hypothesis", "status", "variants", "bandit", "winner", "created_at"].map((key) => ({
    key,
    label: key,
  }));
  const rows = listed.map((e) => ({ ...e, variants: e.variants.map((v) => `${v.name}:${v.weight}`).join(" ") }));
  downloadCSV("abacus-experiments.csv", columns, rows);
});

// ---- create -----------------------------------------------------------------------------------

const variants = rowEditor({ list: $("#variant-rows"), template: $("#variant-row"), name: "variants" });
const DEFAULT_VARIANTS = [
  { name: "control", weight: "0.5" },
  { name: "B", weight: "0.5" },
];

$("#add-variant").addEventListener("click", () => {
  variants.add({ name: nextName(variants.read().map((v) => v.name.trim())), weight: "0.5" });
});

function createPayload() {
  const f = createForm.elements;
  return {
    name: f.name.value.trim(),
    hypothesis: f.hypothesis.value.trim(),
    primary_event: f.primary_event.value.trim(),
    guardrail_events: f.guardrail_events.value
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    bandit: f.bandit.checked,
    variants: variants.read().map((v) => ({
      name: v.name.trim(),
      weight: v.weight.trim() === "" ? null : Number(v.weight),
    })),
  };
}

createForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  clearFieldErrors(createForm);
  try {
    const exp = await api("POST", "/api/experiments", createPayload());
    toast(`Created ${exp.name} (draft).`, null, "info");
    createForm.reset();
    variants.set(DEFAULT_VARIANTS);
    $("#create-card").open = false;
    await loadList();
    await openDetail(exp.id);
  } catch (err) {
    report(err, createForm);
  }
});

// ---- detail and analysis ---------------------------------------------------------------------

function setText(name, value) {
  detail.querySelectorAll(`[data-d="${name}"]`).forEach((el) => {
    el.textContent = value;
  });
}

function renderVariants(exp, bandit = null) {
  const table = $("#variant-table");
  const heads = ["Variant", "Role", "Traffic weight", ...(exp.bandit ? ["Thompson α", "Thompson β", "P(best)"] : [])];
  const tr = document.createElement("tr");
  for (const h of heads) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = h;
    tr.append(th);
  }
  table.tHead.replaceChildren(tr);
  table.tBodies[0].replaceChildren(
    ...exp.variants.map((v, i) => {
      const row = document.createElement("tr");
      const cells = [v.name, i === 0 ? "control" : "treatment", fmt(v.weight, 1, "percent")];
      if (exp.bandit)
        cells.push(
          ...(bandit
            ? [fmt(bandit.alpha[i], 0), fmt(bandit.beta[i], 0), fmt(bandit.prob_best[i], 1, "percent")]
            : ["–", "–", "–"]),
        );
      for (const c of cells) row.insertCell().textContent = c;
      return row;
    }),
  );
}

function renderDetail(exp) {
  current = exp;
  detail.hidden = false;
  setText("name", exp.name);
  setText("id", exp.id);
  setText("hypothesis", exp.hypothesis || "No hypothesis written.");
  setText("primary_event", exp.primary_event);
  setText("guardrail_events", exp.guardrail_events.join(", ") || "none");
  setText("created_at", `${when(exp.created_at)} UTC`);
  setText("events", eventsText(exp.events));
  const status = $('[data-d="status"]', detail);
  status.className = badge(exp.status).className;
  status.textContent = exp.status;
  $('[data-d="bandit"]', detail).hidden = !exp.bandit;
  $("#ingest-key").value = exp.ingest_key;
  renderVariants(exp);
  const show = (act, on) => {
    $(`[data-act="${act}"]`, detail).hidden = !on;
  };
  show("launch", exp.status === "draft");
  show("stop", exp.status === "running");
  show("analyze", exp.status !== "draft");
  show("delete", exp.status !== "running");
  analysisBox.hidden = true;
}

/** "6,720 events · last 2026-11-20 10:03 UTC (received 2026-11-21 08:15 UTC)". */
function eventsText(events) {
  if (!events?.count) return "no events yet";
  const n = `${fmt(events.count, 0)} event${events.count === 1 ? "" : "s"}`;
  return `${n} · last ${when(events.last_ts)} UTC (received ${when(events.last_received_at)} UTC)`;
}

// Each open or close takes a ticket; an open that a later one overtook (back, forward, Close
// while its request was in flight) drops its answer instead of showing a stale detail.
let ticket = 0;

/** Open experiment `id`'s detail; `push` adds a history entry naming it (?experiment=id). */
async function openDetail(id, { push = true } = {}) {
  const mine = ++ticket;
  try {
    const exp = await api("GET", `/api/experiments/${id}`);
    if (mine !== ticket) return;
    renderDetail(exp);
    showInURL(id, push);
    // At once, not after the analysis: a scroll that came a slow analysis later could move
    // the page under the user's next click.
    detail.scrollIntoView({ block: "start", inline: "nearest" });
    await prepareDetail(current);
    if (mine !== ticket) return;
    if (current.status !== "draft") await analyze();
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 404) showInURL(null, false);
    report(err);
  }
}

// ---- the open detail view in the URL (a deep link; reload and back/forward restore it) -------

const URL_KEY = "experiment";

/** The experiment id the URL names, or null. */
function linkedId() {
  const id = Number(new URLSearchParams(location.search).get(URL_KEY));
  return Number.isInteger(id) && id > 0 ? id : null;
}

/** Name experiment `id` (null: none) in the URL, as a new history entry or (push false) in place. */
function showInURL(id, push = true) {
  if (id === linkedId()) return;
  const params = new URLSearchParams(location.search);
  if (id === null) params.delete(URL_KEY);
  else params.set(URL_KEY, String(id));
  const query = params.toString();
  history[push ? "pushState" : "replaceState"](null, "", query ? `${location.pathname}?${query}` : location.pathname);
}

function closeDetail() {
  ticket++;
  detail.hidden = true;
  current = null;
}

/** Show what the URL names: that experiment's detail, or none (after sign-in, back, forward). */
async function followURL() {
  const id = linkedId();
  if (id === null) closeDetail();
  else if (detail.hidden || current?.id !== id) await openDetail(id, { push: false });
}
window.addEventListener("popstate", followURL);

function analyzePayload() {
  const f = $("#analyze-form").elements;
  const body = {};
  if (f.planned_n.value.trim()) body.planned_n = Number(f.planned_n.value);
  if (f.alpha.value.trim()) body.alpha = Number(f.alpha.value);
  if (f.guardrail_tolerance.value.trim()) {
    const tolerance = Number(f.guardrail_tolerance.value);
    body.guardrails = (current.guardrail_events || []).map((event) => ({ event, tolerance }));
  }
  return body;
}

const pct = fmtWith(2, "percent");
const signedPct = (v) => fmtSigned(v, 1, "percent");

async function analyze() {
  const form = $("#analyze-form");
  clearFieldErrors(form);
  analysisBox.hidden = false;
  const statusText = $("[data-status-text]", analysisBox);
  $("[data-status]", analysisBox).classList.add("busy");
  statusText.textContent = "Analysing…";
  const shown = current;
  let data;
  try {
    data = await api("POST", `/api/experiments/${shown.id}/analyze`, analyzePayload());
    if (current !== shown) return; // closed or another experiment opened meanwhile
  } catch (err) {
    $("[data-status]", analysisBox).classList.remove("busy");
    statusText.textContent = `Fix the highlighted input (${err.status || "network"}).`;
    report(err, form);
    return;
  }
  $("[data-status]", analysisBox).classList.remove("busy");
  statusText.textContent = `Analysed ${new Date().toLocaleTimeString()}`;
  const options = new URLSearchParams();
  const f = form.elements;
  for (const name of ["alpha", "planned_n", "guardrail_tolerance"])
    if (f[name].value.trim()) options.set(name, f[name].value.trim());
  setReportSource($("[data-report]", analysisBox), {
    url: `/api/experiments/${current.id}/report?${options}`,
    headers: { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ""}` },
  });
  const r = data.result;
  showPolicy(r);
  const readout = $("[data-readout]", analysisBox);
  readout.textContent = data.readout;
  readout.className = `readout card verdict verdict-${{ winner: "good", worse: "bad", srm: "bad", guardrail: "bad" }[r.decision] || "neutral"}`;
  $("[data-warnings]", analysisBox).replaceChildren(
    ...data.warnings.map((w) => Object.assign(document.createElement("li"), { textContent: w.message })),
  );
  renderKpis($("[data-kpis]", analysisBox), [
    { label: "exposed units", value: fmt(r.n, 0) },
    { label: `lift of ${r.relative_lift?.variant ?? "best"}`, value: signedPct(r.relative_lift?.estimate ?? null) },
    { label: "always-valid p", value: fmtP(r.msprt?.pvalue ?? null) },
    { label: "fixed-horizon p", value: fmtP(r.pvalue) },
    ...(r.cuped?.comparisons.length
      ? [
          {
            label: "always-valid p (CUPED)",
            value: fmtP(Math.min(...r.cuped.comparisons.map((c) => c.msprt_pvalue_adjusted))),
          },
        ]
      : []),
    { label: "SRM p (always-valid)", value: fmtP(r.srm_sequential.pvalue) },
    { label: "SRM p (chi-square)", value: fmtP(r.srm.pvalue) },
    { label: "winner", value: r.winner ?? "none yet" },
  ]);
  // Charts need data: while nothing is exposed the readout says so instead.
  $("#charts-wrap").hidden = r.n === 0;
  $("#weights-wrap").hidden = !data.figures.weights || r.n === 0;
  $("#guardrails-wrap").hidden = !data.figures.guardrails || r.n === 0;
  $("#cuped-wrap").hidden = !data.figures.cuped || r.n === 0;
  if (r.n > 0) plotAll(data.figures);
  current = {
    ...current,
    status: r.status,
    variants: current.variants.map((v, i) => ({ ...v, weight: r.variants[i].weight })),
  };
  renderVariants(current, r.bandit);
  const byName = Object.fromEntries(r.comparisons.map((c) => [c.name, c]));
  const pick = (c) =>
    c
      ? {
          relative_lift: c.relative_lift,
          pvalue_adjusted: c.pvalue_adjusted,
          msprt_pvalue_adjusted: c.msprt_pvalue_adjusted,
          msprt_log_lr: c.msprt_log_lr,
        }
      : {};
  const rows = r.variants.map((v) => ({ ...v, ...pick(byName[v.name]) }));
  renderTable($('[data-table="analysis"]', analysisBox), {
    title: "Per variant",
    columns: [
      { key: "name", label: "Variant", format: (v) => v },
      { key: "exposures", label: "Exposures", format: (v) => fmt(v, 0) },
      { key: "expected_exposures", label: "Expected (SRM)", format: (v) => fmt(v, 1) },
      { key: "conversions", label: "Conversions", format: (v) => fmt(v, 0) },
      { key: "rate", label: "Rate", format: pct },
      { key: "ci_low", label: "Rate low", format: pct },
      { key: "ci_high", label: "Rate high", format: pct },
      { key: "weight", label: "Weight", format: (v) => fmt(v, 1, "percent") },
      { key: "relative_lift", label: "Lift", format: signedPct },
      { key: "pvalue_adjusted", label: "Fixed-horizon p", format: fmtP },
      { key: "msprt_pvalue_adjusted", label: "Always-valid p", format: fmtP },
      { key: "msprt_log_lr", label: "mSPRT log LR", format: (v) => fmt(v, 3) },
    ],
    rows,
    filename: `abacus-experiment-${current.id}.csv`,
  });
  const cupedBox = $('[data-table="cuped"]', analysisBox);
  cupedBox.hidden = !r.cuped?.comparisons.length;
  if (!cupedBox.hidden)
    renderTable(cupedBox, {
      title: `CUPED on the pre-period covariate (variance × ${fmt(r.cuped.variance_reduction, 2)})`,
      columns: [
        { key: "name", label: "Variant", format: (v) => v },
        { key: "unadjusted_estimate", label: "Unadjusted difference", format: signedPct },
        { key: "estimate", label: "CUPED difference", format: signedPct },
        { key: "ci_low", label: "CI low", format: signedPct },
        { key: "ci_high", label: "CI high", format: signedPct },
        { key: "msprt_ci_low", label: "Sequence low", format: signedPct },
        { key: "msprt_ci_high", label: "Sequence high", format: signedPct },
        { key: "msprt_pvalue_adjusted", label: "Always-valid p", format: fmtP },
      ],
      rows: r.cuped.comparisons,
      filename: `abacus-experiment-${current.id}-cuped.csv`,
    });
  const guardBox = $('[data-table="guardrails"]', analysisBox);
  guardBox.hidden = !r.guardrail_tests.length;
  if (!guardBox.hidden)
    renderTable(guardBox, {
      title: "Guardrails (non-inferiority)",
      columns: [
        { key: "metric", label: "Event", format: (v) => v },
        { key: "variant", label: "Variant", format: (v) => v },
        { key: "status", label: "Status", format: (v) => v },
        { key: "estimate", label: "Difference", format: signedPct },
        { key: "tolerance", label: "Tolerance", format: pct },
        { key: "pvalue", label: "Non-inferiority p", format: fmtP },
      ],
      rows: r.guardrail_tests.map((g) => ({ ...g, pvalue: g.test.pvalue })),
      filename: `abacus-experiment-${current.id}-guardrails.csv`,
    });
}

detail.addEventListener("click", async (e) => {
  const act = e.target.closest("button[data-act]")?.dataset.act;
  if (!act || !current) return;
  if (act === "close") {
    closeDetail();
    showInURL(null);
    return;
  }
  if (act === "analyze") {
    await analyze();
    api("GET", `/api/experiments/${current.id}`).then((exp) => setText("events", eventsText(exp.events)), report);
    await loadList();
    return;
  }
  if (CONSEQUENCES[act] && !(await confirmAction(act, current.name))) return;
  try {
    if (act === "delete") {
      await api("DELETE", `/api/experiments/${current.id}`);
      toast(`Deleted ${current.name}.`, null, "info");
      closeDetail();
      showInURL(null, false);
      await loadList();
      return;
    }
    const exp = await api("POST", `/api/experiments/${current.id}/${act}`);
    toast(`${exp.name} is ${exp.status}.`, null, "info");
    renderDetail(exp);
    if (exp.status !== "draft") await analyze();
    await loadList();
  } catch (err) {
    report(err);
  }
});

// ---- token ------------------------------------------------------------------------------------

tokenForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  clearFieldErrors(tokenForm);
  sessionStorage.setItem(TOKEN_KEY, tokenForm.elements.token.value.trim());
  tokenForm.elements.token.value = "";
  if (await loadList()) await followURL();
});
$("#forget-token").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  app.hidden = true;
  detail.hidden = true;
});

initGovernance({
  api,
  report,
  open: async (id) => {
    await loadList();
    await openDetail(id);
  },
});
variants.set(DEFAULT_VARIANTS);
if (sessionStorage.getItem(TOKEN_KEY)) loadList().then((ok) => ok && followURL());
