// Depthwise conv2d (one input channel per group). With multiplier 1 and a multiple of 4
// channels the input is read in place (window cells outside it read the pad word); else
// from the packed copy, which replicates input channel k / multiplier into slot k and holds
// the padding.
//
// One thread computes 4 adjacent channels of one output pixel. dp4a sums 4 products inside
// one word, but a word of NHWC data holds 4 channels of one tap; so 4 taps' words are
// transposed with __byte_perm into 4 words of one channel each (taps 4q..4q+3), which meet
// the packed weights w[q][c] = (W[c][4q], W[c][4q+1], W[c][4q+2], W[c][4q+3]). Taps beyond
// kh*kw read nothing (zero data, zero weights), so the T3 window sum (dp4a with 0x01010101
// on the same transposed words) counts only real taps.

// Mirrors `DwArgs` in src/launch.rs.
struct DwArgs {
    const int* x;      // packed input, words_per_pixel words per pixel
    const int* w;      // packed weights [ceil(taps / 4)][words_per_pixel * 4] words
    void* out;
    int m, ohw, ow;
    int hp, wp, words_per_pixel;
    int sh, sw;
    int kw, dh, dw;
    int taps;
    int out_c;
    int pad_top, pad_left, pad_word;
};

extern "C" __global__ void dp4a_dw(DwArgs p, Epilogue e) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= p.m * p.words_per_pixel) {
        return;
    }
    const int cw = i % p.words_per_pixel;
    const int m = i / p.words_per_pixel;
    const int img = m / p.ohw;
    const int rem = m - img * p.ohw;
    const int oy = rem / p.ow;
    const int ox = rem - oy * p.ow;
    const int y0 = oy * p.sh - p.pad_top;
    const int x0 = ox * p.sw - p.pad_left;
    const int* xi = p.x + (u64)img * p.hp * p.wp * p.words_per_pixel + cw;
    const int4* w4 = reinterpret_cast<const int4*>(p.w) + cw;
    int acc[4] = {0, 0, 0, 0};
    int sum[4] = {0, 0, 0, 0};
    const bool t3 = e.t3 != 0;
    for (int q = 0; 4 * q < p.taps; ++q) {
        int x[4];
#pragma unroll
        for (int b = 0; b < 4; ++b) {
            const int t = 4 * q + b;
            x[b] = 0;
            if (t < p.taps) {
                const int r = t / p.kw;
                const int y = y0 + r * p.dh;
                const int xx = x0 + (t - r * p.kw) * p.dw;
                x[b] = ((unsigned)y < (unsigned)p.hp && (unsigned)xx < (unsigned)p.wp)
                           ? __ldg(&xi[(y * p.wp + xx) * p.words_per_pixel])
                           : p.pad_word;
            }
        }
        // 4x4 byte transpose: c[j] byte b = x[b] byte j.
        const int lo01 = __byte_perm(x[0], x[1], 0x5140);
        const int hi01 = __byte_perm(x[0], x[1], 0x7362);
        const int lo23 = __byte_perm(x[2], x[3], 0x5140);
        const int hi23 = __byte_perm(x[2], x[3], 0x7362);
        int c[4];
        c[0] = __byte_perm(lo01, lo23, 0x5410);
        c[1] = __byte_perm(lo01, lo23, 0x7632);
        c[2] = __byte_perm(hi01, hi23, 0x5410);
        c[3] = __byte_perm(hi01, hi23, 0x7632);
        const int4 wv = __ldg(&w4[q * p.words_per_pixel]);
        acc[0] = __dp4a(c[0], wv.x, acc[0]);
        acc[1] = __dp4a(c[1], wv.y, acc[1]);
        acc[2] = __dp4a(c[2], wv.z, acc[2]);
        acc[3] = __dp4a(c[3], wv.w, acc[3]);
        if (t3) {
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                sum[j] = __dp4a(c[j], 0x01010101, sum[j]);
            }
        }
    }
#pragma unroll
    for (int j = 0; j < 4; ++j) {
        const int k = 4 * cw + j;
        if (k < p.out_c) {
            store_out(p.out, (u64)m * p.out_c + k, epilogue(acc[j], k, sum[j], e), e.out_dtype);
        }
    }
}
