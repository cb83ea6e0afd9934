// The op registry: every layer type of FORMAT.md, each defined once in its own file. Adding a
// layer type is one file here (plus its kernel and its float64 reference in
// test/reference/ops.ts, which the compiler holds to this list).

import { activation, type ActivationLayer } from "./activation";
import { conv, type ConvLayer } from "./conv";
import { linear, type LinearLayer } from "./linear";
import { batchNorm, groupNorm, layerNorm, type BatchNormLayer, type GroupNormLayer, type LayerNormLayer } from "./norm";
import { flatten, reshape, type FlattenLayer, type ReshapeLayer } from "./reshape";
import { residual, type ResidualLayer } from "./residual";
import type { OpDef } from "./types";
import { upsample, type UpsampleLayer } from "./upsample";

/** Every parsed layer. */
export type Layer =
  | LinearLayer | ActivationLayer | ConvLayer | UpsampleLayer | FlattenLayer | ReshapeLayer
  | BatchNormLayer | GroupNormLayer | LayerNormLayer | ResidualLayer;

export type LayerType = Layer["type"];

const DEFS: readonly OpDef<any>[] = [linear, activation, conv, upsample, flatten, reshape, batchNorm, groupNorm, layerNorm, residual]; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Layer type -> its definition (own keys only: no prototype lookups for untrusted type names). */
export const OPS: ReadonlyMap<string, OpDef<Layer>> = new Map(DEFS.flatMap((def) => def.types.map((t) => [t, def as OpDef<Layer>] as const)));

/** The layer types of each format version, for messages. */
export function typesOfVersion(version: 1 | 2): string[] {
  return [...OPS.entries()].filter(([, def]) => def.version <= version).map(([t]) => t);
}

export type { ActivationLayer, ConvLayer, LinearLayer, UpsampleLayer, FlattenLayer, ReshapeLayer, BatchNormLayer, GroupNormLayer, LayerNormLayer, ResidualLayer };
