// Conv2d (any groups, stride, dilation, padding) and dense as an implicit GEMM with dp4a:
//
//   acc[m][n] = sum_k dp4a(X[m][k], Wt[k][n])     (k: 32-bit words = 4 channels of one tap)
//
// over the input read in place (each group's channels are whole words) or its packed copy
// (pack.cu: padded, each group's channels rounded up to whole words), so X[m][k] is one
// aligned word: with the window of output pixel m starting at (y0, x0) and reduction word k
// at tap offset (dy, dx) and word j, X[m][k] = x[((img*h + y0+dy)*w + x0+dx)*wpp + g*gw + j],
// or the pad word when (y0+dy, x0+dx) lies outside the h x w buffer (never for a packed
// copy, which holds its padding). ktab[k] = (offset of the word from the window origin, dy,
// dx, 0). The packed weights w[g][k][n] hold the same 4 channels, zero beyond the group's
// channels and beyond k4, columns padded to the tile.
//
// Block tile BM x BN, BK words (4*BK channels) per step, each thread TM x TN outputs in
// strips of 4 (int4 loads from shared memory); the next step's global loads are in
// registers while the current step computes. Split-K (blockIdx.z) writes i32 partial sums
// that dp4a_conv_reduce adds and finishes: integer addition in any order is exact
// (wrapping, and the true sum fits i32).

// Mirrors `ConvArgs` in src/launch.rs.
struct ConvArgs {
    const int* x;
    const int* w;
    const int4* ktab;
    const int* wsums;
    int* wsums_out;
    void* out;
    int* partial;
    int m, ohw, ow;
    int hp, wp, words_per_pixel;
    int sh, sw;
    int groups, og, group_words;
    int k4, k4p, np;
    int out_c;
    int k_per_split, splits;
    int pad_top, pad_left, pad_word;
};

// One word of the data: X at window origin (y0, x0) / word offset base, table entry t.
__device__ __forceinline__ int data_word(const ConvArgs& p, int base, int y0, int x0, int4 t) {
    const int y = y0 + t.y;
    const int x = x0 + t.z;
    return ((unsigned)y < (unsigned)p.hp && (unsigned)x < (unsigned)p.wp) ? __ldg(&p.x[base + t.x])
                                                                          : p.pad_word;
}

// The window of output pixel m: its origin (y0, x0) in the buffer read and the word offset
// of that origin plus the group's first word (negative when the origin is in the padding:
// only ever dereferenced with an offset that lands inside).
__device__ __forceinline__ void window_of(const ConvArgs& p, int m, int g, int& base, int& y0, int& x0) {
    const int img = m / p.ohw;
    const int rem = m - img * p.ohw;
    const int oy = rem / p.ow;
    const int ox = rem - oy * p.ow;
    y0 = oy * p.sh - p.pad_top;
    x0 = ox * p.sw - p.pad_left;
    base = ((img * p.hp + y0) * p.wp + x0) * p.words_per_pixel + g * p.group_words;
}

// One step's global loads into registers: this thread's A words (one table entry, A_PER
// pixels) and B words (row idx / BN, column idx % BN of the step).
template <int A_PER, int B_PER, int THREADS, int BN>
__device__ __forceinline__ void load_step(const ConvArgs& p, const int* wg, const int (&a_base)[A_PER],
                                          const int (&a_y)[A_PER], const int (&a_x)[A_PER],
                                          int a_kk, int tid, int k0, int (&a_reg)[A_PER],
                                          int (&b_reg)[B_PER]) {
    const int4 t = __ldg(&p.ktab[k0 + a_kk]);
#pragma unroll
    for (int i = 0; i < A_PER; ++i) {
        a_reg[i] = data_word(p, a_base[i], a_y[i], a_x[i], t);
    }
#pragma unroll
    for (int i = 0; i < B_PER; ++i) {
        const int idx = tid + i * THREADS;
        b_reg[i] = __ldg(&wg[(u64)(k0 + idx / BN) * p.np + idx % BN]);
    }
}

template <int BM, int BN, int TM, int TN, int BK>
__device__ __forceinline__ void conv_tile(const ConvArgs& p, const Epilogue& e) {
    constexpr int THREADS = (BM / TM) * (BN / TN);
    constexpr int A_PER = BM * BK / THREADS;
    constexpr int B_PER = BN * BK / THREADS;
    constexpr int A_ROWS = THREADS / BK;      // rows one pass of the block loads
    constexpr int AS = BM + 4;                // padded: the 8 k-rows land in distinct banks
    constexpr int MSTRIP = BM / (TM / 4);
    constexpr int NSTRIP = BN / (TN / 4);
    static_assert(THREADS % BK == 0 && (BM * BK) % THREADS == 0 && (BN * BK) % THREADS == 0, "tile");
    __shared__ __align__(16) int As[BK][AS];
    __shared__ __align__(16) int Bs[BK][BN];

    const int tid = threadIdx.x;
    const int m0 = blockIdx.x * BM;
    const int n0 = blockIdx.y * BN;
    const int g = blockIdx.z / p.splits;
    const int split = blockIdx.z - g * p.splits;
    const int kbeg = split * p.k_per_split;
    const int kend = kbeg + p.k_per_split;

    // This thread's A words: column a_kk of the step, rows tid / BK + i * A_ROWS.
    const int a_kk = tid % BK;
    int a_base[A_PER];
    int a_y[A_PER];
    int a_x[A_PER];
#pragma unroll
    for (int i = 0; i < A_PER; ++i) {
        const int m = min(m0 + tid / BK + i * A_ROWS, p.m - 1);  // rows past M: a valid pixel
        window_of(p, m, g, a_base[i], a_y[i], a_x[i]);
    }
    const int* wg = p.w + (u64)g * p.k4p * p.np + n0;

    int a_reg[A_PER];
    int b_reg[B_PER];

    int acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i) {
#pragma unroll
        for (int j = 0; j < TN; ++j) {
            acc[i][j] = 0;
        }
    }
    const int tx = tid % (BN / TN);
    const int ty = tid / (BN / TN);

    load_step<A_PER, B_PER, THREADS, BN>(p, wg, a_base, a_y, a_x, a_kk, tid, kbeg, a_reg, b_reg);
    for (int k0 = kbeg; k0 < kend; k0 += BK) {
#pragma unroll
        for (int i = 0; i < A_PER; ++i) {
            As[a_kk][tid / BK + i * A_ROWS] = a_reg[i];
        }
#pragma unroll
        for (int i = 0; i < B_PER; ++i) {
            const int idx = tid + i * THREADS;
            Bs[idx / BN][idx % BN] = b_reg[i];
        }
        __syncthreads();
        if (k0 + BK < kend) {
            load_step<A_PER, B_PER, THREADS, BN>(p, wg, a_base, a_y, a_x, a_kk, tid, k0 + BK, a_reg, b_reg);
        }
#pragma unroll
        for (int kk = 0; kk < BK; ++kk) {
            int a[TM];
            int b[TN];
#pragma unroll
            for (int s = 0; s < TM / 4; ++s) {
                const int4 v = *reinterpret_cast<const int4*>(&As[kk][s * MSTRIP + ty * 4]);
                a[4 * s] = v.x;
                a[4 * s + 1] = v.y;
                a[4 * s + 2] = v.z;
                a[4 * s + 3] = v.w;
            }
#pragma unroll
            for (int s = 0; s < TN / 4; ++s) {
                const int4 v = *reinterpret_cast<const int4*>(&Bs[kk][s * NSTRIP + tx * 4]);
                b[4 * s] = v.x;
                b[4 * s + 1] = v.y;
                b[4 * s + 2] = v.z;
                b[4 * s + 3] = v.w;
            }
#pragma unroll
            for (int i = 0; i < TM; ++i) {
#pragma unroll
                for (int j = 0; j < TN; ++j) {
                    acc[i][j] = __dp4a(a[i], b[j], acc[i][j]);
                }
            }
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int m = m0 + (i / 4) * MSTRIP + ty * 4 + (i % 4);
        if (m >= p.m) {
            continue;
        }
        const int wsum = (e.t3 != 0 && p.partial == 0) ? p.wsums[m * p.groups + g] : 0;
#pragma unroll
        for (int j = 0; j < TN; ++j) {
            const int n = n0 + (j / 4) * NSTRIP + tx * 4 + (j % 4);
            if (n >= p.og) {
                continue;
            }
            const int k = g * p.og + n;
            if (p.partial != 0) {
                p.partial[((u64)split * p.m + m) * p.out_c + k] = acc[i][j];
            } else {
                store_out(p.out, (u64)m * p.out_c + k, epilogue(acc[i][j], k, wsum, e), e.out_dtype);
            }
        }
    }
}

extern "C" __global__ void __launch_bounds__(256) dp4a_conv_128x128(ConvArgs p, Epilogue e) {
    conv_tile<128, 128, 8, 8, 8>(p, e);
}

extern "C" __global__ void __launch_bounds__(256) dp4a_conv_64x64(ConvArgs p, Epilogue e) {
    conv_tile<64, 64, 4, 4, 16>(p, e);
}

extern "C" __global__ void __launch_bounds__(64) dp4a_conv_32x32(ConvArgs p, Epilogue e) {
    conv_tile<32, 32, 4, 4, 32>(p, e);
}

// Split-K: out[m][k] = epilogue(sum over splits of partial[split][m][k]).
extern "C" __global__ void dp4a_conv_reduce(ConvArgs p, Epilogue e) {
    const u64 total = (u64)p.m * p.out_c;
    const u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= total) {
        return;
    }
    unsigned sum = 0;
    for (int s = 0; s < p.splits; ++s) {
        sum += (unsigned)p.partial[(u64)s * total + i];
    }
    const int m = (int)(i / p.out_c);
    const int k = (int)(i % p.out_c);
    const int g = k / p.og;
    const int wsum = e.t3 != 0 ? p.wsums[m * p.groups + g] : 0;
    store_out(p.out, i, epilogue((int)sum, k, wsum, e), e.out_dtype);
}

// The T3 window sums: wsums[m][g] = sum of the data a window of output pixel m reads in
// group g (padding included, as the zero point), one dp4a with 0x01010101 per word.
extern "C" __global__ void dp4a_window_sums(ConvArgs p) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= p.m * p.groups) {
        return;
    }
    const int m = i / p.groups;
    const int g = i - m * p.groups;
    int base, y0, x0;
    window_of(p, m, g, base, y0, x0);
    int s = 0;
    for (int k = 0; k < p.k4; ++k) {
        s = __dp4a(data_word(p, base, y0, x0, __ldg(&p.ktab[k])), 0x01010101, s);
    }
    p.wsums_out[i] = s;
}
