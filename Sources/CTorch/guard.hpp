// guard.hpp — the one pattern every CTorch entry point runs its body through (internal to the shim).
//   handle(body): body returns an at::Tensor → a new owned handle, or NULL on any exception
//   status(body): body returns nothing       → 0, or -1 on any exception
// The exception's message (without libtorch's C++ backtrace) is kept for ct_last_error().
#pragma once
#include "ctorch.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <stdexcept>
#include <string>

struct ct_tensor_s { at::Tensor t; };

namespace ctorch {

void fail(const char *message);  // stores the message for this thread (ctorch.cpp)

template <class F> auto guarded(F &&body, int &ok) -> decltype(body()) {
    ok = 0;
    try {
        auto r = body();
        ok = 1;
        return r;
    } catch (const c10::Error &e) {
        fail(e.what_without_backtrace());
    } catch (const std::exception &e) {
        fail(e.what());
    } catch (...) {
        fail("unknown C++ exception");
    }
    return decltype(body())();
}

template <class F> ct_tensor handle(F &&body) {
    int ok;
    at::Tensor t = guarded([&] { return at::Tensor(body()); }, ok);
    return ok ? new ct_tensor_s{std::move(t)} : nullptr;
}

template <class F> int status(F &&body) {
    int ok;
    guarded([&] { body(); return 0; }, ok);
    return ok ? 0 : -1;
}

inline const at::Tensor &T(ct_tensor h) {
    if (!h) throw std::invalid_argument("null tensor handle");
    return h->t;
}

} // namespace ctorch
