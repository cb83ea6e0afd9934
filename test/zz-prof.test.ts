import { it } from "vitest";
import { Vae } from "../sdk/index";
import { buildV2 } from "./helpers/v2";
it("prof", async () => {
  const keras = buildV2({ inputShape: [1, 28, 28], latentDim: 16,
    encoder: [{ type: "conv2d", out: 32, kernel: [3, 3], stride: [2, 2], padding: [0, 0, 1, 1] }, { type: "relu" }, { type: "conv2d", out: 64, kernel: [3, 3], stride: [2, 2], padding: [0, 0, 1, 1] }, { type: "relu" }, { type: "flatten" }, { type: "linear", out: 16 }, { type: "relu" }, { type: "linear", out: 32 }],
    decoder: [{ type: "linear", out: 3136 }, { type: "relu" }, { type: "reshape", shape: [64, 7, 7] }, { type: "conv_transpose2d", out: 64, kernel: [3, 3], stride: [2, 2], padding: [1, 1], output_padding: [1, 1] }, { type: "relu" }, { type: "conv_transpose2d", out: 32, kernel: [3, 3], stride: [2, 2], padding: [1, 1], output_padding: [1, 1] }, { type: "relu" }, { type: "conv_transpose2d", out: 1, kernel: [3, 3], padding: [1, 1] }],
    likelihood: { type: "bernoulli" }, seed: 3 }).bytes;
  const vae = await Vae.load(keras, { simd: "baseline" }) as any;
  const k = vae.k, rows = 64;
  for (const [name, prog] of [["enc", vae.buf.encoder], ["dec", vae.buf.decoder]]) {
    console.log(name, prog.steps.map((s: any) => s.step.name).join(" | "));
    for (const s of prog.steps) {
      s.step.run(k, rows, s.ins, s.out);
      const t0 = performance.now(); let n = 0;
      while (performance.now() - t0 < 300) { s.step.run(k, rows, s.ins, s.out); n++; }
      console.log(name, s.step.name, ((performance.now() - t0) / n).toFixed(3), "ms");
    }
  }
});
