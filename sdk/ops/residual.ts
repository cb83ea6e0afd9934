// residual: y = body(x) + shortcut(x), an empty shortcut being the identity (FORMAT.md
// version 2). Branches are parsed and compiled by the network code (sdk/network.ts), which
// bounds the nesting depth (LIMITS.maxNesting).

import { sameShape, showShape } from "../shape";
import type { LayerBase, OpDef } from "./types";

export interface ResidualLayer extends LayerBase {
  readonly type: "residual";
  readonly body: readonly LayerBase[];
  /** Empty: the identity. */
  readonly shortcut: readonly LayerBase[];
}

export const residual: OpDef<ResidualLayer> = {
  types: ["residual"],
  version: 2,
  parse(r, input, ctx) {
    if (!Array.isArray(r.raw.body) || r.raw.body.length === 0) r.fail("E_ARCHITECTURE", `${r.at}: a residual needs "body", a non-empty list of layers`);
    const body = ctx.layers(r.raw.body, input, `${r.at}.body`);
    const given = r.raw.shortcut ?? [];
    const raw: unknown[] = Array.isArray(given) ? given : r.fail("E_ARCHITECTURE", `${r.at}: "shortcut" must be a list of layers (empty or absent: the identity)`);
    const shortcut = raw.length === 0 ? { layers: [], output: input } : ctx.layers(raw, input, `${r.at}.shortcut`);
    if (!sameShape(body.output, shortcut.output)) {
      r.fail("E_ARCHITECTURE", `${r.at}: the body ends in ${showShape(body.output)} but the shortcut in ${showShape(shortcut.output)}; a residual adds them, so they must match`);
    }
    return { type: "residual", at: r.at, input, output: body.output, body: body.layers, shortcut: shortcut.layers, children: [body.layers, shortcut.layers] };
  },
  parameters: () => 0,
  tensors: () => [],
  describe: (l) => `residual (${l.body.length} layer${l.body.length === 1 ? "" : "s"}${l.shortcut.length === 0 ? ", identity shortcut" : `, shortcut of ${l.shortcut.length}`}) -> ${showShape(l.output)}`,
  compile(layer, c, input) {
    const b = c.layers(layer.body, input);
    const s = layer.shortcut.length === 0 ? input : c.layers(layer.shortcut, input);
    const n = layer.output.reduce((a, d) => a * d, 1);
    return c.step({
      name: `${layer.at} residual add`, inputs: [b, s], shape: layer.output, inPlace: true,
      run(k, rows, [x, y], out) { k.f32_add(x!, y!, rows * n, out); },
    });
  },
};
