// The "Data source" mode of a data page: pick a configured source and one of its tables
// (GET /api/sources), then map its columns (GET /api/sources/<name>/tables/<table>) as for a
// CSV. The request then names {source, table} instead of carrying a file.
import { linkValue, toast } from "./app.js";

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || `${url}: ${response.status}`);
  return body;
}

function fill(select, values, wanted) {
  select.replaceChildren(...values.map((v) => new Option(v, v)));
  if (values.includes(wanted)) select.value = wanted;
}

const NUMERIC = /^(u?int|float|decimal|boolean)/;
export const NO_SOURCE = "No data source is configured on this server (SOURCES / ABACUS_SOURCES in its settings).";

const opened = new URLSearchParams(location.search); // the link this page was opened with

/**
 * Fill a column-role select with a table's column names, keeping the choice that still fits:
 * the opening link's (the first time this role is filled), else the current one, else
 * ``guess``. With ``blank`` (a label such as "(none)" or "(detect)"), an empty first option
 * stands for "no column"; only a link's empty choice keeps it over the guess.
 */
export function fillColumn(select, names, guess, blank = null) {
  const fromLink = opened.get(select.name);
  opened.delete(select.name);
  const wanted = fromLink ?? select.value;
  const fits = wanted === "" ? blank !== null && fromLink === "" : names.includes(wanted);
  const opts = names.map((n) => new Option(n, n));
  if (blank !== null) opts.unshift(new Option(blank, ""));
  select.replaceChildren(...opts);
  select.value = fits ? wanted : (guess ?? (blank !== null ? "" : (names[0] ?? "")));
}

/** Bind the selects named source_name and source_table of ``form``; ``onColumns`` gets the
 * chosen table's columns as {name, type, numeric}. Returns {load, selected, missing}: when no
 * source is configured, the mode says so in the source's hint and missing() gives the message
 * (a page shows it as its status, not as an error). */
export function bindSourcePicker(form, { onColumns = () => {} } = {}) {
  const source = form.source_name;
  const table = form.source_table;
  const hint = form.querySelector('[data-field="source_name"] .hint');
  let listed = null;
  let loading = null; // the one listing of the sources, however often load() is called
  let asked = 0; // the latest table asked for: an earlier answer arriving later is dropped

  const report = (error) => toast(error.message, source);

  async function pickTable() {
    const ask = ++asked;
    if (!source.value || !table.value) return onColumns([]);
    const path = `${encodeURIComponent(source.value)}/tables/${encodeURIComponent(table.value)}`;
    const info = await getJSON(`/api/sources/${path}`);
    if (ask !== asked) return; // another table was chosen meanwhile: its columns win
    onColumns(info.columns.map((c) => ({ ...c, numeric: NUMERIC.test(c.type) })));
  }

  async function pickSource(wanted = table.value) {
    const found = listed.find((s) => s.name === source.value);
    fill(table, found?.tables ?? [], wanted);
    await pickTable();
  }

  async function listSources() {
    listed = (await getJSON("/api/sources")).sources.filter((s) => s.tables?.length);
    if (!listed.length) {
      // Not an error: this server has no source (a shared link's choice is dropped too).
      for (const select of [source, table]) {
        select.replaceChildren();
        select.disabled = true;
      }
      if (hint) hint.textContent = NO_SOURCE;
      return onColumns([]);
    }
    fill(
      source,
      listed.map((s) => s.name),
      linkValue("source_name"),
    );
    await pickSource(linkValue("source_table"));
  }

  source.addEventListener("change", () => pickSource().catch(report));
  table.addEventListener("change", () => pickTable().catch(report));
  // A second call while the first is under way must not list again: its answer would reset
  // the table to the link's (or the first) after the user had picked another.
  const load = () => {
    loading ??= listSources().catch((error) => {
      loading = null; // a failed listing may be tried again
      report(error);
    });
    return loading;
  };
  return {
    load,
    selected: () => (source.value && table.value ? { source: source.value, table: table.value } : null),
    missing: () => (listed && !listed.length ? NO_SOURCE : null),
  };
}
