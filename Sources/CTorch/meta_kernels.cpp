// meta_kernels.cpp — shape-only (Meta) kernels that libtorch's C++ library lacks for ops nanolm's models
// use (PyTorch registers them from Python, which a C++ program never loads: index_select is missing in
// 2.11 as in 1.13). With them, a forward, backward and AdamW step run on the meta device, which is how the
// tests catch a tensor made on the wrong device without a GPU. Where libtorch has one of them already,
// ours (shape-only as well) takes its place, with libtorch's warning.
//
// Registered on first use of the meta device (ct_prepare_meta), not at load time, and as boxed kernels
// that read their arguments off the stack, so a schema difference between versions is an error message
// at that call rather than a crash of every program at start-up.
#include "ctorch.h"
#include "guard.hpp"

#include <torch/version.h>

#include <ATen/core/stack.h>
#include <torch/library.h>

#include <memory>

namespace {

using torch::jit::Stack;

at::Tensor like(const at::Tensor &t, at::IntArrayRef sizes) { return at::empty(sizes, t.options()); }

// index_select(self, dim, index): self's shape with dim replaced by index's length (embedding's forward).
void index_select(const c10::OperatorHandle &, Stack *stack) {
    auto args = torch::jit::last(stack, 3);
    auto self = args[0].toTensor();
    auto index = args[2].toTensor();
    auto sizes = self.sizes().vec();
    if (!sizes.empty()) sizes[c10::maybe_wrap_dim(args[1].toInt(), self.dim())] = index.numel();
    auto out = like(self, sizes);
    torch::jit::drop(stack, 3);
    torch::jit::push(stack, out);
}

// embedding_dense_backward(grad, indices, num_weights, padding_idx, scale_grad_by_freq): [num_weights, W].
void embedding_dense_backward(const c10::OperatorHandle &, Stack *stack) {
    auto args = torch::jit::last(stack, 5);
    auto grad = args[0].toTensor();
    auto out = like(grad, {args[2].toInt(), grad.size(-1)});
    torch::jit::drop(stack, 5);
    torch::jit::push(stack, out);
}

// native_dropout(input, p, train?) -> (output, mask).
void native_dropout(const c10::OperatorHandle &, Stack *stack) {
    auto input = torch::jit::last(stack, 3)[0].toTensor();
    auto out = at::empty_like(input);
    auto mask = at::empty_like(input, input.options().dtype(at::kBool));
    torch::jit::drop(stack, 3);
    torch::jit::push(stack, out, mask);
}

// native_layer_norm_backward(grad_out, input, normalized_shape, mean, rstd, weight?, bias?, output_mask)
//   -> (grad_input, grad_weight, grad_bias), each undefined where output_mask says so.
void native_layer_norm_backward(const c10::OperatorHandle &, Stack *stack) {
    auto args = torch::jit::last(stack, 8);
    auto input = args[1].toTensor();
    auto weight = args[5].isNone() ? at::Tensor() : args[5].toTensor();
    auto bias = args[6].isNone() ? at::Tensor() : args[6].toTensor();
    auto mask = args[7].toBoolList();
    at::Tensor gradInput = mask.get(0) ? at::empty_like(input) : at::Tensor();
    at::Tensor gradWeight = mask.get(1) && weight.defined() ? at::empty_like(weight) : at::Tensor();
    at::Tensor gradBias = mask.get(2) && bias.defined() ? at::empty_like(bias) : at::Tensor();
    torch::jit::drop(stack, 8);
    torch::jit::push(stack, gradInput, gradWeight, gradBias);
}

// native_layer_norm(input, normalized_shape, weight?, bias?, eps) -> (output, mean, rstd); mean and rstd
// keep the leading dimensions and are 1 over the normalized ones. (1.13 falls back to batch norm here.)
void native_layer_norm(const c10::OperatorHandle &, Stack *stack) {
    auto args = torch::jit::last(stack, 5);
    auto input = args[0].toTensor();
    auto normalized = static_cast<int64_t>(args[1].toListRef().size());  // int[] or SymInt[] by version
    auto sizes = input.sizes().vec();
    for (int64_t i = input.dim() - normalized; i < input.dim(); ++i) sizes[static_cast<size_t>(i)] = 1;
    auto out = at::empty_like(input);
    auto mean = like(input, sizes);
    auto rstd = like(input, sizes);
    torch::jit::drop(stack, 5);
    torch::jit::push(stack, out, mean, rstd);
}

// Elementwise, a new tensor of the same shape: abs(self) (1.13 routes it to abs.out, which has none).
void same_shape(const c10::OperatorHandle &, Stack *stack) {
    auto out = at::empty_like(torch::jit::last(stack, 1)[0].toTensor());
    torch::jit::drop(stack, 1);
    torch::jit::push(stack, out);
}

// In place, shape unchanged: masked_fill_.Scalar(self, mask, value), bernoulli_.float(self, p, generator?).
template <size_t arguments> void in_place(const c10::OperatorHandle &, Stack *stack) {
    auto self = torch::jit::last(stack, arguments)[0].toTensor();
    torch::jit::drop(stack, arguments);
    torch::jit::push(stack, self);
}

template <c10::BoxedKernel::BoxedKernelFunction *kernel> torch::CppFunction boxed() {
    return torch::CppFunction::makeFromBoxedFunction<kernel>();
}

} // namespace

extern "C" int ct_prepare_meta(void) {
    static int result = ctorch::status([] {
        static auto library = std::make_unique<torch::Library>(torch::Library::IMPL, "aten", c10::DispatchKey::Meta,
                                                               __FILE__, __LINE__);
        library->impl("index_select", boxed<index_select>());
        library->impl("embedding_dense_backward", boxed<embedding_dense_backward>());
        library->impl("native_dropout", boxed<native_dropout>());
        library->impl("native_layer_norm_backward", boxed<native_layer_norm_backward>());
        library->impl("native_layer_norm", boxed<native_layer_norm>());
        library->impl("abs", boxed<same_shape>());
        library->impl("masked_fill_.Scalar", boxed<in_place<3>>());
        library->impl("bernoulli_.float", boxed<in_place<3>>());
    });
    return result;
}
