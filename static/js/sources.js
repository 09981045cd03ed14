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

/** Bind the selects named source_name and source_table of ``form``; ``onColumns`` gets the
 * chosen table's columns as {name, type, numeric}. Returns {load, selected}. */
export function bindSourcePicker(form, { onColumns = () => {} } = {}) {
  const source = form.source_name;
  const table = form.source_table;
  let listed = null;

  const report = (error) => toast(error.message, source);

  async function pickTable() {
    if (!source.value || !table.value) return onColumns([]);
    const path = `${encodeURIComponent(source.value)}/tables/${encodeURIComponent(table.value)}`;
    const info = await getJSON(`/api/sources/${path}`);
    onColumns(info.columns.map((c) => ({ ...c, numeric: NUMERIC.test(c.type) })));
  }

  async function pickSource(wanted = table.value) {
    const found = listed.find((s) => s.name === source.value);
    fill(table, found?.tables ?? [], wanted);
    await pickTable();
  }

  async function load() {
    if (listed) return;
    listed = (await getJSON("/api/sources")).sources.filter((s) => s.tables?.length);
    if (!listed.length) throw new Error("No data source is configured (SOURCES / ABACUS_SOURCES).");
    fill(
      source,
      listed.map((s) => s.name),
      linkValue("source_name"),
    );
    await pickSource(linkValue("source_table"));
  }

  source.addEventListener("change", () => pickSource().catch(report));
  table.addEventListener("change", () => pickTable().catch(report));
  return {
    load: () => load().catch(report),
    selected: () => (source.value && table.value ? { source: source.value, table: table.value } : null),
  };
}
