// fp32 GEMMs through oneDNN, the default (issue 19; docs/DESIGN.md, "GEMMs through oneDNN").
//
// Debian's libtorch 1.13 multiplies fp32 matrices on the CPU by calling BLAS's Fortran sgemm_ (OpenBLAS).
// On this project's machine OpenBLAS must run its Haswell (AVX2) kernels (OPENBLAS_CORETYPE=Haswell: older
// builds misbehave on the processor), while oneDNN — shipped with, and loaded by, the same libtorch — JITs
// AVX-512 code: on the study's linear-layer shapes its dnnl_sgemm takes half the time
// (bench/gemm_engines.sh). This file defines sgemm_ in nanolm's own binary; the dynamic linker binds
// libtorch's calls (and head_matmul.cpp's) to it ahead of libblas's. It answers every call with oneDNN — on
// from the start wherever it can work, the default — unless ct_use_onednn_gemm(0) chose OpenBLAS
// (NANOLM_GEMM=openblas); a call oneDNN refuses goes to the next sgemm_ (OpenBLAS). Other engines (PyPI's
// torch links MKL inside itself) never call it, and oneDNN stays off there.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include "ctorch.h"
#include "sgemm.hpp"

namespace {

using DnnlSgemm = int (*)(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                          int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

std::atomic<uint64_t> oneDNNCalls{0};

// Resolved once, when the binary starts (libtorch and the libraries it needs are loaded by then).
/// The sgemm_ this one stands in front of (OpenBLAS's under Debian's libtorch); nullptr under other engines.
const Sgemm nextSgemm = reinterpret_cast<Sgemm>(dlsym(RTLD_NEXT, "sgemm_"));
/// oneDNN's row-major sgemm, from the libdnnl libtorch loaded; nullptr where it is not there.
const DnnlSgemm dnnlSgemm = reinterpret_cast<DnnlSgemm>(dlsym(RTLD_DEFAULT, "dnnl_sgemm"));
/// OpenMP's per-thread count of threads a parallel region gets (libgomp, loaded by libtorch).
const auto ompGetMaxThreads = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
const auto ompSetNumThreads = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));

/// Whether this process's sgemm_ is the one libtorch's GEMMs reach, with OpenBLAS behind it and oneDNN loaded.
bool oneDNNAvailable() {
    return dnnlSgemm && nextSgemm && blasIsOpenBLAS() && dlsym(RTLD_DEFAULT, "sgemm_") == reinterpret_cast<void *>(&sgemm_);
}

/// On wherever it can work, from the start: the default GEMM (docs/DESIGN.md, "GEMMs through oneDNN").
std::atomic<bool> useOneDNN{oneDNNAvailable()};

/// Multiply-adds (m·n·k) from which a GEMM runs on every libtorch thread rather than the calling one alone.
constexpr double threadedGEMMFrom = 1e8;

char transpose(const char *t) { return *t == 'N' || *t == 'n' ? 'N' : 'T'; }

}  // namespace

void sgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k, const float *alpha,
            const float *a, const int *lda, const float *b, const int *ldb, const float *beta, float *c, const int *ldc) {
    if (useOneDNN.load(std::memory_order_relaxed)) {
        // Column-major C = op(A)·op(B) is row-major Cᵀ = op(B)ᵀ·op(A)ᵀ on the same memory: B first. A small
        // GEMM on the calling thread alone: below 10^8 multiply-adds, waking oneDNN's OpenMP threads costs
        // what a second core gives; above, a two-thread step trains 1.4–1.7× faster (docs/BENCHMARKS.md,
        // "Large GEMMs on every thread").
        const int threads = ompGetMaxThreads && ompSetNumThreads ? ompGetMaxThreads() : 1;
        const bool alone = threads > 1 && double(*m) * double(*n) * double(*k) < threadedGEMMFrom;
        if (alone) ompSetNumThreads(1);
        const int status = dnnlSgemm(transpose(transb), transpose(transa), *n, *m, *k, *alpha, b, *ldb, a, *lda, *beta, c, *ldc);
        if (alone) ompSetNumThreads(threads);
        if (status == 0) {
            oneDNNCalls.fetch_add(1, std::memory_order_relaxed);
            return;
        }
    }
    if (!nextSgemm) {
        std::fprintf(stderr, "nanolm: sgemm_ called but no BLAS provides one\n");
        std::abort();
    }
    nextSgemm(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

int ct_use_onednn_gemm(int on) {
    if (on && !oneDNNAvailable()) return 0;
    useOneDNN = on != 0;
    return 1;
}

int ct_onednn_gemm_on(void) { return useOneDNN.load() ? 1 : 0; }

uint64_t ct_onednn_gemm_calls(void) { return oneDNNCalls.load(); }
