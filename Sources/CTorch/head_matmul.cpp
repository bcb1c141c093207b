// head_matmul.cpp — attention's two products, x [B, H, m, k] · y [B, H, k, n] → [B, H, m, n], as one
// OpenBLAS sgemm per head, called on the operands' own strides.
//
// at::matmul on these 4-D views (q, k and v are heads of GPT's fused qkv, transposed) first copies each
// operand into a contiguous [B·H, m, k]; at::bmm then calls addmm once per head, building three tensor views
// and checking them each time before its sgemm. At the study's sizes (heads of 16, 64–256 heads per batch)
// that bookkeeping and the copies cost as much as a third of each product (docs/BENCHMARKS.md, "Attention's
// products"). OpenBLAS's result for a head does not depend on the leading dimensions or transpose flags it is
// given (it packs either layout into the same panels), so one sgemm per head on the views gives at::matmul's
// numbers bit for bit: a test compares the two, forward and backward.
//
// Used for float32 CPU tensors when the process's BLAS is OpenBLAS (Debian's libtorch, whose at::bmm loops
// over sgemm_ the same way) and autocast is off; anything else — another BLAS, CUDA, bfloat16, broadcasting
// batch dimensions, libtorch's own small-matrix kernel (m·n·k < 400) — runs at::matmul.
#include "ctorch.h"
#include "guard.hpp"
#include "sgemm.hpp"

#include <ATen/autocast_mode.h>
#include <torch/version.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <climits>

namespace {

/// One head's matrix [rows, cols] of a 4-D tensor, as BLAS reads it: row-major with leading dimension `ld`
/// (unit stride along cols), or column-major (unit stride along rows).
struct Layout {
    bool rowMajor;
    int ld;
};

bool layout(const at::Tensor &t, Layout &out) {
    const int64_t rows = t.size(2), cols = t.size(3), s2 = t.stride(2), s3 = t.stride(3);
    if (s3 == 1 && s2 >= std::max<int64_t>(cols, 1) && s2 <= INT_MAX) { out = {true, int(s2)}; return true; }
    if (s2 == 1 && s3 >= std::max<int64_t>(rows, 1) && s3 <= INT_MAX) { out = {false, int(s3)}; return true; }
    return false;
}

bool usable(const at::Tensor &x, const at::Tensor &y, Layout &lx, Layout &ly) {
    if (!blasIsOpenBLAS() || x.dim() != 4 || y.dim() != 4) return false;
    if (!x.device().is_cpu() || !y.device().is_cpu() || x.scalar_type() != at::kFloat || y.scalar_type() != at::kFloat) return false;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    if (at::autocast::is_autocast_enabled(at::kCPU)) return false;
#else
    if (at::autocast::is_cpu_enabled()) return false;
#endif
    if (x.size(0) != y.size(0) || x.size(1) != y.size(1) || x.size(3) != y.size(2)) return false;
    const int64_t m = x.size(2), k = x.size(3), n = y.size(3);
    if (m * n * k < 400 || std::max({m, n, k}) > INT_MAX) return false;   // at::bmm's own kernel below 400
    return layout(x, lx) && layout(y, ly);
}

/// x · y, one sgemm per head. Row-major C = X·Y is column-major Cᵀ = Yᵀ·Xᵀ, so Y is BLAS's A and X its B.
at::Tensor product(const at::Tensor &x, const at::Tensor &y, const Layout &lx, const Layout &ly) {
    const int64_t batches = x.size(0), heads = x.size(1);
    const int m = int(y.size(3)), n = int(x.size(2)), k = int(x.size(3)), ldc = m;
    auto c = at::empty({batches, heads, x.size(2), y.size(3)}, x.options());   // [B, H, m, n]
    const char ta = ly.rowMajor ? 'n' : 't', tb = lx.rowMajor ? 'n' : 't';
    const float one = 1, zero = 0;
    const float *px = x.data_ptr<float>(), *py = y.data_ptr<float>();
    float *pc = c.data_ptr<float>();
    for (int64_t b = 0; b < batches; b++) {
        for (int64_t h = 0; h < heads; h++) {
            sgemm_(&ta, &tb, &m, &n, &k, &one, py + b * y.stride(0) + h * y.stride(1), &ly.ld,
                   px + b * x.stride(0) + h * x.stride(1), &lx.ld, &zero, pc + (b * heads + h) * int64_t(m) * n, &ldc);
        }
    }
    return c;
}

at::Tensor headMatmul(const at::Tensor &x, const at::Tensor &y) {
    Layout lx, ly;
    return usable(x, y, lx, ly) ? product(x, y, lx, ly) : at::matmul(x, y);
}

/// The product with at::bmm's backward: dx = g · yᵀ, dy = xᵀ · g.
struct HeadMatmul : public torch::autograd::Function<HeadMatmul> {
    static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x, const at::Tensor &y) {
        ctx->save_for_backward({x, y});
        return headMatmul(x, y);
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                   torch::autograd::variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const at::Tensor &x = saved[0], &y = saved[1], &g = grads[0];
        at::Tensor dx, dy;
        if (ctx->needs_input_grad(0)) dx = headMatmul(g, y.transpose(2, 3));
        if (ctx->needs_input_grad(1)) dy = headMatmul(x.transpose(2, 3), g);
        return {dx, dy};
    }
};

} // namespace

extern "C" ct_tensor ct_head_matmul(ct_tensor x, ct_tensor y) {
    return ctorch::handle([&] {
        Layout lx, ly;
        if (!usable(ctorch::T(x), ctorch::T(y), lx, ly)) return at::matmul(ctorch::T(x), ctorch::T(y));
        return HeadMatmul::apply(ctorch::T(x), ctorch::T(y));
    });
}
