// The dp4a peak micro-benchmark: 16 independent dp4a chains per thread, as inline PTX marked
// volatile so that the compiler can neither fold nor hoist them. MACs = 4 per dp4a.
extern "C" __global__ void dp4a_peak(int* out, int iters, int seed) {
    int a[16];
    int b[16];
    int acc[16];
#pragma unroll
    for (int j = 0; j < 16; ++j) {
        a[j] = seed * (int)(threadIdx.x + 1) + j;
        b[j] = seed ^ (int)(blockIdx.x * 16 + j);
        acc[j] = j;
    }
    for (int i = 0; i < iters; ++i) {
#pragma unroll
        for (int j = 0; j < 16; ++j) {
            asm volatile("dp4a.s32.s32 %0, %1, %2, %0;" : "+r"(acc[j]) : "r"(a[j]), "r"(b[j]));
        }
    }
    int s = 0;
#pragma unroll
    for (int j = 0; j < 16; ++j) {
        s += acc[j];
    }
    out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}
