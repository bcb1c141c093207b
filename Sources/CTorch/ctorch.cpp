// ctorch.cpp — every entry point of ctorch.h, each one body run through `handle(...)` or `status(...)`
// (guard.hpp), which catch every C++ exception and store its message for ct_last_error(). Nothing
// throws past here.
#include "ctorch.h"
#include "guard.hpp"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <c10/util/Exception.h>
#include <torch/version.h>

#include <climits>
#include <cstring>
#include <string>
#include <vector>
#ifdef __GLIBC__
#include <dlfcn.h>
#include <malloc.h>
#endif

struct ct_generator_s { at::Generator g; };

namespace ctorch {
thread_local std::string last_error;
void fail(const char *message) { last_error = message; }
} // namespace ctorch

using ctorch::handle;
using ctorch::status;
using ctorch::T;
using ctorch::fail;

namespace {

at::IntArrayRef dims(const int64_t *p, int n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }
at::Device device(int code) {
    if (code == CT_DEVICE_CPU) return at::Device(at::kCPU);
    if (code == CT_DEVICE_META) return at::Device(at::kMeta);
    if (code >= 0) return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(code));
    throw std::invalid_argument("unknown device code " + std::to_string(code));
}
at::TensorOptions options(int dtype, int code) {
    return at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype)).device(device(code));
}
c10::optional<at::Generator> gen(ct_generator g) {
    return g ? c10::optional<at::Generator>(g->g) : c10::nullopt;
}
c10::optional<at::Tensor> optional(ct_tensor h) { return h ? c10::optional<at::Tensor>(h->t) : c10::nullopt; }

} // namespace

extern "C" {

// Errors and lifetime
const char *ct_last_error(void) { return ctorch::last_error.empty() ? nullptr : ctorch::last_error.c_str(); }
void ct_free(ct_tensor t) { delete t; }

// Runtime
// at::set_num_threads sets OpenMP's threads, not OpenBLAS's, which Debian's libtorch calls for every GEMM:
// OpenBLAS (pthread build) keeps one thread per core, spinning in sched_yield between calls, so one-thread
// runs side by side took cores from each other (docs/BENCHMARKS.md, "Runs side by side"). Set it too when
// the process has OpenBLAS (an MKL build does not). OpenBLAS's results depend on its threads in the last
// bits (measured with OPENBLAS_CORETYPE=Haswell), so this is part of what a run's threads decide.
int ct_set_num_threads(int n) {
    return status([&] {
        at::set_num_threads(n);
        using SetThreads = void (*)(int);
        if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(n);
    });
}
int ct_get_num_threads(void) { return at::get_num_threads(); }
int ct_set_num_interop_threads(int n) { return status([&] { at::set_num_interop_threads(n); }); }
int ct_manual_seed(uint64_t seed) { return status([&] { at::manual_seed(seed); }); }
int ct_cuda_device_count(void) {
    int count = 0;
    status([&] { count = at::hasCUDA() ? static_cast<int>(at::getNumGPUs()) : 0; });
    return count;
}
int ct_set_grad_enabled(int enabled, int *previous) {
    return status([&] {
        if (previous) *previous = at::GradMode::is_enabled();
        at::GradMode::set_enabled(enabled != 0);
    });
}
// Autocast on the CPU or on CUDA (`cuda` nonzero): torch.autocast(device_type, dtype). libtorch 2.4 took
// the device type as an argument and deprecated the per-device functions 1.13 has.
int ct_set_autocast(int cuda, int enabled, int dtype, int *previous) {
    return status([&] {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
        const at::DeviceType type = cuda ? at::kCUDA : at::kCPU;
        if (previous) *previous = at::autocast::is_autocast_enabled(type);
        if (enabled) at::autocast::set_autocast_dtype(type, static_cast<at::ScalarType>(dtype));
        at::autocast::set_autocast_enabled(type, enabled != 0);
#else
        if (previous) *previous = cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
        if (enabled) {
            if (cuda) at::autocast::set_autocast_gpu_dtype(static_cast<at::ScalarType>(dtype));
            else at::autocast::set_autocast_cpu_dtype(static_cast<at::ScalarType>(dtype));
        }
        if (cuda) at::autocast::set_enabled(enabled != 0);
        else at::autocast::set_cpu_enabled(enabled != 0);
#endif
        if (enabled) at::autocast::increment_nesting();
        else if (at::autocast::decrement_nesting() <= 0) at::autocast::clear_cache();
    });
}
const char *ct_version(void) { return TORCH_VERSION; }
int ct_retain_freed_memory(void) {
#ifdef __GLIBC__
    // Large blocks from the heap rather than their own mmap (munmap'ed on free), and the heap's top
    // kept rather than trimmed: both would hand the pages back and fault them in zeroed next step.
    return mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1 ? 1 : 0;
#else
    return 0;
#endif
}

// Generators
ct_generator ct_generator_new(uint64_t seed) {
    int ok;
    return ctorch::guarded([&] { return new ct_generator_s{at::detail::createCPUGenerator(seed)}; }, ok);
}
void ct_generator_free(ct_generator g) { delete g; }
ct_tensor ct_generator_state(ct_generator g) {
    return handle([&] {
        std::lock_guard<std::mutex> lock(g->g.mutex());
        return g->g.get_state();
    });
}
int ct_generator_set_state(ct_generator g, ct_tensor state) {
    return status([&] {
        std::lock_guard<std::mutex> lock(g->g.mutex());
        g->g.set_state(T(state));
    });
}

ct_tensor ct_default_generator_state(void) {
    return handle([&] {
        auto g = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(g.mutex());
        return g.get_state();
    });
}
int ct_default_generator_set_state(ct_tensor state) {
    return status([&] {
        auto g = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(g.mutex());
        g.set_state(T(state));
    });
}

ct_tensor ct_device_generator_state(int code) {
    return handle([&] {
        auto g = at::globalContext().defaultGenerator(device(code));
        std::lock_guard<std::mutex> lock(g.mutex());
        return g.get_state();
    });
}
int ct_device_generator_set_state(int code, ct_tensor state) {
    return status([&] {
        auto g = at::globalContext().defaultGenerator(device(code));
        std::lock_guard<std::mutex> lock(g.mutex());
        g.set_state(T(state));
    });
}

// Creation
ct_tensor ct_empty(const int64_t *shape, int ndim, int dtype, int device) {
    return handle([&] { return at::empty(dims(shape, ndim), options(dtype, device)); });
}
ct_tensor ct_full(const int64_t *shape, int ndim, double value, int dtype, int device) {
    return handle([&] { return at::full(dims(shape, ndim), value, options(dtype, device)); });
}
ct_tensor ct_arange(double start, double end, double step, int dtype, int device) {
    return handle([&] { return at::arange(start, end, step, options(dtype, device)); });
}
ct_tensor ct_randn(const int64_t *shape, int ndim, int dtype, int device, ct_generator g) {
    return handle([&] { return at::randn(dims(shape, ndim), gen(g), options(dtype, device)); });
}
ct_tensor ct_rand(const int64_t *shape, int ndim, int dtype, int device, ct_generator g) {
    return handle([&] { return at::rand(dims(shape, ndim), gen(g), options(dtype, device)); });
}
ct_tensor ct_randint(int64_t low, int64_t high, const int64_t *shape, int ndim, int dtype, int device, ct_generator g) {
    return handle([&] { return at::randint(low, high, dims(shape, ndim), gen(g), options(dtype, device)); });
}
ct_tensor ct_normal_(ct_tensor t, double mean, double std, ct_generator g) {
    return handle([&] {
        at::NoGradGuard guard;
        return T(t).normal_(mean, std, gen(g));
    });
}
ct_tensor ct_from_data(const void *data, const int64_t *shape, int ndim, int dtype) {
    return handle([&] {
        auto o = at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype));
        return at::from_blob(const_cast<void *>(data), dims(shape, ndim), o).clone();
    });
}
int ct_copy_data(ct_tensor t, void *dst, size_t nbytes) {
    return status([&] {
        auto c = T(t).detach().to(at::kCPU).contiguous();
        size_t size = static_cast<size_t>(c.numel()) * c.element_size();
        if (size != nbytes)
            throw std::invalid_argument("copy_data: tensor holds " + std::to_string(size) + " bytes, buffer has " +
                                        std::to_string(nbytes));
        if (size) std::memcpy(dst, c.data_ptr(), size);
    });
}

// Introspection
int ct_ndim(ct_tensor t) {
    int n = -1;
    status([&] { n = static_cast<int>(T(t).dim()); });
    return n;
}
int ct_shape(ct_tensor t, int64_t *out, int capacity) {
    return status([&] {
        auto s = T(t).sizes();
        if (static_cast<int>(s.size()) > capacity) throw std::invalid_argument("shape: buffer too small");
        for (size_t i = 0; i < s.size(); ++i) out[i] = s[i];
    });
}
int ct_dtype(ct_tensor t) {
    int d = -1;
    status([&] { d = static_cast<int>(T(t).scalar_type()); });
    return d;
}
int ct_device(ct_tensor t) {
    int d = -3;
    status([&] {
        auto where = T(t).device();
        d = where.is_cuda() ? static_cast<int>(where.index()) : where.is_meta() ? CT_DEVICE_META : CT_DEVICE_CPU;
    });
    return d;
}
int ct_item(ct_tensor t, double *out) { return status([&] { *out = T(t).item<double>(); }); }
int ct_is_contiguous(ct_tensor t) {
    int c = 0;
    status([&] { c = T(t).is_contiguous(); });
    return c;
}

// Conversion and copies
ct_tensor ct_to(ct_tensor t, int dtype, int code) {
    return handle([&] { return T(t).to(device(code), static_cast<at::ScalarType>(dtype)); });
}
ct_tensor ct_clone(ct_tensor t) { return handle([&] { return T(t).clone(); }); }
ct_tensor ct_contiguous(ct_tensor t) { return handle([&] { return T(t).contiguous(); }); }
ct_tensor ct_detach(ct_tensor t) { return handle([&] { return T(t).detach(); }); }

// Elementwise unary
#define CT_UNARY(name, expr) \
    ct_tensor ct_##name(ct_tensor a) { return handle([&] { return expr; }); }
CT_UNARY(neg, T(a).neg())
CT_UNARY(abs, T(a).abs())
CT_UNARY(exp, T(a).exp())
CT_UNARY(log, T(a).log())
CT_UNARY(sqrt, T(a).sqrt())
CT_UNARY(rsqrt, T(a).rsqrt())
CT_UNARY(sin, T(a).sin())
CT_UNARY(cos, T(a).cos())
CT_UNARY(tanh, T(a).tanh())
CT_UNARY(sigmoid, T(a).sigmoid())
CT_UNARY(relu, T(a).relu())
CT_UNARY(silu, at::silu(T(a)))
CT_UNARY(isfinite, T(a).isfinite())
CT_UNARY(logical_not, T(a).logical_not())
ct_tensor ct_gelu(ct_tensor a, int tanh_approximation) {
    return handle([&] { return at::gelu(T(a), tanh_approximation ? "tanh" : "none"); });
}

// Elementwise binary
#define CT_BINARY(name, expr) \
    ct_tensor ct_##name(ct_tensor a, ct_tensor b) { return handle([&] { return expr; }); }
CT_BINARY(add, T(a) + T(b))
CT_BINARY(sub, T(a) - T(b))
CT_BINARY(mul, T(a) * T(b))
CT_BINARY(div, T(a) / T(b))
CT_BINARY(pow, T(a).pow(T(b)))
CT_BINARY(maximum, at::maximum(T(a), T(b)))
CT_BINARY(minimum, at::minimum(T(a), T(b)))
CT_BINARY(matmul, at::matmul(T(a), T(b)))
CT_BINARY(bmm, at::bmm(T(a), T(b)))

#define CT_SCALAR(name, expr) \
    ct_tensor ct_##name(ct_tensor a, double s) { return handle([&] { return expr; }); }
CT_SCALAR(add_scalar, T(a) + s)
CT_SCALAR(mul_scalar, T(a) * s)
CT_SCALAR(pow_scalar, T(a).pow(s))
CT_SCALAR(rsub_scalar, at::rsub(T(a), s))
CT_SCALAR(rdiv_scalar, T(a).reciprocal() * s)

ct_tensor ct_clamp(ct_tensor a, double lo, double hi) { return handle([&] { return T(a).clamp(lo, hi); }); }

ct_tensor ct_compare(ct_tensor a, ct_tensor b, int op) {
    return handle([&] {
        switch (op) {
        case 0: return T(a).eq(T(b));
        case 1: return T(a).ne(T(b));
        case 2: return T(a).lt(T(b));
        case 3: return T(a).le(T(b));
        case 4: return T(a).gt(T(b));
        case 5: return T(a).ge(T(b));
        }
        throw std::invalid_argument("compare: unknown operator code " + std::to_string(op));
    });
}
ct_tensor ct_compare_scalar(ct_tensor a, double s, int op) {
    return handle([&] {
        switch (op) {
        case 0: return T(a).eq(s);
        case 1: return T(a).ne(s);
        case 2: return T(a).lt(s);
        case 3: return T(a).le(s);
        case 4: return T(a).gt(s);
        case 5: return T(a).ge(s);
        }
        throw std::invalid_argument("compare: unknown operator code " + std::to_string(op));
    });
}
ct_tensor ct_where(ct_tensor cond, ct_tensor a, ct_tensor b) {
    return handle([&] { return at::where(T(cond), T(a), T(b)); });
}
ct_tensor ct_masked_fill(ct_tensor a, ct_tensor mask, double value) {
    return handle([&] { return T(a).masked_fill(T(mask), value); });
}

// Linear algebra
ct_tensor ct_linear(ct_tensor x, ct_tensor weight, ct_tensor bias) {
    return handle([&] { return at::linear(T(x), T(weight), optional(bias)); });
}

// Reductions
ct_tensor ct_sum(ct_tensor a, const int64_t *d, int n, int keepdim) {
    return handle([&] { return n == 0 ? T(a).sum() : T(a).sum(dims(d, n), keepdim != 0); });
}
ct_tensor ct_mean(ct_tensor a, const int64_t *d, int n, int keepdim) {
    return handle([&] { return n == 0 ? T(a).mean() : T(a).mean(dims(d, n), keepdim != 0); });
}
ct_tensor ct_max_all(ct_tensor a) { return handle([&] { return T(a).max(); }); }
int ct_max_dim(ct_tensor a, int64_t dim, int keepdim, ct_tensor *values, ct_tensor *indices) {
    return status([&] {
        auto r = T(a).max(dim, keepdim != 0);
        *values = new ct_tensor_s{std::get<0>(r)};
        *indices = new ct_tensor_s{std::get<1>(r)};
    });
}
ct_tensor ct_argmax(ct_tensor a, int64_t dim, int keepdim) {
    return handle([&] { return T(a).argmax(dim, keepdim != 0); });
}
ct_tensor ct_norm(ct_tensor a, double p, const int64_t *d, int n, int keepdim) {
    return handle([&] { return n == 0 ? at::norm(T(a), p) : at::norm(T(a), p, dims(d, n), keepdim != 0); });
}

// Shapes
ct_tensor ct_reshape(ct_tensor a, const int64_t *s, int n) { return handle([&] { return T(a).reshape(dims(s, n)); }); }
ct_tensor ct_view(ct_tensor a, const int64_t *s, int n) { return handle([&] { return T(a).view(dims(s, n)); }); }
ct_tensor ct_expand(ct_tensor a, const int64_t *s, int n) { return handle([&] { return T(a).expand(dims(s, n)); }); }
ct_tensor ct_permute(ct_tensor a, const int64_t *d, int n) { return handle([&] { return T(a).permute(dims(d, n)); }); }
ct_tensor ct_transpose(ct_tensor a, int64_t d0, int64_t d1) { return handle([&] { return T(a).transpose(d0, d1); }); }
ct_tensor ct_unsqueeze(ct_tensor a, int64_t dim) { return handle([&] { return T(a).unsqueeze(dim); }); }
ct_tensor ct_squeeze(ct_tensor a, int64_t dim) { return handle([&] { return T(a).squeeze(dim); }); }
ct_tensor ct_narrow(ct_tensor a, int64_t dim, int64_t start, int64_t length) {
    return handle([&] { return T(a).narrow(dim, start, length); });
}
ct_tensor ct_slice(ct_tensor a, int64_t dim, int64_t start, int64_t end, int64_t step) {
    return handle([&] { return T(a).slice(dim, start, end, step); });
}
int ct_split(ct_tensor a, int64_t split_size, int64_t dim, ct_tensor *out, int capacity) {
    int count = -1;
    status([&] {
        auto parts = T(a).split(split_size, dim);
        if (static_cast<int>(parts.size()) > capacity)
            throw std::invalid_argument("split: " + std::to_string(parts.size()) + " parts exceed capacity " +
                                        std::to_string(capacity));
        for (size_t i = 0; i < parts.size(); ++i) out[i] = new ct_tensor_s{parts[i]};
        count = static_cast<int>(parts.size());
    });
    return count;
}
static std::vector<at::Tensor> list(const ct_tensor *ts, int n) {
    std::vector<at::Tensor> v;
    v.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) v.push_back(T(ts[i]));
    return v;
}
ct_tensor ct_cat(const ct_tensor *ts, int n, int64_t dim) { return handle([&] { return at::cat(list(ts, n), dim); }); }
ct_tensor ct_stack(const ct_tensor *ts, int n, int64_t dim) { return handle([&] { return at::stack(list(ts, n), dim); }); }
ct_tensor ct_index_select(ct_tensor a, int64_t dim, ct_tensor index) {
    return handle([&] { return T(a).index_select(dim, T(index)); });
}
ct_tensor ct_gather(ct_tensor a, int64_t dim, ct_tensor index) { return handle([&] { return T(a).gather(dim, T(index)); }); }
ct_tensor ct_triu(ct_tensor a, int64_t k) { return handle([&] { return T(a).triu(k); }); }
ct_tensor ct_tril(ct_tensor a, int64_t k) { return handle([&] { return T(a).tril(k); }); }

// Neural-network functions
ct_tensor ct_softmax(ct_tensor a, int64_t dim) { return handle([&] { return T(a).softmax(dim); }); }
ct_tensor ct_log_softmax(ct_tensor a, int64_t dim) { return handle([&] { return T(a).log_softmax(dim); }); }
ct_tensor ct_layer_norm(ct_tensor x, const int64_t *s, int n, ct_tensor weight, ct_tensor bias, double eps) {
    return handle([&] { return at::layer_norm(T(x), dims(s, n), optional(weight), optional(bias), eps); });
}
ct_tensor ct_embedding(ct_tensor weight, ct_tensor indices) {
    return handle([&] { return at::embedding(T(weight), T(indices)); });
}
ct_tensor ct_dropout(ct_tensor x, double p, int train) { return handle([&] { return at::dropout(T(x), p, train != 0); }); }
ct_tensor ct_cross_entropy(ct_tensor logits, ct_tensor target, int reduction, int64_t ignore_index) {
    return handle([&] { return at::cross_entropy_loss(T(logits), T(target), {}, reduction, ignore_index); });
}

// Attention: the fused kernel where the engine has it (libtorch >= 2.1 takes the scale), else an error.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
int ct_has_sdpa(void) { return 1; }
ct_tensor ct_sdpa(ct_tensor q, ct_tensor k, ct_tensor v, ct_tensor mask, double dropout, int causal, double scale) {
    return handle([&] {
        return at::scaled_dot_product_attention(T(q), T(k), T(v), optional(mask), dropout, causal != 0, scale);
    });
}
#else
int ct_has_sdpa(void) { return 0; }
ct_tensor ct_sdpa(ct_tensor, ct_tensor, ct_tensor, ct_tensor, double, int, double) {
    return handle([&]() -> at::Tensor {
        throw std::runtime_error("scaled_dot_product_attention needs libtorch >= 2.1; this is " TORCH_VERSION);
    });
}
#endif

// AdamW: the fused kernel where the engine has it (libtorch >= 2.4: CUDA's since 2.0, the CPU's since 2.4),
// else an error. The kernel reads each parameter's step from a float tensor on its device (torch.optim's
// state_steps); every parameter here shares the optimizer's one step, so one tensor serves the list.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
int ct_has_fused_adamw(void) { return 1; }
int ct_fused_adamw_(const ct_tensor *params, const ct_tensor *grads, const ct_tensor *exp_avgs, const ct_tensor *exp_avg_sqs,
                    int n, int64_t step, double lr, double beta1, double beta2, double weight_decay, double eps) {
    return status([&] {
        if (n <= 0) return;
        auto ps = list(params, n);
        auto steps = std::vector<at::Tensor>(static_cast<size_t>(n),
                                             at::full({}, static_cast<double>(step), ps[0].options().dtype(at::kFloat)));
        at::_fused_adamw_(ps, list(grads, n), list(exp_avgs, n), list(exp_avg_sqs, n), {}, steps, lr, beta1, beta2,
                          weight_decay, eps, /*amsgrad=*/false, /*maximize=*/false);
    });
}
#else
int ct_has_fused_adamw(void) { return 0; }
int ct_fused_adamw_(const ct_tensor *, const ct_tensor *, const ct_tensor *, const ct_tensor *, int, int64_t, double, double,
                    double, double, double) {
    return status([] { throw std::runtime_error("the fused AdamW kernel needs libtorch >= 2.4; this is " TORCH_VERSION); });
}
#endif

// In-place updates
int ct_add_(ct_tensor a, ct_tensor b, double alpha) { return status([&] { T(a).add_(T(b), alpha); }); }
int ct_mul_(ct_tensor a, ct_tensor b) { return status([&] { T(a).mul_(T(b)); }); }
int ct_mul_scalar_(ct_tensor a, double s) { return status([&] { T(a).mul_(s); }); }
int ct_addcmul_(ct_tensor a, ct_tensor t1, ct_tensor t2, double v) { return status([&] { T(a).addcmul_(T(t1), T(t2), v); }); }
int ct_addcdiv_(ct_tensor a, ct_tensor t1, ct_tensor t2, double v) { return status([&] { T(a).addcdiv_(T(t1), T(t2), v); }); }
int ct_copy_(ct_tensor dst, ct_tensor src) { return status([&] { T(dst).copy_(T(src)); }); }
int ct_zero_(ct_tensor a) { return status([&] { T(a).zero_(); }); }
int ct_fill_(ct_tensor a, double v) { return status([&] { T(a).fill_(v); }); }

// Autograd
int ct_set_requires_grad(ct_tensor t, int r) { return status([&] { T(t).requires_grad_(r != 0); }); }
int ct_requires_grad(ct_tensor t) {
    int r = 0;
    status([&] { r = T(t).requires_grad(); });
    return r;
}
int ct_backward(ct_tensor t, ct_tensor grad, int retain_graph) {
    return status([&] {
        at::Tensor g = grad ? T(grad) : at::Tensor();
        T(t).backward(g, retain_graph ? c10::optional<bool>(true) : c10::nullopt, false);
    });
}
ct_tensor ct_grad(ct_tensor t) {
    return handle([&] {
        auto g = T(t).grad();
        if (!g.defined()) throw std::invalid_argument("grad: no gradient has been accumulated");
        return g;
    });
}
int ct_grad_defined(ct_tensor t) {
    int d = 0;
    status([&] { d = T(t).grad().defined(); });
    return d;
}
int ct_zero_grad(ct_tensor t) {
    return status([&] {
        auto &g = T(t).mutable_grad();
        if (g.defined()) g = at::Tensor();
    });
}

} // extern "C"
