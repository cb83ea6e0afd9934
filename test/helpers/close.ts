// Element-wise comparison with a stated tolerance: |actual - expected| <= atol + rtol * |expected|.
// On failure the message names the worst element, so a broken kernel is easy to find.
import { expect } from "vitest";

export interface Tolerance { rtol: number; atol: number }

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, what = "values"): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (Number.isNaN(a) || Number.isNaN(e)) {
      if (Number.isNaN(a) !== Number.isNaN(e)) { worst = i; worstExcess = Infinity; break; }
      continue;
    }
    if (a === e) continue;
    const excess = Math.abs(a - e) - (tol.atol + tol.rtol * Math.abs(e));
    if (excess > worstExcess || Number.isNaN(excess)) { worst = i; worstExcess = excess; }
  }
  if (worst >= 0) {
    const a = actual[worst]!, e = expected[worst]!;
    expect.fail(`${what}[${worst}] = ${a}, expected ${e} (|diff| ${Math.abs(a - e)}, allowed ${tol.atol + tol.rtol * Math.abs(e)})`);
  }
}

/** Largest relative error max |a - e| / max(|e|, floor), for reporting accuracy. */
export function maxRelError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-30): number {
  let m = 0;
  for (let i = 0; i < expected.length; i++) {
    m = Math.max(m, Math.abs(actual[i]! - expected[i]!) / Math.max(Math.abs(expected[i]!), floor));
  }
  return m;
}
