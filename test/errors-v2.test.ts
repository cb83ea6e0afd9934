// Malformed version 2 files: each is refused by the parser with a coded FormatError that names
// the layer, quickly and before any wasm memory is planned (parseModel runs before the wasm is
// instantiated), never with a stack overflow, a hang or a huge allocation.
import { describe, expect, it } from "vitest";
import { FormatError, parseModel, Vae, type ErrorCode } from "../sdk/index";
import { mutableHeader } from "./helpers/safetensors";
import { buildV2 } from "./helpers/v2";

const base = buildV2({
  inputShape: [1, 8, 8], latentDim: 4,
  encoder: [
    { type: "conv2d", out: 4, kernel: [3, 3], stride: [2, 2], padding: [1, 1] }, { type: "relu" },
    { type: "residual", body: [{ type: "conv2d", out: 4, kernel: [3, 3], padding: [1, 1] }] },
    { type: "group_norm", num_groups: 2 },
    { type: "flatten" }, { type: "linear", out: 8 },
  ],
  decoder: [
    { type: "linear", out: 64 }, { type: "reshape", shape: [4, 4, 4] },
    { type: "conv_transpose2d", out: 2, kernel: [4, 4], stride: [2, 2], padding: [1, 1] },
    { type: "batch_norm" },
    { type: "conv2d", out: 1, kernel: [1, 1] },
  ],
  likelihood: { type: "bernoulli" }, seed: 5,
});
const file = mutableHeader(base.bytes);
type Arch = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const arch = (): Arch => JSON.parse(JSON.stringify(base.arch));
const withArch = (edit: (a: Arch) => void): Uint8Array => {
  const a = arch();
  edit(a);
  const h = JSON.parse(JSON.stringify(file.header));
  h.__metadata__.edgevae = JSON.stringify(a);
  return file.rebuild(h);
};

function parseError(bytes: Uint8Array): FormatError {
  try {
    parseModel(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(FormatError);
    return err as FormatError;
  }
  throw new Error("expected parseModel to fail");
}

const nest = (depth: number): Arch => {
  let layer: Arch = { type: "relu" };
  for (let i = 0; i < depth; i++) layer = { type: "residual", body: [layer] };
  return layer;
};

describe("malformed version 2 architectures", () => {
  const cases: [string, (a: Arch) => void, ErrorCode, RegExp][] = [
    ["conv input channels that do not match the weight", (a) => { a.input_shape = [2, 8, 8]; }, "E_TENSOR_SHAPE", /encoder\.0\.weight has shape \[4, 1, 3, 3\] but encoder\[0\] needs \[4, 2, 3, 3\]/],
    ["groups that do not divide the channels", (a) => { a.encoder[0].groups = 3; }, "E_ARCHITECTURE", /encoder\[0\]: groups = 3 does not divide/],
    ["groups 0", (a) => { a.encoder[0].groups = 0; }, "E_ARCHITECTURE", /encoder\[0\]\.groups must be an integer >= 1/],
    ["stride 0", (a) => { a.encoder[0].stride = [0, 2]; }, "E_ARCHITECTURE", /encoder\[0\]\.stride must hold integers >= 1/],
    ["dilation 0", (a) => { a.decoder[2].dilation = [1, 0]; }, "E_ARCHITECTURE", /decoder\[2\]\.dilation/],
    ["negative padding", (a) => { a.encoder[0].padding = [-1, 1]; }, "E_ARCHITECTURE", /encoder\[0\]\.padding must hold integers >= 0/],
    ["three padding values", (a) => { a.encoder[0].padding = [1, 1, 1]; }, "E_ARCHITECTURE", /padding must be a list of 2 or 4 integers/],
    ["a fractional stride", (a) => { a.encoder[0].stride = [1.5, 1]; }, "E_ARCHITECTURE", /stride/],
    ["an output size of zero", (a) => { a.encoder[0].padding = [0, 0]; a.encoder[0].stride = [9, 9]; a.input_shape = [1, 2, 2]; }, "E_ARCHITECTURE", /encoder\[0\]: conv2d on \[1, 2, 2\].*would output 0 x 0/],
    ["output_padding too large", (a) => { a.decoder[2].output_padding = [2, 0]; }, "E_ARCHITECTURE", /decoder\[2\]: output_padding \[2,0\] is too large.*max\(stride, dilation\) = 2/],
    ["linear on an image without flatten", (a) => { a.encoder.splice(4, 1); }, "E_ARCHITECTURE", /encoder\[4\]: linear needs a vector input \[N\], but its input is \[4, 4, 4\]; put a \{"type": "flatten"\} before it/],
    ["reshape to another number of values", (a) => { a.decoder[1].shape = [4, 4, 5]; }, "E_ARCHITECTURE", /decoder\[1\]: reshape to \[4, 4, 5\] \(80 values\) does not match its input \[64\]/],
    ["a reshape of rank 4", (a) => { a.decoder[1].shape = [1, 4, 4, 4]; }, "E_ARCHITECTURE", /decoder\[1\]\.shape must be a list of 1 or 2 or 3 integers/],
    ["residual branches of different shapes", (a) => { a.encoder[2].shortcut = [{ type: "flatten" }]; }, "E_ARCHITECTURE", /encoder\[2\]: the body ends in \[4, 4, 4\] but the shortcut in \[64\]/],
    ["a residual without a body", (a) => { a.encoder[2].body = []; }, "E_ARCHITECTURE", /encoder\[2\]: a residual needs "body"/],
    ["a nested layer named in messages", (a) => { a.encoder[2].body[0].groups = 3; }, "E_ARCHITECTURE", /encoder\[2\]\.body\[0\]: groups = 3/],
    ["a decoder that does not end in the input shape", (a) => { a.decoder.pop(); }, "E_ARCHITECTURE", /decoder outputs \[2, 8, 8\] but must output 64 values.*\(\[1, 8, 8\] or \[64\]\)/],
    ["a decoder that ends in the right count but the wrong shape", (a) => { a.decoder.push({ type: "reshape", shape: [8, 8] }); }, "E_ARCHITECTURE", /decoder outputs \[8, 8\]/],
    ["an encoder that does not end in [2 * latent]", (a) => { a.latent_dim = 3; }, "E_ARCHITECTURE", /encoder outputs \[8\] but must output 2 \* latent_dim = 6/],
    ["latent_shape that disagrees with latent_dim", (a) => { a.latent_shape = [2, 3]; }, "E_ARCHITECTURE", /latent_shape \[2,3\] has 6 values, but latent_dim is 4/],
    ["group_norm groups that do not divide", (a) => { a.encoder[3].num_groups = 3; }, "E_ARCHITECTURE", /encoder\[3\]: num_groups = 3 does not divide the 4 channels/],
    ["group_norm on a vector", (a) => { a.encoder.splice(5, 0, { type: "group_norm", num_groups: 1 }); }, "E_ARCHITECTURE", /encoder\[5\]: group_norm needs a sequence/],
    ["layer_norm on an image", (a) => { a.encoder.splice(1, 0, { type: "layer_norm" }); }, "E_ARCHITECTURE", /encoder\[1\]: layer_norm normalises a vector/],
    ["eps 0", (a) => { a.encoder[3].eps = 0; }, "E_ARCHITECTURE", /encoder\[3\]\.eps must be > 0/],
    ["upsample on a vector", (a) => { a.decoder.splice(1, 0, { type: "upsample", scale_factor: [2] }); }, "E_ARCHITECTURE", /decoder\[1\]: upsample needs a sequence/],
    ["upsample bilinear", (a) => { a.decoder.splice(3, 0, { type: "upsample", mode: "bilinear", scale_factor: [1, 1] }); }, "E_ARCHITECTURE", /mode "bilinear" is not supported/],
    ["a conv whose output would need gigabytes", (a) => { a.decoder[2].stride = [20000, 20000]; }, "E_LIMIT", /decoder\[2\]: conv_transpose2d would output \[2, 60002, 60002\], 7200480008 values per item/],
    ["residuals nested 17 deep", (a) => { a.encoder.splice(1, 0, nest(17)); }, "E_LIMIT", /nest deeper than 16 levels/],
    ["a conv1d on an image", (a) => { a.encoder[0].type = "conv1d"; }, "E_ARCHITECTURE", /encoder\[0\]: conv1d needs a sequence \[C, L\] input, but its input is \[1, 8, 8\]/],
    ["a v2 input_shape of rank 4", (a) => { a.input_shape = [1, 1, 8, 8]; }, "E_ARCHITECTURE", /input_shape must be a list of 1 to 3/],
  ];

  it.each(cases.map(([what, edit, code, message]) => ({ what, edit, code, message })))("$what -> $code", ({ edit, code, message }) => {
    const t0 = performance.now();
    const err = parseError(withArch(edit));
    expect(performance.now() - t0).toBeLessThan(500); // no quadratic walk, no big allocation
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  });

  it("refuses residuals nested thousands deep quickly, without a stack overflow", () => {
    const t0 = performance.now();
    // written as text: JSON.stringify itself would overflow the stack on 5,000 levels
    const deep = '{"type":"residual","body":['.repeat(5000) + '{"type":"relu"}' + "]}".repeat(5000);
    const text = JSON.stringify({ ...arch(), encoder: ["DEEP"] }).replace('"DEEP"', deep);
    const h = JSON.parse(JSON.stringify(file.header));
    h.__metadata__.edgevae = text;
    const err = parseError(file.rebuild(h));
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(["E_LIMIT", "E_ARCHITECTURE"]).toContain(err.code);
    expect(err.message).toMatch(/deeper/);
  });

  it("refuses a negative running_var when loading (the data, not the header, is wrong)", async () => {
    const h = JSON.parse(JSON.stringify(file.header));
    const t = h["decoder.3.running_var"];
    const bytes = file.rebuild(h).slice();
    const start = 8 + new DataView(bytes.buffer).getUint32(0, true) + t.data_offsets[0];
    new DataView(bytes.buffer).setFloat32(start, -1, true);
    await expect(Vae.load(bytes)).rejects.toMatchObject({ code: "E_TENSOR_VALUE", message: expect.stringMatching(/decoder\.3\.running_var\[0\] is -1; decoder\[3\] \(batch_norm\) needs running_var >= 0/) });
  });

  it("loads the base file, and a version 1 file is read as before", async () => {
    const vae = await Vae.load(base.bytes);
    expect(vae.info.version).toBe(2);
    expect(vae.info.decoder).toContain("batch_norm 2");
    vae.dispose();
  });
});
