// Abacus front-end runtime shared by every page: live updates (debounced), Ctrl+Enter,
// superseded requests, URL state, problem+json errors as toasts next to their field,
// Plotly.react for charts, and tables that download as CSV.

export function debounce(fn, ms = 400) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** The first of A, B, …, Z, A2, B2, … that is not taken: a name for a new variant row. */
export function nextName(taken) {
  const used = new Set(taken);
  for (let round = 1; ; round++) {
    for (let i = 0; i < 26; i++) {
      const name = String.fromCharCode(65 + i) + (round > 1 ? round : "");
      if (!used.has(name)) return name;
    }
  }
}

/**
 * Numbers typed in one box, as {values} (a token that is not a number stays text, for the API
 * to name) or {error}. Commas are separators ("130, 155" or "130,155,74") unless values are
 * separated by semicolons or whitespace, where a comma between digits is a decimal comma
 * ("2,7; 3,0" and "2,7 3,0" are 2.7 and 3). What could be read both ways ("2,7" alone, or
 * "2,7, 3,0") is refused with a message, never split silently.
 */
export function parseNumbers(text) {
  const t = text.trim();
  if (!t) return { values: [] };
  const number = (tok) => {
    const x = Number(tok);
    return Number.isFinite(x) ? x : tok;
  };
  const decimal = (tok) => tok.replace(/^([+-]?\d*),(\d+)$/, "$1.$2");
  if (t.includes(";")) {
    const tokens = t.split(/[;\s]+/).filter(Boolean);
    const bad = tokens.find((tok) => tok.includes(",") && !/^[+-]?\d*,\d+$/.test(tok));
    if (bad)
      return {
        error: `"${bad}": with values separated by semicolons a comma can only be a decimal comma (2,7 = 2.7).`,
      };
    return { values: tokens.map((tok) => number(decimal(tok))) };
  }
  const chunks = t.split(/\s+/);
  const commas = (c) => (c.match(/,/g) || []).length;
  if (!chunks.some((c) => /\d,\d/.test(c)))
    return {
      values: t
        .split(/[\s,]+/)
        .filter(Boolean)
        .map(number),
    };
  if (chunks.length > 1 && chunks.every((c) => commas(c) === 0 || /^[+-]?\d*,\d+$/.test(c))) {
    return { values: chunks.map((c) => number(decimal(c))) };
  }
  if (chunks.length === 1 && commas(t) >= 2) return { values: t.split(",").filter(Boolean).map(number) };
  if (chunks.length === 1) {
    const [a, b] = t.split(",");
    return {
      error: `Is "${t}" one number (${a}.${b}) or two (${a} and ${b})? Write ${a}.${b} for a decimal, or "${a}, ${b}" for two values.`,
    };
  }
  return {
    error: `"${t.length > 40 ? `${t.slice(0, 40)}…` : t}" mixes decimal commas with commas between values: separate values with ";" or spaces when they have decimal commas (2,7; 3,0), or use decimal points.`,
  };
}

const fmtCache = new Map();
/** Format a number for people: fmt(1234.5, 1) -> "1,234.5"; null -> "–". */
export function fmt(value, digits = 4, style = "decimal") {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (typeof value !== "number") return String(value);
  const key = `${digits}|${style}`;
  if (!fmtCache.has(key)) {
    fmtCache.set(
      key,
      new Intl.NumberFormat("en-US", {
        style,
        maximumFractionDigits: digits,
        minimumFractionDigits: style === "percent" ? Math.min(digits, 1) : 0,
      }),
    );
  }
  return fmtCache.get(key).format(value);
}

/**
 * A p-value for people: never exactly 0 or 1 (they are never 0 or 1, only rounded to it):
 * fmtP(3e-7) -> "< 0.0001", fmtP(1) -> "> 0.9999", fmtP(0.0123) -> "0.0123".
 */
export function fmtP(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (value < 0.0001) return "< 0.0001";
  if (value > 0.9999) return "> 0.9999";
  return fmt(value, 4);
}

const missing = (value) => value === null || value === undefined || Number.isNaN(value);

/** fmt as a column or KPI formatter: fmtWith(4)(x) is fmt(x, 4). */
export const fmtWith =
  (digits = 4, style = "decimal") =>
  (value) =>
    fmt(value, digits, style);

/** A share as a percentage: fmtPct(0.123) -> "12.3%". */
export const fmtPct = (value, digits = 1) => fmt(value, digits, "percent");

/** A change with its sign: fmtSigned(0.5, 2) -> "+0.5"; fmtSigned(0.05, 1, "percent") -> "+5.0%". */
export function fmtSigned(value, digits = 4, style = "decimal") {
  if (missing(value)) return "–";
  return `${value > 0 ? "+" : ""}${fmt(value, digits, style)}`;
}

/** A difference of proportions in percentage points: fmtPoints(0.012) -> "+1.2 pts". */
export function fmtPoints(value, digits = 2, { signed = true } = {}) {
  if (missing(value)) return "–";
  return `${signed ? fmtSigned(value * 100, digits) : fmt(value * 100, digits)} pts`;
}

/** Six significant digits, whatever the scale (134.75, 0.0312468). */
export function fmtSig(value, digits = 6) {
  if (missing(value)) return "–";
  return fmt(Number(value.toPrecision(digits)), 10);
}

/** A toast; with a field element it is placed right under that field and marks it invalid. */
export function toast(message, field = null, kind = "error") {
  const el = document.createElement("div");
  el.className = `toast toast-${kind}`;
  el.setAttribute("role", kind === "error" ? "alert" : "status");
  el.textContent = message;
  if (field) {
    field.setAttribute("aria-invalid", "true");
    el.classList.add("toast-field");
    // Under the field; for a cell of an editable table (which scrolls and would clip it),
    // under the whole table, full width.
    const block = field.closest("td, th") && field.closest(".field-block");
    if (block) block.append(el);
    else field.after(el);
  } else {
    document.getElementById("toasts").append(el);
    setTimeout(() => el.remove(), 8000);
  }
  return el;
}

export function clearFieldErrors(root) {
  for (const t of root.querySelectorAll(".toast-field")) t.remove();
  for (const f of root.querySelectorAll("[aria-invalid]")) f.removeAttribute("aria-invalid");
}

// ---- Download report / Copy link (the report_actions macro) ----------------------------------

const reportSources = new WeakMap(); // [data-report] button -> {page, request} or {url, headers}

/**
 * What a "Download report" button downloads: {page, request} (POST /api/report with the body
 * the page sent: a JSON object, or the page's FormData with its uploaded file, sent as a form
 * with a page field) or {url, headers} (a GET, e.g. an experiment's report). null disables it
 * with a reason.
 */
export function setReportSource(button, source, reason = "Run the analysis first") {
  if (!button) return;
  reportSources.set(button, source);
  button.disabled = !source;
  button.title = source ? "One HTML file with inputs, results, readout and charts; opens offline" : reason;
}

/** The POST /api/report request for a page's body: JSON, or the page's form plus `page`. */
function reportRequest({ page, request }) {
  if (!(request instanceof FormData)) {
    return {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ page, request }),
    };
  }
  const form = new FormData();
  for (const [key, value] of request) form.append(key, value);
  form.set("page", page);
  return { method: "POST", body: form };
}

function filenameOf(response) {
  const match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
  return match ? match[1] : "abacus-report.html";
}

async function downloadReport(button) {
  const source = reportSources.get(button);
  if (!source) return;
  button.disabled = true;
  try {
    const response = source.url
      ? await fetch(source.url, { headers: source.headers || {} })
      : await fetch("/api/report", reportRequest(source));
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      toast(`The report could not be made: ${problem.detail || response.statusText}`);
      return;
    }
    const url = URL.createObjectURL(await response.blob());
    const a = Object.assign(document.createElement("a"), { href: url, download: filenameOf(response) });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    toast(`Could not reach the server: ${err.message}`);
  } finally {
    button.disabled = false;
  }
}

async function copyLink() {
  const link = window.location.href;
  try {
    await navigator.clipboard.writeText(link);
  } catch {
    // No clipboard API (a page served over plain http): copy through a selected text box.
    const box = Object.assign(document.createElement("textarea"), { value: link });
    document.body.append(box);
    box.select();
    document.execCommand("copy");
    box.remove();
  }
  toast("Link copied: it opens this page with these inputs.", null, "info");
}

document.addEventListener("click", (e) => {
  const report = e.target.closest?.("[data-report]");
  if (report) downloadReport(report);
  else if (e.target.closest?.("[data-copy-link]")) copyLink();
});

// On a touch screen a tap is a hover, and Plotly's mode bar (top right) would cover the title.
const TOUCH = window.matchMedia("(hover: none), (pointer: coarse)").matches || navigator.maxTouchPoints > 0;
const MODEBAR = 30; // px the mode bar takes at the top of a figure

/** Draw or update a Plotly figure in the element with this id (or element). */
export function plot(target, figure) {
  const el = typeof target === "string" ? document.getElementById(target) : target;
  if (!el || !figure) return;
  const layout = { ...figure.layout, autosize: true };
  if (TOUCH && layout.title?.text) {
    // The title goes under the mode bar's strip rather than beside it.
    const margin = { t: 48, ...layout.margin };
    layout.margin = { ...margin, t: margin.t + MODEBAR };
    layout.title = {
      ...layout.title,
      y: 1,
      yref: "container",
      yanchor: "top",
      pad: { ...layout.title.pad, t: MODEBAR + 4 },
    };
  }
  window.Plotly.react(el, figure.data, layout, { responsive: true, displaylogo: false });
}

/** Plot every figure of a response into #fig-<name>. */
export function plotAll(figures) {
  for (const [name, figure] of Object.entries(figures || {})) plot(`fig-${name}`, figure);
}

const NUMERIC = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

/**
 * One CSV cell. Numbers carry no float noise (0.1 + 0.2 -> 0.3: the shortest form at 12
 * significant digits; integers stay exact). Text that a spreadsheet would run as a formula
 * (starting with =, +, -, @, tab or CR) gets a leading single quote (OWASP CSV injection);
 * plain numbers such as -0.5 stay numbers.
 */
export function csvCell(value) {
  let s;
  if (value === null || value === undefined) s = "";
  else if (typeof value === "number") {
    s = Number.isFinite(value) && !Number.isInteger(value) ? String(Number(value.toPrecision(12))) : String(value);
  } else {
    s = String(value);
    if (/^[=+\-@\t\r]/.test(s) && !NUMERIC.test(s.trim())) s = `'${s}`;
  }
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCSV(columns, rows) {
  const lines = [columns.map((c) => csvCell(c.label)).join(",")];
  for (const row of rows) lines.push(columns.map((c) => csvCell(row[c.key])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

/** Save rows as a CSV file: columns [{key, label}], the raw values of rows. */
export function downloadCSV(filename, columns, rows) {
  downloadText(filename, toCSV(columns, rows), "text/csv");
}

/** Save text (a CSV, a spec, a Markdown export) as a file named filename. */
export function downloadText(filename, text, type) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = filename;
  document.body.append(a);
  a.click();
  setTimeout(() => {
    URL.revokeObjectURL(a.href);
    a.remove();
  }, 0);
}

/**
 * A results table with a "Download CSV" button. columns: [{key, label, format?}];
 * the CSV holds the raw values, the page shows formatted ones.
 */
export function renderTable(container, { title, columns, rows, filename }) {
  if (!container) return;
  container.replaceChildren();
  const head = document.createElement("div");
  head.className = "table-head";
  const h = document.createElement("h2");
  h.textContent = title;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "download";
  button.textContent = "Download CSV";
  button.addEventListener("click", () => downloadCSV(filename, columns, rows));
  const hint = document.createElement("span");
  hint.className = "scroll-hint";
  hint.textContent = "scroll →";
  hint.hidden = true;
  head.append(h, hint, button);
  const wrap = document.createElement("div");
  wrap.className = "table-wrap";
  const table = document.createElement("table");
  const thead = table.createTHead().insertRow();
  for (const c of columns) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = c.label;
    thead.append(th);
  }
  const tbody = table.createTBody();
  for (const row of rows) {
    const tr = tbody.insertRow();
    for (const c of columns) {
      const td = tr.insertCell();
      const v = row[c.key];
      td.textContent = c.format ? c.format(v, row) : fmt(v);
      if (typeof v === "number") td.className = "num";
    }
  }
  wrap.append(table);
  container.append(head, wrap);
  watchScroll(wrap, hint);
}

/** A table wider than its card scrolls sideways: say so, with a shade on the side that hides
 * columns and a "scroll →" hint by the title. */
function watchScroll(wrap, hint) {
  const update = () => {
    const more = wrap.scrollWidth - wrap.clientWidth > 1;
    wrap.classList.toggle("more-right", more && wrap.scrollLeft + wrap.clientWidth < wrap.scrollWidth - 1);
    wrap.classList.toggle("more-left", more && wrap.scrollLeft > 1);
    hint.hidden = !more;
  };
  wrap.addEventListener("scroll", update, { passive: true });
  new ResizeObserver(update).observe(wrap);
  update();
}

/** Key figures as cards: [{label, value}]. */
export function renderKpis(container, items) {
  if (!container) return;
  container.replaceChildren(
    ...items.map(({ label, value }) => {
      const d = document.createElement("div");
      d.className = "kpi";
      const v = document.createElement("strong");
      v.textContent = value;
      const l = document.createElement("span");
      l.textContent = label;
      d.append(v, l);
      return d;
    }),
  );
}

function isActive(el) {
  return el.name && !el.disabled && !el.closest("[hidden]") && !el.dataset.ui;
}

/** The form's visible, enabled fields as JSON: numbers, booleans, strings; empty fields left out. */
export function formPayload(form) {
  const body = {};
  for (const el of form.elements) {
    if (!isActive(el) || el.type === "file") continue;
    if (el.type === "checkbox") body[el.name] = el.checked;
    else if (el.value.trim() === "") continue;
    else if (el.type === "number" || el.type === "range") body[el.name] = Number(el.value);
    else body[el.name] = el.value;
  }
  return body;
}

// The URL query mirrors exactly the fields on the page, so a shared link sends the same request.
// Several forms (each with a prefix) share one query; each form replaces only its own keys, and
// once every form of the page is bound, a key that no field holds any more (a removed row,
// another metric's field, a stale link) is dropped.
const boundForms = []; // [{form, prefix, keys}] of every bindPage form

/** The form's fields as URL query entries: key -> value. */
function urlState(form, prefix = "") {
  const state = new Map();
  for (const el of form.elements) {
    if (!el.name || el.type === "file" || el.dataset.noUrl !== undefined) continue;
    // Pasted data travel in the link while short (a server limits a URL to about 4 KB).
    if (el.dataset.urlMax && el.value.length > Number(el.dataset.urlMax)) continue;
    const key = prefix + el.name;
    if (el.type === "checkbox") state.set(key, el.checked ? "1" : "0");
    else if (el.type === "radio") {
      if (el.checked) state.set(key, el.value);
    } else state.set(key, el.value);
  }
  return state;
}

function saveToURL(entry) {
  const params = new URLSearchParams(location.search);
  for (const key of entry.keys) params.delete(key);
  const state = urlState(entry.form, entry.prefix);
  for (const [key, value] of state) params.set(key, value);
  entry.keys = new Set(state.keys());
  if (boundForms.length >= document.querySelectorAll("form[data-endpoint]").length) {
    const owned = new Set(boundForms.flatMap((b) => [...urlState(b.form, b.prefix).keys()]));
    for (const key of [...params.keys()]) if (!owned.has(key)) params.delete(key);
  }
  const query = params.toString();
  history.replaceState(null, "", query ? `${location.pathname}?${query}` : location.pathname);
}

/** The shared link's value for a key (null when it has none). */
export function linkValue(key) {
  return new URLSearchParams(location.search).get(key);
}

/**
 * Links from before the row editor kept a table as JSON in one key (variants_json,
 * mon.looks_json): rewrite it in the address bar as row fields (prefix[i].key), which
 * restoreFromURL then reads like any other field. record(row) gives one row's {key: value}.
 */
export function upgradeLink(oldKey, prefix, record = (row) => row) {
  const params = new URLSearchParams(location.search);
  if (!params.has(oldKey)) return;
  let rows;
  try {
    rows = JSON.parse(params.get(oldKey));
  } catch {
    rows = null;
  }
  params.delete(oldKey);
  if (Array.isArray(rows)) {
    rows.slice(0, MAX_ROWS).forEach((row, i) => {
      for (const [key, value] of Object.entries(record(row) || {})) params.set(`${prefix}[${i}].${key}`, value ?? "");
    });
  }
  history.replaceState(null, "", `${location.pathname}?${params}`);
}

/** Put the link's values into the form's fields (bindPage does it; a page that builds fields
 * from other fields, such as rows for a metric, calls it first). */
export function restoreFromURL(form, prefix = "") {
  const params = new URLSearchParams(location.search);
  for (const el of form.elements) {
    if (!el.name || !params.has(prefix + el.name) || el.type === "file") continue;
    const v = params.get(prefix + el.name);
    // A select filled from an answer (CSV columns, variant names) has no options yet: the
    // link's choice becomes one, so the first request sends it as the sender's did.
    if (el.tagName === "SELECT" && v !== "" && ![...el.options].some((o) => o.value === v)) el.append(new Option(v, v));
    if (el.type === "checkbox") el.checked = v === "1" || v === "true";
    else if (el.type === "radio") el.checked = el.value === v;
    else el.value = v;
  }
}

/** Find the input a problem's field names ("alpha", "variants[1].users"). */
function fieldElement(form, name) {
  if (!name) return null;
  return (
    form.querySelector(`[name="${CSS.escape(name)}"]`) ||
    form.querySelector(
      `[data-field="${CSS.escape(name)}"] input, [data-field="${CSS.escape(name)}"] select, [data-field="${CSS.escape(name)}"] textarea`,
    )
  );
}

/**
 * Wire a page: live updates ~400 ms after the last change, Ctrl+Enter and submit run now,
 * a newer request aborts an older one, inputs mirrored in the URL, errors as field toasts.
 *   sync(form)        keeps dependent fields shown/hidden (called before each run and at load)
 *   payload(form)     the request body (a plain object is sent as JSON, FormData as multipart)
 *   render(data)      draws a successful response
 *   fieldFor(name)    optional: maps an error's field name to an element
 *   root              optional: the element holding this form's [data-status], [data-readout]
 *                     and [data-warnings] (several forms on one page); Ctrl+Enter then runs
 *                     only the form whose root holds the focus
 *   urlPrefix         optional: prefix of this form's keys in the URL query (several forms)
 *   incomplete(form)  optional: a message while the form is not ready to send (a new row not
 *                     yet filled in), or {message, field} for an input the page refuses to
 *                     guess at (shown as that field's toast); no request is sent until it is ready
 */
export function bindPage({
  form,
  endpoint = form.dataset.endpoint,
  payload = formPayload,
  render,
  sync = () => {},
  fieldFor = null,
  live = true,
  delay = 400,
  root: scope = null,
  urlPrefix = "",
  incomplete = () => null,
}) {
  const root = scope || form.closest("main") || document;
  const url = { form, prefix: urlPrefix, keys: new Set() };
  boundForms.push(url);
  const status = root.querySelector("[data-status]");
  const statusText = root.querySelector("[data-status-text]");
  const readout = root.querySelector("[data-readout]");
  const warnings = root.querySelector("[data-warnings]");
  let controller = null;

  function setStatus(busy, text) {
    status?.classList.toggle("busy", busy);
    root.setAttribute("aria-busy", busy ? "true" : "false");
    if (statusText) statusText.textContent = text;
  }

  async function run() {
    sync(form);
    controller?.abort();
    const waiting = incomplete(form);
    if (waiting) {
      controller = null;
      clearFieldErrors(form);
      saveToURL(url);
      readout?.closest(".results")?.classList.add("stale");
      if (typeof waiting === "string") setStatus(false, waiting);
      else {
        setStatus(false, "Fix the highlighted input; the results shown are from your last valid input.");
        toast(waiting.message, waiting.field);
      }
      return;
    }
    controller = new AbortController();
    const body = payload(form);
    const isForm = body instanceof FormData;
    setStatus(true, "Computing…");
    const started = performance.now();
    let response;
    let data;
    try {
      response = await fetch(endpoint, {
        method: "POST",
        body: isForm ? body : JSON.stringify(body),
        headers: isForm
          ? { Accept: "application/json" }
          : { "Content-Type": "application/json", Accept: "application/json" },
        signal: controller.signal,
      });
      data = await response.json();
    } catch (err) {
      if (err.name === "AbortError") return;
      setStatus(false, "Could not reach the server.");
      toast(`Could not reach the server: ${err.message}`);
      return;
    }
    clearFieldErrors(form);
    saveToURL(url);
    const results = readout?.closest(".results");
    results?.classList.toggle("stale", !response.ok);
    if (!response.ok) {
      setStatus(
        false,
        `Fix the highlighted input (${response.status}); the results shown are from your last valid input.`,
      );
      const errors = (data.errors?.length ? data.errors : [{ field: null, detail: data.detail }]).map((e) => ({
        text: e.detail || data.detail || data.title,
        el: fieldFor?.(e.field) || fieldElement(form, e.field),
      }));
      // Errors on fields the page hides (the power calculator's unknown) are left out when a
      // visible field is at fault too; otherwise they become a corner toast.
      const shown = errors.filter((e) => e.el && !e.el.closest("[hidden]"));
      for (const e of shown.length ? shown : errors) toast(e.text, shown.length ? e.el : null);
      return;
    }
    const ms = Math.round(performance.now() - started);
    setStatus(false, `Updated ${new Date().toLocaleTimeString()} · ${ms} ms`);
    if (readout) readout.textContent = data.readout;
    if (warnings)
      warnings.replaceChildren(
        ...(data.warnings || []).map((w) => {
          const li = document.createElement("li");
          li.textContent = w.message;
          li.dataset.code = w.code;
          return li;
        }),
      );
    render(data);
    setReportSource(readout?.parentElement.querySelector("[data-report]"), {
      page: endpoint.replace(/^\/api\//, ""),
      request: body,
    });
  }

  const later = debounce(run, delay);
  if (live) {
    form.addEventListener("input", (e) => {
      if (e.target.type !== "file") later();
    });
    form.addEventListener("change", (e) => {
      if (e.target.tagName === "SELECT" || e.target.type === "checkbox") later();
    });
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    run();
  });
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter" && (!scope || scope.contains(document.activeElement))) {
      e.preventDefault();
      run();
    }
  });
  restoreFromURL(form, urlPrefix);
  sync(form);
  run();
  return { run };
}

/**
 * Wire the csv_input block (templates/_macros.html) inside form: a file chosen or dropped is
 * used instead of the text until the text is edited; "paste it here" loads a sample into the text.
 *   onChange(file)   runs when the data changes other than by typing (typing already reaches
 *                    bindPage): a file chosen, dropped or cleared, or a sample pasted (file null)
 * Returns a function giving the chosen File, or null for "use the text".
 */
export function bindCsvInput(form, { onChange = () => {} } = {}) {
  const box = form.querySelector('[data-field="csv"]');
  const text = box.querySelector("textarea");
  const input = box.querySelector('input[type="file"]');
  const zone = box.querySelector("[data-dropzone]");
  const label = box.querySelector("[data-file-name]");
  let file = null;

  function use(chosen) {
    file = chosen;
    label.textContent = chosen
      ? `Using ${chosen.name} (${fmt(chosen.size / 1024, 1)} KB); edit the text box to use it instead.`
      : "or drop one here";
  }
  function forgetFile() {
    input.value = "";
    use(null);
  }

  input.addEventListener("change", () => {
    use(input.files[0] || null);
    onChange(file);
  });
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (e) => {
      e.preventDefault();
      zone.classList.add("over");
    });
  }
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (!e.dataTransfer.files[0]) return;
    use(e.dataTransfer.files[0]);
    onChange(file);
  });
  text.addEventListener("input", () => {
    if (file) forgetFile();
  });
  for (const button of box.querySelectorAll("[data-load-sample]")) {
    button.addEventListener("click", async () => {
      const response = await fetch(button.dataset.loadSample);
      text.value = await response.text();
      forgetFile();
      onChange(null);
    });
  }
  return () => file;
}

const MAX_ROWS = 100; // rows a link can ask for
let rowFieldIds = 0;

/**
 * The one row editor: a list of rows cloned from an HTML <template> (one row's markup), for
 * variants, looks and guardrails alike. Every row's fields are form fields named
 * `${name}[i].${key}`, so the URL codec above carries them, a shared link rebuilds them
 * (linkCount, then restoreFromURL) and a problem's field ("variants[1].users") finds its input.
 * In the template:
 *   [data-key="users"]   a field; its value is row.users (the page builds the request from
 *                        read(), so the fields are data-ui: formPayload leaves them out)
 *   [data-col="users"]   the element around it (a cell): data-field `${name}[i].users` for
 *                        error toasts; hidden when showColumns leaves "users" out
 *                        (a value left out of add's values keeps the template's default)
 *   [data-label]         aria-label, with {n} the row's number (1-based)
 *   label[data-for=key]  a visible label for the row's field with that key
 *   [data-n]             text: the row's number
 *   [data-remove]        removes the row (not below min rows; minMessage says why)
 *   list                 the element the rows go in (a tbody, a div)
 *   scope                the element whose [data-col] cells showColumns hides (a table with
 *                        its head); the list by default
 *   linkHidden           false: the fields of hidden columns stay out of the URL (another
 *                        metric's numbers, which a link should not bring back)
 *   build(row, values)   optional: finishes a new row (options of a select, listeners)
 *   onChange()           after a row is removed
 */
export function rowEditor({
  list,
  template,
  name,
  scope = list,
  linkHidden = true,
  min = 0,
  minMessage = "",
  build = () => {},
  onChange = () => {},
}) {
  let visible = null;
  const rows = () => [...list.children];

  function renumber() {
    rows().forEach((row, i) => {
      const n = String(i + 1);
      row.dataset.field = `${name}[${i}]`;
      for (const el of row.querySelectorAll("[data-key]")) el.name = `${name}[${i}].${el.dataset.key}`;
      for (const el of row.querySelectorAll("[data-col]")) el.dataset.field = `${name}[${i}].${el.dataset.col}`;
      for (const el of row.querySelectorAll("[data-label]"))
        el.setAttribute("aria-label", el.dataset.label.replaceAll("{n}", n));
      for (const el of row.querySelectorAll("[data-n]")) el.textContent = n;
    });
  }

  function showColumns(keys) {
    visible = keys;
    for (const el of scope.querySelectorAll("[data-col]")) {
      el.hidden = !keys.includes(el.dataset.col);
      if (linkHidden) continue;
      for (const f of [el, ...el.querySelectorAll("[data-key]")]) {
        if (f.dataset.key) f.toggleAttribute("data-no-url", el.hidden);
      }
    }
  }

  function remove(row) {
    if (rows().length <= min) {
      if (minMessage) toast(minMessage);
      return;
    }
    row.remove();
    renumber();
    onChange();
  }

  function add(values = {}) {
    const row = template.content.firstElementChild.cloneNode(true);
    for (const el of row.querySelectorAll("[data-key]")) {
      el.dataset.ui = "1";
      const value = values[el.dataset.key];
      if (value !== undefined && value !== null) el.value = value;
    }
    for (const label of row.querySelectorAll("label[data-for]")) {
      const control = row.querySelector(`[data-key="${label.dataset.for}"]`);
      control.id ||= `row-field-${++rowFieldIds}`;
      label.htmlFor = control.id;
    }
    row.querySelector("[data-remove]")?.addEventListener("click", () => remove(row));
    list.append(row);
    build(row, values);
    renumber();
    if (visible) showColumns(visible);
    return row;
  }

  /** Replace every row: values [{key: value}]. */
  function set(values) {
    list.replaceChildren();
    for (const v of values) add(v);
  }

  /** Every row's fields as strings: [{key: value}]. */
  function read() {
    return rows().map((row) =>
      Object.fromEntries([...row.querySelectorAll("[data-key]")].map((el) => [el.dataset.key, el.value])),
    );
  }

  /** How many rows the shared link holds (its keys prefix + name[i].…). */
  function linkCount(prefix = "") {
    const start = `${prefix}${name}[`;
    let n = 0;
    for (const key of new URLSearchParams(location.search).keys()) {
      const i = key.startsWith(start) ? Number.parseInt(key.slice(start.length), 10) : -1;
      if (i >= 0 && i < MAX_ROWS) n = Math.max(n, i + 1);
    }
    return n;
  }

  /** The field a problem names: "variants[1].users", or the first one under "looks[1].users" or "variants". */
  function field(problem) {
    if (!problem) return null;
    const all = rows().flatMap((row) => [...row.querySelectorAll("[data-key]")]);
    return (
      all.find((el) => el.name === problem) ||
      all.find((el) => el.name.startsWith(`${problem}.`) || el.name.startsWith(`${problem}[`)) ||
      null
    );
  }

  return { rows, count: () => rows().length, add, set, read, renumber, showColumns, linkCount, field };
}
