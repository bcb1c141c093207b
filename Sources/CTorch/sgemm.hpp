// sgemm.hpp — BLAS's Fortran sgemm_ (internal to the shim). nanolm's binary defines it, in front of the
// process's BLAS (gemm.cpp); head_matmul.cpp calls it once per head.
#pragma once

extern "C" void sgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
                       const float *alpha, const float *a, const int *lda, const float *b, const int *ldb,
                       const float *beta, float *c, const int *ldc);

/// The type of an sgemm_, such as the BLAS's one behind gemm.cpp's.
using Sgemm = decltype(&sgemm_);
