// The trainer end to end: a short circle run improves the ELBO, is deterministic for a seed,
// and its exported file reloads through Vae.load with identical outputs; the density check of
// the shipped circle model integrates to 1; user data parsing.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { Vae } from "../sdk/vae";
import { train, Trainer, mlpArchitecture, parseData, splitData, densityGrid, circleData } from "../sdk/train/index";
import type { TrainLayer } from "../sdk/train/trainer";
import { ArgumentError } from "../sdk/errors";
import { OPS } from "../sdk/ops/index";
import { expectClose } from "./helpers/close";

describe("train() on the circle", () => {
  const run = (seed: number) => train({
    data: "circle", circlePoints: 4096, circleHeldOut: 512, epochs: 24, batchSize: 128, lr: 3e-3,
    seed, warmup: 4, hidden: [32, 32], latentDim: 2, activation: "tanh",
  });

  it("improves the held-out ELBO over a few hundred steps, and reloads with identical outputs", async () => {
    const r = await run(3);
    expect(r.trainer.steps).toBe(24 * 32);
    const first = r.log[0]!.heldOutElbo, last = r.log[r.log.length - 1]!.heldOutElbo;
    expect(last).toBeGreaterThan(first + 0.5);
    expect(r.log.map((e) => e.epoch)).toEqual([...Array(24).keys()].map((i) => i + 1));

    const vae = await Vae.load(r.model);
    expect(vae.info.metadata["edgevae_training"]).toContain("\"seed\":3");
    const x = r.heldOut.values, n = r.heldOut.rows;
    const eps = new Float32Array(n * 2).map((_, i) => Math.sin(i * 12.9898) * 1.7);
    const fromTrainer = r.trainer.evaluate(x, { eps }).perItem;
    const fromVae = vae.elbo(x, { eps }).elbo;
    expectClose(fromVae, fromTrainer, { rtol: 1e-6, atol: 1e-6 }, "ELBO Vae vs trainer");
    let identical = 0;
    for (let i = 0; i < n; i++) if (fromVae[i] === fromTrainer[i]) identical++;
    expect(identical).toBe(n); // same kernels, same packed weights: bit-identical

    const f16 = await Vae.load(r.trainer.exportModel({ dtype: "F16" }));
    expect(f16.info.dtype).toBe("F16");
    expectClose(f16.elbo(x, { eps }).elbo, fromTrainer, { rtol: 0, atol: 0.05 }, "F16 export");
  });

  it("is deterministic for a seed, and differs across seeds", async () => {
    const [a, b, c] = [await run(5), await run(5), await run(6)];
    for (const [name, v] of a.trainer.getParameters()) expect(b.trainer.getParameters().get(name)).toEqual(v);
    expect(c.trainer.getParameters().get("decoder.0.weight")).not.toEqual(a.trainer.getParameters().get("decoder.0.weight"));
    expect(a.log.map((e) => e.heldOutElbo)).toEqual(b.log.map((e) => e.heldOutElbo));
  });
});

describe("the density check (figure:circle, on a small grid)", () => {
  it("the shipped circle model integrates to 1 +- 0.03 over [-4,4]^2 by z-grid quadrature", async () => {
    const vae = await Vae.load(readFileSync(new URL("../models/circle.safetensors", import.meta.url)));
    const g = await densityGrid(vae, { cells: 80, limit: 4, zCells: 120, zLimit: 6 });
    expect(Math.abs(g.integral - 1)).toBeLessThan(0.03);
    // a doughnut, not a blob: the centre is far below the ring
    const centre = g.density[40 * 80 + 40]!;
    expect(centre).toBeLessThan(Math.max(...g.density) / 20);
  });
});

describe("user data and architectures", () => {
  it("parses JSON and CSV (with a header), and splits deterministically", () => {
    const j = parseData("[[1,2,3],[4,5,6]]");
    expect(j.rows).toBe(2); expect(j.width).toBe(3); expect([...j.values]).toEqual([1, 2, 3, 4, 5, 6]);
    const c = parseData("a,b\n1,2\n3;4\n\n5\t6\n");
    expect(c.rows).toBe(3); expect([...c.values]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => parseData("[[1,2],[3]]")).toThrow(/row 1 has 1 values/);
    expect(() => parseData("1,2\n3,x")).toThrow(/not a finite number/);
    const d = circleData(100, 1);
    const s1 = splitData(d, 0.2, 0), s2 = splitData(d, 0.2, 0);
    expect(s1.heldOut.rows).toBe(20);
    expect(s1.heldOut.values).toEqual(s2.heldOut.values);
  });

  it("rejects an encoder that does not end in 2 * latent outputs", async () => {
    const arch = mlpArchitecture({ inputSize: 3, hidden: [4], latentDim: 2, likelihood: { type: "bernoulli" } });
    arch.encoder[arch.encoder.length - 1] = { type: "linear", out: 3 };
    await expect(Trainer.create(arch)).rejects.toThrow(/encoder must end with a linear layer of 4 outputs/);
  });

  it("trains a bernoulli model on rows in [0, 1] (likelihood chosen from the data)", async () => {
    const rows = Array.from({ length: 300 }, (_, i) => Array.from({ length: 13 }, (_, j) => ((i * 7 + j * 3) % 11 < 5 ? 1 : 0)));
    const r = await train({ data: rows, epochs: 30, batchSize: 37, hidden: [9], latentDim: 3, activation: "relu", lr: 1e-2 });
    expect(r.trainer.arch.likelihood.type).toBe("bernoulli");
    expect(r.heldOut.rows).toBe(30);
    expect(r.log[r.log.length - 1]!.heldOutElbo).toBeGreaterThan(r.log[0]!.heldOutElbo);
  });
});

describe("the trainer and the op registry", () => {
  // Every layer type the trainer accepts is one the registry has a backward pass for; a model
  // using each of them trains, exports, and loads through Vae.load with the trainer's numbers.
  const trainable = [...OPS.entries()].filter(([, def]) => def.train !== undefined).map(([type]) => type);

  it("trains only registry types with a backward pass (linear and the 8 activations)", () => {
    expect(trainable.sort()).toEqual(["elu", "gelu", "leaky_relu", "linear", "relu", "sigmoid", "silu", "softplus", "tanh"]);
  });

  it.each(trainable.filter((t) => t !== "linear"))("trains, exports and reloads a model with %s", async (type) => {
    const layer = { type } as TrainLayer;
    const arch = mlpArchitecture({ inputSize: 5, hidden: [7], latentDim: 2, activation: layer, likelihood: { type: "gaussian", sigma: 0.5 } });
    const trainer = await Trainer.create(arch, { seed: 1, maxBatch: 8 });
    const x = Float32Array.from({ length: 40 }, (_, i) => Math.sin(i));
    for (let s = 0; s < 3; s++) trainer.step(x, 0, 8);
    const vae = await Vae.load(trainer.exportModel());
    expect(vae.info.encoder.some((l) => l.startsWith(type))).toBe(true);
    const eps = new Float32Array(8 * 2).map((_, i) => Math.cos(i));
    expect(vae.elbo(x, { eps }).elbo).toEqual(trainer.evaluate(x, { eps }).perItem);
  });

  it.each([
    ["identity", /unknown layer type "identity"/],
    ["conv2d", /conv2d/],
    ["batch_norm", /batch_norm/],
  ])("refuses a %s layer, which Vae.load or the backward passes do not support", async (type, message) => {
    const arch = mlpArchitecture({ inputSize: 3, hidden: [4], latentDim: 1, likelihood: { type: "bernoulli" } });
    arch.encoder.splice(1, 0, { type } as unknown as TrainLayer);
    const err = await Trainer.create(arch).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArgumentError);
    expect((err as ArgumentError).code).toBe("E_ARGUMENT");
    expect((err as Error).message).toMatch(message);
  });
});
