/*
 * ctorch.h — the plain C face of libtorch that nanolm's Swift code calls.
 *
 * Rules, the same for every entry point:
 *  - A tensor handle returned by a function is owned by the caller: free it with ct_free.
 *    Input handles are borrowed, never consumed.
 *  - No C++ exception crosses this boundary. A failing call returns NULL (functions returning a
 *    handle) or a non-zero status (functions returning int) and leaves libtorch's message in a
 *    thread-local buffer that ct_last_error() returns until the next failing call on that thread.
 *  - dtype codes are libtorch's ScalarType numbers (CT_FLOAT32 …); device codes are CT_DEVICE_CPU (-1),
 *    CT_DEVICE_META (-2: shapes and dtypes without data, for checking where tensors are made) and the
 *    CUDA ordinal (0, 1, …) otherwise.
 */
#ifndef CTORCH_H
#define CTORCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_tensor_s *ct_tensor;
typedef struct ct_generator_s *ct_generator;

enum {
    CT_UINT8 = 0, CT_INT8 = 1, CT_INT16 = 2, CT_INT32 = 3, CT_INT64 = 4,
    CT_FLOAT16 = 5, CT_FLOAT32 = 6, CT_FLOAT64 = 7, CT_BOOL = 11, CT_BFLOAT16 = 15
};
enum { CT_REDUCTION_NONE = 0, CT_REDUCTION_MEAN = 1, CT_REDUCTION_SUM = 2 };
enum { CT_DEVICE_CPU = -1, CT_DEVICE_META = -2 };

/* Errors and lifetime */
const char *ct_last_error(void);
void ct_free(ct_tensor t);

/* Runtime */
int ct_set_num_threads(int n);
int ct_get_num_threads(void);
int ct_set_num_interop_threads(int n);
int ct_manual_seed(uint64_t seed);
int ct_cuda_device_count(void);
int ct_set_grad_enabled(int enabled, int *previous);
int ct_set_autocast(int cuda, int enabled, int dtype, int *previous);
const char *ct_version(void);
/* Keeps memory that tensors free in the process's heap for the next allocation of the same size,
 * instead of returning it to the kernel (glibc's malloc: no mmap for large blocks, no trimming of the
 * heap's top). A training step frees and re-allocates the same activations every step; returned pages
 * come back zero-filled through page faults. Returns 1 where applied, 0 where the C library has no such
 * setting (a no-op). Process-wide; results are unchanged (only where memory comes from). */
int ct_retain_freed_memory(void);
/* fp32 GEMMs through oneDNN's sgemm instead of OpenBLAS's (gemm.cpp; on from the start wherever it can work):
 * 1 if in effect (or turned off), 0 where unavailable */
int ct_use_onednn_gemm(int on);
/* 1 while oneDNN answers the fp32 GEMMs, else 0 */
int ct_onednn_gemm_on(void);
/* GEMMs oneDNN has answered in this process */
uint64_t ct_onednn_gemm_calls(void);

/* Generators (seeded, independent of the global one) */
ct_generator ct_generator_new(uint64_t seed);
void ct_generator_free(ct_generator g);
ct_tensor ct_generator_state(ct_generator g);
int ct_generator_set_state(ct_generator g, ct_tensor state);
/* The global CPU generator's state (dropout and ops given no generator draw from it). */
ct_tensor ct_default_generator_state(void);
int ct_default_generator_set_state(ct_tensor state);
/* The default generator of a device (a CUDA device's draws dropout there); fails for devices without one. */
ct_tensor ct_device_generator_state(int device);
int ct_device_generator_set_state(int device, ct_tensor state);

/* Creation. shape points at ndim sizes. gen may be NULL for the global generator. */
ct_tensor ct_empty(const int64_t *shape, int ndim, int dtype, int device);
ct_tensor ct_full(const int64_t *shape, int ndim, double value, int dtype, int device);
ct_tensor ct_arange(double start, double end, double step, int dtype, int device);
ct_tensor ct_randn(const int64_t *shape, int ndim, int dtype, int device, ct_generator gen);
ct_tensor ct_rand(const int64_t *shape, int ndim, int dtype, int device, ct_generator gen);
ct_tensor ct_randint(int64_t low, int64_t high, const int64_t *shape, int ndim, int dtype, int device, ct_generator gen);
ct_tensor ct_normal_(ct_tensor t, double mean, double std, ct_generator gen); /* in place; returns a new handle to t */
ct_tensor ct_from_data(const void *data, const int64_t *shape, int ndim, int dtype);
int ct_copy_data(ct_tensor t, void *dst, size_t nbytes);

/* Introspection */
int ct_ndim(ct_tensor t);
int ct_shape(ct_tensor t, int64_t *out, int capacity);
int ct_dtype(ct_tensor t);
int ct_device(ct_tensor t); /* a device code, or -3 when t is not a valid handle */
int ct_item(ct_tensor t, double *out);
int ct_is_contiguous(ct_tensor t);

/* Conversion and copies */
ct_tensor ct_to(ct_tensor t, int dtype, int device);
ct_tensor ct_clone(ct_tensor t);
ct_tensor ct_contiguous(ct_tensor t);
ct_tensor ct_detach(ct_tensor t);

/* Elementwise unary */
ct_tensor ct_neg(ct_tensor a);
ct_tensor ct_abs(ct_tensor a);
ct_tensor ct_exp(ct_tensor a);
ct_tensor ct_log(ct_tensor a);
ct_tensor ct_sqrt(ct_tensor a);
ct_tensor ct_rsqrt(ct_tensor a);
ct_tensor ct_sin(ct_tensor a);
ct_tensor ct_cos(ct_tensor a);
ct_tensor ct_tanh(ct_tensor a);
ct_tensor ct_sigmoid(ct_tensor a);
ct_tensor ct_relu(ct_tensor a);
ct_tensor ct_silu(ct_tensor a);
ct_tensor ct_gelu(ct_tensor a, int tanh_approximation);
ct_tensor ct_isfinite(ct_tensor a);
ct_tensor ct_logical_not(ct_tensor a);

/* Elementwise binary (broadcasting) and with a scalar */
ct_tensor ct_add(ct_tensor a, ct_tensor b);
ct_tensor ct_sub(ct_tensor a, ct_tensor b);
ct_tensor ct_mul(ct_tensor a, ct_tensor b);
ct_tensor ct_div(ct_tensor a, ct_tensor b);
ct_tensor ct_pow(ct_tensor a, ct_tensor b);
ct_tensor ct_maximum(ct_tensor a, ct_tensor b);
ct_tensor ct_minimum(ct_tensor a, ct_tensor b);
ct_tensor ct_add_scalar(ct_tensor a, double s);
ct_tensor ct_mul_scalar(ct_tensor a, double s);
ct_tensor ct_pow_scalar(ct_tensor a, double s);
ct_tensor ct_rsub_scalar(ct_tensor a, double s); /* s - a */
ct_tensor ct_rdiv_scalar(ct_tensor a, double s); /* s / a */
ct_tensor ct_clamp(ct_tensor a, double lo, double hi);
/* Comparisons: op 0 ==, 1 !=, 2 <, 3 <=, 4 >, 5 >= */
ct_tensor ct_compare(ct_tensor a, ct_tensor b, int op);
ct_tensor ct_compare_scalar(ct_tensor a, double s, int op);
ct_tensor ct_where(ct_tensor cond, ct_tensor a, ct_tensor b);
ct_tensor ct_masked_fill(ct_tensor a, ct_tensor mask, double value);

/* Linear algebra */
ct_tensor ct_matmul(ct_tensor a, ct_tensor b);
ct_tensor ct_bmm(ct_tensor a, ct_tensor b);
/* x [B, H, m, k] · y [B, H, k, n]: at::matmul's numbers, one OpenBLAS sgemm per head on the views (head_matmul.cpp) */
ct_tensor ct_head_matmul(ct_tensor x, ct_tensor y);
ct_tensor ct_linear(ct_tensor x, ct_tensor weight, ct_tensor bias /* nullable */);

/* Reductions. dims NULL (ndims 0) reduces over everything. */
ct_tensor ct_sum(ct_tensor a, const int64_t *dims, int ndims, int keepdim);
ct_tensor ct_mean(ct_tensor a, const int64_t *dims, int ndims, int keepdim);
ct_tensor ct_max_all(ct_tensor a);
int ct_max_dim(ct_tensor a, int64_t dim, int keepdim, ct_tensor *values, ct_tensor *indices);
ct_tensor ct_argmax(ct_tensor a, int64_t dim, int keepdim);
ct_tensor ct_norm(ct_tensor a, double p, const int64_t *dims, int ndims, int keepdim);

/* Shapes */
ct_tensor ct_reshape(ct_tensor a, const int64_t *shape, int ndim);
ct_tensor ct_view(ct_tensor a, const int64_t *shape, int ndim);
ct_tensor ct_expand(ct_tensor a, const int64_t *shape, int ndim);
ct_tensor ct_permute(ct_tensor a, const int64_t *dims, int ndim);
ct_tensor ct_transpose(ct_tensor a, int64_t d0, int64_t d1);
ct_tensor ct_unsqueeze(ct_tensor a, int64_t dim);
ct_tensor ct_squeeze(ct_tensor a, int64_t dim);
ct_tensor ct_narrow(ct_tensor a, int64_t dim, int64_t start, int64_t length);
ct_tensor ct_slice(ct_tensor a, int64_t dim, int64_t start, int64_t end, int64_t step);
/* split into chunks of split_size along dim; writes up to capacity handles, returns the count or -1 */
int ct_split(ct_tensor a, int64_t split_size, int64_t dim, ct_tensor *out, int capacity);
ct_tensor ct_cat(const ct_tensor *ts, int n, int64_t dim);
ct_tensor ct_stack(const ct_tensor *ts, int n, int64_t dim);
ct_tensor ct_index_select(ct_tensor a, int64_t dim, ct_tensor index);
ct_tensor ct_gather(ct_tensor a, int64_t dim, ct_tensor index);
ct_tensor ct_triu(ct_tensor a, int64_t diagonal);
ct_tensor ct_tril(ct_tensor a, int64_t diagonal);

/* Neural-network functions */
ct_tensor ct_softmax(ct_tensor a, int64_t dim);
ct_tensor ct_log_softmax(ct_tensor a, int64_t dim);
ct_tensor ct_layer_norm(ct_tensor x, const int64_t *normalized_shape, int ndim, ct_tensor weight, ct_tensor bias, double eps);
ct_tensor ct_embedding(ct_tensor weight, ct_tensor indices);
ct_tensor ct_dropout(ct_tensor x, double p, int train);
ct_tensor ct_cross_entropy(ct_tensor logits, ct_tensor target, int reduction, int64_t ignore_index);

/* In-place updates (for optimizers); each returns a status. */
int ct_add_(ct_tensor a, ct_tensor b, double alpha);
int ct_mul_(ct_tensor a, ct_tensor b);
int ct_mul_scalar_(ct_tensor a, double s);
int ct_addcmul_(ct_tensor a, ct_tensor t1, ct_tensor t2, double value);
int ct_addcdiv_(ct_tensor a, ct_tensor t1, ct_tensor t2, double value);
int ct_copy_(ct_tensor dst, ct_tensor src);
int ct_zero_(ct_tensor a);
int ct_fill_(ct_tensor a, double value);

/* Autograd */
int ct_set_requires_grad(ct_tensor t, int requires_grad);
int ct_requires_grad(ct_tensor t);
int ct_backward(ct_tensor t, ct_tensor grad /* nullable */, int retain_graph);
/* The gradient, or NULL with ct_grad_defined(t) == 0 when none has been accumulated. */
ct_tensor ct_grad(ct_tensor t);
int ct_grad_defined(ct_tensor t);
int ct_zero_grad(ct_tensor t);

/* Attention. ct_has_sdpa() is 1 when the engine has at::scaled_dot_product_attention with a scale
 * argument (libtorch >= 2.1), else 0 and ct_sdpa fails. q [B, H, T, D], k and v [B, H, S, D]; mask (nullable)
 * is added to the logits, broadcastable to [B, H, T, S]; causal masks the future (top-left aligned). */
int ct_has_sdpa(void);
/* Registers the shape-only kernels libtorch 1.13's C++ library lacks for the meta device
 * (meta_kernels.cpp; nothing to do on 2.x). Idempotent; returns a status. */
int ct_prepare_meta(void);
ct_tensor ct_sdpa(ct_tensor q, ct_tensor k, ct_tensor v, ct_tensor mask, double dropout, int causal, double scale);

/* AdamW (torch.optim.AdamW's update, amsgrad off) on n parameters at once through libtorch's fused kernel:
 * ct_has_fused_adamw() is 1 when the engine has it (libtorch >= 2.4), else 0 and ct_fused_adamw_ fails.
 * params, grads and both moments are n tensors each, in the same order, on one device; step is the
 * bias-correction count after this update (1 on the first). Updates params and moments in place; a status. */
int ct_has_fused_adamw(void);
int ct_fused_adamw_(const ct_tensor *params, const ct_tensor *grads, const ct_tensor *exp_avgs, const ct_tensor *exp_avg_sqs,
                    int n, int64_t step, double lr, double beta1, double beta2, double weight_decay, double eps);

/* Distributed (c10d): process groups over a TCPStore rendezvous at master_addr:master_port (rank 0
 * hosts the store): Gloo for CPU tensors and, in a CUDA build with NCCL on a process that sees a GPU,
 * NCCL for CUDA tensors. Collectives go to the group of their tensors' device, run in place and wait;
 * each fails after timeout_ms. */
typedef struct ct_process_group_s *ct_process_group;
enum { CT_BACKEND_GLOO = 1, CT_BACKEND_NCCL = 2 };
ct_process_group ct_process_group_new(const char *master_addr, int master_port, int rank, int world_size, int timeout_ms);
int ct_process_group_backends(ct_process_group pg);  /* CT_BACKEND_* bits */
int ct_nccl_compiled(void);                          /* 1 when this shim was built with ProcessGroupNCCL */
void ct_process_group_free(ct_process_group pg);
int ct_process_group_allreduce_sum(ct_process_group pg, const ct_tensor *tensors, int n);
int ct_process_group_broadcast(ct_process_group pg, const ct_tensor *tensors, int n, int root);
int ct_process_group_allgather(ct_process_group pg, ct_tensor input, const ct_tensor *outputs, int world_size);
int ct_process_group_barrier(ct_process_group pg);

#ifdef __cplusplus
}
#endif
#endif /* CTORCH_H */
