// bench/gemm_engines.sh: OpenBLAS sgemm_ against oneDNN's dnnl_sgemm on the study's linear-layer shapes (batch 16 × 128
// tokens, widths 32/64/128, vocabulary 384: forward, input gradient, weight gradient), one thread; medians of 7.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <vector>
#include <random>
#include <algorithm>
#include <string>
#include <utility>
extern "C" void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*, const float*, const int*,
                       const float*, const int*, const float*, float*, const int*);
extern "C" int dnnl_sgemm(char, char, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t, float, float*, int64_t);
// Row-major C[M,N] = op(A)·op(B) with A [M,K] (or [K,M] when ta) and B [K,N] (or [N,K] when tb).
static void blas(bool ta, bool tb, int M, int N, int K, const float* A, const float* B, float* C) {
    // column-major: C^T[N,M] = op(B)^T · op(A)^T
    char a = tb ? 'T' : 'N', b = ta ? 'T' : 'N'; float one = 1, zero = 0;
    int lda = tb ? K : N, ldb = ta ? M : K, ldc = N;
    sgemm_(&a, &b, &N, &M, &K, &one, B, &lda, A, &ldb, &zero, C, &ldc);
}
static void dnnl(bool ta, bool tb, int M, int N, int K, const float* A, const float* B, float* C) {
    dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, 1.f, A, ta ? M : K, B, tb ? K : N, 0.f, C, N);
}
template <class F> double time_it(F f, int reps) {
    std::vector<double> t;
    for (int r = 0; r < 7; r++) {
        auto s = std::chrono::steady_clock::now();
        for (int i = 0; i < reps; i++) f();
        t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - s).count() / reps);
    }
    std::sort(t.begin(), t.end()); return t[3];
}
int main() {
    struct S { std::string name; bool ta, tb; int M, N, K; };
    int T = 2048;  // batch 16 × sequence 128
    std::vector<S> shapes;
    for (int w : {32, 64, 128}) {
        // Each linear layer's (out, in): fused qkv, attention output, MLP up and down, the readout (vocabulary 384).
        for (auto [out, in] : {std::pair{3 * w, w}, {w, w}, {4 * w, w}, {w, 4 * w}, {384, w}}) {
            std::string name = "w" + std::to_string(w) + " " + std::to_string(in) + "x" + std::to_string(out);
            shapes.push_back({name, false, true, T, out, in});        // forward y = x·Wᵀ
            shapes.push_back({name, false, false, T, in, out});       // grad x = g·W
            shapes.push_back({name, true, false, out, in, T});        // grad W = gᵀ·x
        }
    }
    std::mt19937 g(0); std::normal_distribution<float> d;
    double tb_all = 0, td_all = 0; float maxrel = 0;
    for (auto& s : shapes) {
        size_t asz = (size_t)s.M * s.K, bsz = (size_t)s.K * s.N;
        std::vector<float> A(asz), B(bsz), C1((size_t)s.M * s.N), C2(C1.size());
        for (auto& x : A) x = d(g); for (auto& x : B) x = d(g);
        int reps = std::max(3, int(2e8 / (2.0 * s.M * s.N * s.K)));
        double tb = time_it([&] { blas(s.ta, s.tb, s.M, s.N, s.K, A.data(), B.data(), C1.data()); }, reps);
        double td = time_it([&] { dnnl(s.ta, s.tb, s.M, s.N, s.K, A.data(), B.data(), C2.data()); }, reps);
        for (size_t i = 0; i < C1.size(); i++) maxrel = std::max(maxrel, std::abs(C1[i] - C2[i]) / (std::abs(C1[i]) + 1e-3f));
        tb_all += tb; td_all += td;
        printf("%-16s %c%c M%5d N%5d K%5d  openblas %8.1f us  dnnl %8.1f us  ratio %.2f\n", s.name.c_str(), s.ta ? 'T' : 'N', s.tb ? 'T' : 'N',
               s.M, s.N, s.K, tb * 1e6, td * 1e6, tb / td);
    }
    printf("sum: openblas %.1f us, dnnl %.1f us, ratio %.2f; max relative difference %.2g\n", tb_all * 1e6, td_all * 1e6, tb_all / td_all, maxrel);
}
