// Scalar activation functions in float64, written for accuracy rather than speed.
//
// This is the test oracle: the wasm kernels are checked against these values, so
// every function here is the mathematically exact definition evaluated in a way
// that does not lose precision in the tails (large |x|), where naive formulas
// overflow, underflow or cancel.

/** Anything indexable that holds numbers: number[], Float32Array, Float64Array. */
export type Numbers = ArrayLike<number>;

// ---------------------------------------------------------------------------
// erf / erfc: W. J. Cody, "Rational Chebyshev approximations for the error
// function", Math. Comp. 23 (1969), as implemented in his CALERF (SPECFUN,
// netlib, 1985/1990). Relative error is below ~1e-15 over the whole real line.
// Three intervals of |x|: [0, 0.46875], (0.46875, 4], (4, inf).
// ---------------------------------------------------------------------------

// erf(x) ~= x * P(x^2) / Q(x^2) for |x| <= 0.46875
const ERF_A = [3.1611237438705656, 113.86415415105016, 377.485237685302021, 3209.37758913846947, 0.185777706184603153];
const ERF_B = [23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062];
// erfc(x) ~= exp(-x^2) * P(x) / Q(x) for 0.46875 < |x| <= 4
const ERF_C = [
  0.564188496988670089, 8.88314979438837594, 66.1191906371416295, 298.635138197400131, 881.95222124176909,
  1712.04761263407058, 2051.07837782607147, 1230.33935479799725, 2.15311535474403846e-8,
];
const ERF_D = [
  15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019, 3290.79923573345963,
  4362.61909014324716, 3439.36767414372164, 1230.33935480374942,
];
// erfc(x) ~= exp(-x^2)/x * (1/sqrt(pi) + 1/x^2 * P(1/x^2) / Q(1/x^2)) for |x| > 4
const ERF_P = [
  0.305326634961232344, 0.360344899949804439, 0.125781726111229246, 0.0160837851487422766,
  6.58749161529837803e-4, 0.0163153871373020978,
];
const ERF_Q = [2.56852019228982242, 1.87295284992346047, 0.527905102951428412, 0.0605183413124413191, 0.00233520497626869185];

const ONE_OVER_SQRT_PI = 0.56418958354775628695;
const ERF_SMALL_BREAK = 0.46875;
// Below this, x^2 underflows relative to 1 and erf(x) ~= x * A[3]/B[3] exactly.
const ERF_X_SMALL = 1.11e-16;
// Above this, erfc(x) underflows to 0 in float64.
const ERFC_X_BIG = 26.543;

/** exp(-y*y) without the rounding error of forming y*y: split y = hi + lo with hi a multiple of 1/16. */
function expMinusSquare(y: number): number {
  const hi = Math.trunc(y * 16) / 16;
  const del = (y - hi) * (y + hi);
  return Math.exp(-hi * hi) * Math.exp(-del);
}

/**
 * erfc(|x|) for |x| > 0.46875 (the two outer intervals of Cody's scheme).
 * Computing erfc directly there keeps its relative accuracy where erf is near 1.
 */
function erfcOuter(y: number): number {
  if (y <= 4) {
    let num = ERF_C[8] * y;
    let den = y;
    for (let i = 0; i < 7; i++) {
      num = (num + ERF_C[i]) * y;
      den = (den + ERF_D[i]) * y;
    }
    return expMinusSquare(y) * ((num + ERF_C[7]) / (den + ERF_D[7]));
  }
  if (y >= ERFC_X_BIG) return 0;
  const ysq = 1 / (y * y);
  let num = ERF_P[5] * ysq;
  let den = ysq;
  for (let i = 0; i < 4; i++) {
    num = (num + ERF_P[i]) * ysq;
    den = (den + ERF_Q[i]) * ysq;
  }
  const r = (ysq * (num + ERF_P[4])) / (den + ERF_Q[4]);
  return expMinusSquare(y) * ((ONE_OVER_SQRT_PI - r) / y);
}

/** erf(x) for |x| <= 0.46875. */
function erfInner(x: number): number {
  const y = Math.abs(x);
  const ysq = y > ERF_X_SMALL ? y * y : 0;
  let num = ERF_A[4] * ysq;
  let den = ysq;
  for (let i = 0; i < 3; i++) {
    num = (num + ERF_A[i]) * ysq;
    den = (den + ERF_B[i]) * ysq;
  }
  return (x * (num + ERF_A[3])) / (den + ERF_B[3]);
}

/** The error function, erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const y = Math.abs(x);
  if (y <= ERF_SMALL_BREAK) return erfInner(x);
  const r = 0.5 - erfcOuter(y) + 0.5;
  return x < 0 ? -r : r;
}

/** The complementary error function, erfc(x) = 1 - erf(x), relative-accurate for large x. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const y = Math.abs(x);
  if (y <= ERF_SMALL_BREAK) return 1 - erfInner(x);
  const r = erfcOuter(y);
  return x < 0 ? 2 - r : r;
}

// ---------------------------------------------------------------------------
// Activations (scalar). NaN in gives NaN out, as in PyTorch.
// ---------------------------------------------------------------------------

export function relu(x: number): number {
  // Math.max propagates NaN, and maps -0 to +0 like PyTorch's relu.
  return Math.max(x, 0);
}

export function leakyRelu(x: number, negativeSlope = 0.01): number {
  return x >= 0 ? x : negativeSlope * x;
}

export function elu(x: number, alpha = 1): number {
  // expm1 keeps precision for small negative x, where exp(x) - 1 cancels.
  return x > 0 ? x : alpha * Math.expm1(x);
}

/**
 * Exact GELU, x * Phi(x) = 0.5 * x * (1 + erf(x/sqrt2)).
 * Written with erfc(-x/sqrt2) = 1 + erf(x/sqrt2) so that for negative x the tiny
 * factor is computed directly instead of as 1 + (almost -1), which would cancel.
 */
export function gelu(x: number): number {
  return 0.5 * x * erfc(-x / Math.SQRT2);
}

/** Logistic sigmoid; each branch only ever evaluates exp of a non-positive number, so nothing overflows. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export function silu(x: number): number {
  return x * sigmoid(x);
}

export function tanh(x: number): number {
  return Math.tanh(x);
}

/** softplus(x) = log(1 + exp(x)), as max(x,0) + log1p(exp(-|x|)): no overflow, relative-accurate for x << 0. */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

// ---------------------------------------------------------------------------
// A FORMAT.md activation layer applied elementwise.
// ---------------------------------------------------------------------------

/** An activation LAYER object from the edgevae metadata (any non-linear layer). */
export interface ActivationLayer {
  type: string;
  negative_slope?: number;
  alpha?: number;
}

/** Applies `layer` to every value of x (any shape, flattened). Returns a new Float64Array of x.length. */
export function applyActivation(layer: ActivationLayer, x: Numbers): Float64Array {
  const f = activationFunction(layer);
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = f(x[i]);
  return y;
}

function activationFunction(layer: ActivationLayer): (x: number) => number {
  switch (layer.type) {
    case "relu":
      return relu;
    case "leaky_relu": {
      const slope = layer.negative_slope ?? 0.01;
      return (x) => leakyRelu(x, slope);
    }
    case "elu": {
      const alpha = layer.alpha ?? 1;
      return (x) => elu(x, alpha);
    }
    case "gelu":
      return gelu;
    case "silu":
      return silu;
    case "tanh":
      return tanh;
    case "sigmoid":
      return sigmoid;
    case "softplus":
      return softplus;
    default:
      throw new Error(`reference: unknown activation layer type ${JSON.stringify(layer.type)}`);
  }
}
