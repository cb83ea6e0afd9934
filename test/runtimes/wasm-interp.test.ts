// A non-JS host: the wasm imports nothing, so an interpreter with no JavaScript runs it as is.
// Debian's wabt `wasm-interp` (a non-V8 interpreter with SIMD) runs every export with zero
// arguments (harmless: counts of 0) and prints the results, including self_check's known-answer
// test (assembly/selfcheck.ts: GEMM, exp, Philox, normals), which must return 0.
import { describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./harness";

function which(cmd: string): string | undefined {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
const interp = which("wasm-interp");
const inCI = process.env.CI === "true";

describe.skipIf(!interp && !inCI)("wasm-interp (wabt): no JavaScript at all", () => {
  for (const [file, flags] of [["edgevae.wasm", []], ["edgevae-relaxed.wasm", ["--enable-relaxed-simd"]]] as const) {
    it(`build/${file}: self_check() => 0`, () => {
      if (!interp) throw new Error("wasm-interp is missing: CI must install it (apt-get install -y wabt), see .ci/run");
      const out = execFileSync(interp, [...flags, join(ROOT, "build", file), "--run-all-exports"], { encoding: "utf8" });
      expect(out).toMatch(/^abi_version\(\) => i32:2$/m);
      expect(out).toMatch(/^self_check\(\) => i32:0$/m);
    });
  }
});

if (!interp && !inCI) {
  it.skip("wasm-interp: SKIPPED because wabt's wasm-interp is not installed (apt-get install -y wabt; .ci/run does)", () => {});
}
