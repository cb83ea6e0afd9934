// Type-checked only (not run under Node): the README's Worker snippet, so that the types of
// "edgevae/edgevae.wasm" are checked under each moduleResolution too.
import { Vae, type LoadOptions } from "edgevae";
import wasm from "edgevae/edgevae.wasm";

export async function load(model: ArrayBuffer): Promise<Vae> {
  const options: LoadOptions = { wasm, maxMemoryBytes: 64 << 20 };
  const module: WebAssembly.Module = wasm;
  void module;
  return Vae.load(new Uint8Array(model), options);
}
