// upsample, mode "nearest" (PyTorch nn.Upsample(mode="nearest")) by integer factors, on
// sequences [C, L] and images [C, H, W] (FORMAT.md version 2).

import { LIMITS } from "../limits";
import { showShape, sizeOf, spatial } from "../shape";
import type { LayerBase, OpDef } from "./types";

export interface UpsampleLayer extends LayerBase {
  readonly type: "upsample";
  readonly fh: number;
  readonly fw: number;
}

export const upsample: OpDef<UpsampleLayer> = {
  types: ["upsample"],
  version: 2,
  parse(r, input) {
    if (input.length < 2) r.fail("E_ARCHITECTURE", `${r.at}: upsample needs a sequence [C, L] or an image [C, H, W], but its input is ${showShape(input)}`);
    const mode = r.raw.mode ?? "nearest";
    if (mode !== "nearest") r.fail("E_ARCHITECTURE", `${r.at}: upsample mode ${JSON.stringify(mode)} is not supported; version 2 has only "nearest"`);
    const dims = input.length - 1;
    const f = r.ints("scale_factor", [dims], 1, undefined, LIMITS.maxValues);
    const [fh, fw] = dims === 2 ? f : [1, f[0]!];
    const output = dims === 2 ? [input[0]!, input[1]! * fh, input[2]! * fw] : [input[0]!, input[1]! * fw];
    if (sizeOf(output) > LIMITS.maxValues) r.fail("E_LIMIT", `${r.at}: upsample would output ${showShape(output)}, ${sizeOf(output)} values per item; at most ${LIMITS.maxValues} are supported`);
    return { type: "upsample", at: r.at, input, output, fh: fh!, fw: fw! };
  },
  parameters: () => 0,
  tensors: () => [],
  describe: (l) => `upsample nearest x${l.input.length === 3 ? `${l.fh}x${l.fw}` : l.fw} -> ${showShape(l.output)}`,
  compile(layer, c, input) {
    const { c: C, h, w } = spatial(layer.input), { fh, fw } = layer;
    return c.step({
      name: `${layer.at} upsample`, inputs: [input], shape: layer.output,
      run(k, rows, [x], y) { k.f32_upsample_nearest_nhwc(x!, rows, h, w, C, fh, fw, y); },
    });
  },
};
