// Shared by every kernel: integer types, the fused epilogue, output stores.
//
// The epilogue is ARCHITECTURE.md §4 with the two-stage fixed-point form of qnn-kernels
// (RequantLanes::Fixed), evaluated exactly as the CPU kernels do:
//
//   v   = acc + bias[k] - t3[k] * window_sum            (wrapping i32: the true value fits,
//                                                        proved at prepare time)
//   out = clamp(zero_point + requantize(v, k), lo, hi)
//
// Float (ONNX Runtime): y = round_half_even(f32(v) * mult[k]) + f32(zero_point), every step
// a single f32 operation (__fmul_rn, rintf, __fadd_rn: never contracted into an FMA).
// Fixed point: p = v * q (|p| < 2^62), t = (p + round1 - neg) >> shift1, TFLite adds a
// second rounding shift; all in 64-bit integers.

typedef long long i64;
typedef unsigned long long u64;
typedef signed char s8;
typedef unsigned char u8;

#define REQ_NONE 0
#define REQ_FLOAT 1
#define REQ_UPWARD 2
#define REQ_TONEAREST 3
#define REQ_TFLITE 4

#define OUT_U8 0
#define OUT_I8 1
#define OUT_I32 2

// Per-channel parameters (out_c entries each, natural channel order); null when unused.
// Mirrors `EpilogueArgs` in src/launch.rs (#[repr(C)]).
struct Epilogue {
    const int* bias;      // bias - T2 + T4 - requantize input zero point
    const int* t3;        // weight zero points w_k of the T3 term; null: no T3
    const float* fmult;   // REQ_FLOAT
    const i64* qmult;     // fixed point: q
    const i64* shift1;
    const i64* round1;
    const i64* shift2;
    const i64* round2;
    int mode;             // REQ_*
    int out_dtype;        // OUT_*
    int zero_point;
    int lo;
    int hi;
};

__device__ __forceinline__ int epilogue(int acc, int k, int window_sum, const Epilogue& e) {
    // Unsigned arithmetic: wraps like the CPU kernels' wrapping_add (no signed overflow UB).
    unsigned u = (unsigned)acc + (unsigned)e.bias[k];
    if (e.t3 != 0) {
        u -= (unsigned)e.t3[k] * (unsigned)window_sum;
    }
    const int v = (int)u;
    if (e.mode == REQ_NONE) {
        return min(max(v, e.lo), e.hi);
    }
    if (e.mode == REQ_FLOAT) {
        float y = __fmul_rn(__int2float_rn(v), e.fmult[k]);
        y = rintf(y);  // ties to even
        y = __fadd_rn(y, __int2float_rn(e.zero_point));
        const float lo = __int2float_rn(e.lo);
        const float hi = __int2float_rn(e.hi);
        y = y < lo ? lo : y;
        y = y > hi ? hi : y;
        // y is an integer value; the conversion saturates at 2^31 like Rust's `as i32`.
        const int o = __float2int_rn(y);
        return min(max(o, e.lo), e.hi);
    }
    const i64 p = (i64)v * e.qmult[k];
    const i64 r1 = e.round1[k];
    i64 t = p + r1;
    if (e.mode == REQ_TONEAREST && p < 0 && r1 != 0) {
        t -= 1;
    }
    t >>= e.shift1[k];
    if (e.mode == REQ_TFLITE) {
        const i64 r2 = e.round2[k];
        i64 w = t + r2;
        if (t < 0 && r2 != 0) {
            w -= 1;
        }
        t = w >> e.shift2[k];
    }
    t += e.zero_point;
    t = t < e.lo ? (i64)e.lo : t;
    t = t > e.hi ? (i64)e.hi : t;
    return (int)t;
}

__device__ __forceinline__ void store_out(void* out, u64 i, int v, int dtype) {
    if (dtype == OUT_I32) {
        ((int*)out)[i] = v;
    } else {
        ((u8*)out)[i] = (u8)v;  // v is clamped into u8 or i8: truncation is exact
    }
}
