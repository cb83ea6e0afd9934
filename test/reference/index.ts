// The float64 reference implementation of edgevae, for tests only.
export * from "./activations";
export * from "./linear";
export * from "./gaussian";
export * from "./likelihoods";
export * from "./model";
export * from "./rng";
