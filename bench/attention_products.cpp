// Attention's six products per layer — q·kᵀ and p·v forward, and the four of their backward — through
// nanolm's ct_head_matmul (Sources/CTorch/head_matmul.cpp, compiled in) against at::matmul, on the views a GPT
// layer makes: heads cut from a fused qkv [B, T, 3C] and transposed, as libtorch's autograd hands them over.
// Prints the best of 5 × 20 calls of each and whether the two results are equal bit for bit.
//   bench/attention_products.sh [WIDTHS]   (builds this with g++ against Debian's libtorch)
#include "ctorch.h"
#include "guard.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace ctorch { void fail(const char *message) { std::fprintf(stderr, "error: %s\n", message); } }

static double seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int main(int argc, char **argv) {
    at::set_num_threads(1);
    const int64_t B = 16, T = 128, D = 16, C = argc > 1 ? std::atoll(argv[1]) : 64, H = C / D;
    auto qkv = torch::randn({B, T, 3 * C});                                     // [B, T, 3C]
    auto parts = qkv.split(C, 2);
    auto heads = [&](const at::Tensor &x) { return x.view({B, T, H, D}).transpose(1, 2); };   // [B, H, T, D]
    auto q = heads(parts[0]) * 0.5, k = heads(parts[1]), v = heads(parts[2]);
    auto p = torch::softmax(torch::randn({B, H, T, T}), -1);                  // [B, H, T, T]
    auto g = torch::randn({B, T, C}).view({B, T, H, D}).transpose(1, 2);      // the output's gradient, [B, H, T, D]
    auto s = torch::randn({B, H, T, T});                                       // the logits' gradient
    struct Product { const char *name; at::Tensor x, y; };
    const Product products[] = {
        {"q·kᵀ", q, k.transpose(2, 3)}, {"p·v", p, v},                          // forward
        {"g·vᵀ (dp)", g, v.transpose(2, 3)}, {"pᵀ·g (dv)", p.transpose(2, 3), g},  // backward of p·v
        {"s·k (dq)", s, k}, {"sᵀ·q (dk)", s.transpose(2, 3), q}};             // backward of q·kᵀ (kᵀ's grad, transposed)
    double sumMatmul = 0, sumOurs = 0;
    for (const auto &product : products) {
        double matmul = 1e9, ours = 1e9;
        bool equal = true;
        ct_tensor_s x{product.x}, y{product.y};
        for (int repeat = 0; repeat < 5; repeat++) {
            at::Tensor r, o;
            double t0 = seconds();
            for (int i = 0; i < 20; i++) r = at::matmul(product.x, product.y);
            double t1 = seconds();
            for (int i = 0; i < 20; i++) { ct_tensor h = ct_head_matmul(&x, &y); o = h->t; delete h; }
            double t2 = seconds();
            matmul = std::min(matmul, (t1 - t0) / 20);
            ours = std::min(ours, (t2 - t1) / 20);
            equal = equal && at::equal(r, o);
        }
        sumMatmul += matmul;
        sumOurs += ours;
        std::printf("width %4lld  %-11s at::matmul %7.3f ms  head_matmul %7.3f ms  %.2fx  bitwise %s\n", (long long)C,
                    product.name, matmul * 1e3, ours * 1e3, matmul / ours, equal ? "equal" : "DIFFERENT");
    }
    std::printf("width %4lld  all six    at::matmul %7.3f ms  head_matmul %7.3f ms  %.2fx\n", (long long)C,
                sumMatmul * 1e3, sumOurs * 1e3, sumMatmul / sumOurs);
}
