// sgemm.hpp — BLAS's Fortran sgemm_ (internal to the shim). nanolm's binary defines it, in front of the
// process's BLAS (gemm.cpp); head_matmul.cpp calls it once per head.
#pragma once

#include <dlfcn.h>

extern "C" void sgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
                       const float *alpha, const float *a, const int *lda, const float *b, const int *ldb,
                       const float *beta, float *c, const int *ldc);

/// The type of an sgemm_, such as the BLAS's one behind gemm.cpp's.
using Sgemm = decltype(&sgemm_);

/// Whether the process's BLAS is OpenBLAS: Debian's libtorch, whose GEMMs (at::mm, at::bmm) call sgemm_.
inline bool blasIsOpenBLAS() {
    static const bool openBLAS = dlsym(RTLD_DEFAULT, "openblas_set_num_threads") != nullptr;
    return openBLAS;
}
