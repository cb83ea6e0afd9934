import { defineConfig } from "vitest/config";

// Two projects: everything, and the convolution kernel tests, which also run the relaxed-SIMD
// build (Node 20 compiles it only behind --experimental-wasm-relaxed-simd; keeping the flag to
// that one file leaves every other test on the host's default, where "auto" means baseline).
export default defineConfig({
  test: {
    testTimeout: 60_000,
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
    projects: [
      { extends: true, test: { name: "edgevae", include: ["test/**/*.test.ts"], exclude: ["test/conv-kernels.test.ts"] } },
      { extends: true, test: { name: "kernels", include: ["test/conv-kernels.test.ts"], execArgv: ["--experimental-wasm-relaxed-simd"] } },
    ],
  },
});
