// Assign a unit to an Abacus experiment's variant locally, as the server's `assign` does.
//
// Reference snippet for high-volume clients (README, "Assign units locally"). Web Crypto only:
// runs in browsers (secure contexts), Node 20+, Deno and Bun.
//
//   await assign(42, "u123", [["control", 0.5], ["B", 0.5]]); // -> "B"
//
// `variants` are the experiment's variants in its order, with their current weights (as
// GET /api/experiments/<id> lists them). The server also remembers each unit's first answer,
// so after a weight change (bandit mode) it keeps answering that; a stopped experiment
// answers the control.

// The unit's place in [0, 1): the top 53 bits of the first 8 bytes of
// SHA-256("<experimentId>:<unit>") (UTF-8, big-endian), divided by 2**53.
export async function position(experimentId, unit) {
  const bytes = new TextEncoder().encode(`${experimentId}:${unit}`);
  const digest = new DataView(await crypto.subtle.digest("SHA-256", bytes));
  const high = digest.getUint32(0); // bits 63..32
  const low = digest.getUint32(4); // bits 31..0: keep 31..11
  return (high * 2 ** 21 + (low >>> 11)) / 2 ** 53;
}

// The first variant whose running total of weights exceeds position × total weight.
export async function assign(experimentId, unit, variants) {
  let total = 0;
  const bounds = variants.map(([name, weight]) => {
    total += weight;
    return [total, name];
  });
  const x = (await position(experimentId, unit)) * total;
  return bounds.find(([bound]) => bound > x)[1];
}
