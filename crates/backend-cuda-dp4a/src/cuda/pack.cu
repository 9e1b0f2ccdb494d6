// The input, padded and regrouped for the dp4a kernels (one byte per thread):
//
//   xp[n][yp][xp][s] = src[s] < 0                      ? 0          (slot beyond a group's
//                                                                    channels: zero data
//                                                                    meets zero weights)
//                    : (yp - pt, xp - pl) outside input ? pad_value  (padding: the zero point)
//                    : x[n][yp - pt][xp - pl][src[s]]
//
// `slots` is a multiple of 4, so every group's channels (GEMM) or every 4 channels
// (depthwise, replicated by the channel multiplier) start a 32-bit word: the dp4a operand.

// Mirrors `PackArgs` in src/launch.rs.
struct PackArgs {
    const s8* x;
    s8* xp;
    const int* src;
    int n, h, w, c;
    int hp, wp, slots;
    int pad_top, pad_left;
    int pad_value;
};

extern "C" __global__ void dp4a_pack_input(PackArgs p) {
    const u64 total = (u64)p.n * p.hp * p.wp * p.slots;
    const u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= total) {
        return;
    }
    const int s = (int)(i % p.slots);
    const u64 pix = i / p.slots;
    const int xw = (int)(pix % p.wp);
    const u64 t = pix / p.wp;
    const int yh = (int)(t % p.hp);
    const int img = (int)(t / p.hp);
    const int c = p.src[s];
    s8 v = 0;
    if (c >= 0) {
        const int y = yh - p.pad_top;
        const int x = xw - p.pad_left;
        if (y >= 0 && y < p.h && x >= 0 && x < p.w) {
            v = p.x[(((u64)img * p.h + y) * p.w + x) * p.c + c];
        } else {
            v = (s8)p.pad_value;
        }
    }
    p.xp[i] = v;
}
