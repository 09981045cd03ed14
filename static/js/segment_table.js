import { fmt, fmtP, renderTable } from "./app.js";

/**
 * The table of an answer by segment (result.segments: one row per treatment and segment) on
 * the A/B, CUPED and Bayesian pages: each segment's interval, its adjusted p-value, its
 * partially pooled interval, P(> 0) and the verdict. Hidden when the answer has none.
 *   effect    formats a difference (points for conversions)
 *   what      the estimate's column label ("Difference", "Adjusted difference", "Lift")
 *   note      added to the title (", each adjusted on its own")
 */
export function renderSegmentTable(box, r, { effect, what = "Difference", filename, note = "" }) {
  box.hidden = !r.segments;
  if (!r.segments) return;
  const first = r.segment_analyses[0] ?? {};
  renderTable(box, {
    title: `By segment (${first.column ?? "segment"})${note}`,
    filename,
    columns: [
      { key: "variant", label: "Variant", format: (v) => v },
      { key: "name", label: "Segment", format: (v) => v },
      { key: "estimate", label: what, format: effect },
      { key: "ci_low", label: "CI low", format: effect },
      { key: "ci_high", label: "CI high", format: effect },
      { key: "pvalue_adjusted", label: `p adjusted (${first.correction ?? "holm"})`, format: fmtP },
      { key: "shrunk_estimate", label: "Pooled", format: effect },
      { key: "shrunk_ci_low", label: "Pooled CI low", format: effect },
      { key: "shrunk_ci_high", label: "Pooled CI high", format: effect },
      { key: "prob_positive", label: "P(> 0)", format: (v) => fmt(v, 1, "percent") },
      { key: "verdict", label: "Verdict", format: (v) => v },
    ],
    rows: r.segments,
  });
}
