// ctorch_distributed.cpp — c10d through the C shim: a TCPStore rendezvous, a Gloo process group for CPU
// tensors and, in a CUDA build with NCCL, a ProcessGroupNCCL for CUDA tensors. Each collective goes to
// the group of its tensors' device. Every entry point runs through the guard.hpp pattern like the rest.
// libtorch builds c10d with these; its headers hide Gloo and the collectives without them.
#define USE_DISTRIBUTED 1
#define USE_C10D_GLOO 1
#include "guard.hpp"

// NCCL compiles only where the headers say it can: Package.swift defines CTORCH_CUDA for a libtorch
// with libtorch_cuda.so and adds the CUDA and NCCL include folders it finds (scripts/check_cuda_build.sh).
#if defined(CTORCH_CUDA) && __has_include(<nccl.h>) && __has_include(<cuda_runtime_api.h>) \
    && __has_include(<torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>)
#define USE_C10D_NCCL 1
#define CTORCH_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <vector>

struct ct_process_group_s {
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;  // CPU tensors, and the barrier
#ifdef CTORCH_NCCL
    c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;  // CUDA tensors; null when the process sees no GPU
#endif
    std::chrono::milliseconds timeout;
};

using ctorch::T;

namespace {
std::vector<at::Tensor> list(const ct_tensor *ts, int n) {
    std::vector<at::Tensor> v;
    for (int i = 0; i < n; ++i) v.push_back(T(ts[i]));
    return v;
}
void wait(const c10::intrusive_ptr<c10d::Work> &work, std::chrono::milliseconds timeout) {
    if (!work->wait(timeout)) throw std::runtime_error("collective did not finish within the timeout");
}
// Runs collective(group) on the group for tensor t's device (NCCL for CUDA when there is one) and waits.
template <class F> void run(ct_process_group pg, const at::Tensor &t, F collective) {
#ifdef CTORCH_NCCL
    if (t.is_cuda() && pg->nccl) return wait(collective(*pg->nccl), pg->timeout);
#endif
    wait(collective(*pg->gloo), pg->timeout);
}
} // namespace

extern "C" {

ct_process_group ct_process_group_new(const char *master_addr, int master_port, int rank, int world_size,
                                      int timeout_ms) {
    int ok;
    return ctorch::guarded([&] {
        auto timeout = std::chrono::milliseconds(timeout_ms);
        c10d::TCPStoreOptions options;
        options.port = static_cast<std::uint16_t>(master_port);
        options.isServer = rank == 0;
        options.numWorkers = static_cast<std::size_t>(world_size);
        options.waitWorkers = true;
        options.timeout = timeout;
        auto store = c10::make_intrusive<c10d::TCPStore>(std::string(master_addr), options);
        auto pg = std::make_unique<ct_process_group_s>();
        pg->store = store;
        pg->timeout = timeout;
        auto glooOptions = c10d::ProcessGroupGloo::Options::create(timeout);
        glooOptions->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(master_addr));
        pg->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(c10::make_intrusive<c10d::PrefixStore>("gloo", store),
                                                               rank, world_size, glooOptions);
#ifdef CTORCH_NCCL
        if (at::hasCUDA() && at::getNumGPUs() > 0) {  // NCCL makes its communicators at the first collective
            auto ncclOptions = c10d::ProcessGroupNCCL::Options::create();
            ncclOptions->timeout = timeout;
            pg->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(c10::make_intrusive<c10d::PrefixStore>("nccl", store),
                                                                   rank, world_size, ncclOptions);
        }
#endif
        return pg.release();
    }, ok);
}

int ct_process_group_backends(ct_process_group pg) {
    int backends = CT_BACKEND_GLOO;
#ifdef CTORCH_NCCL
    if (pg->nccl) backends |= CT_BACKEND_NCCL;
#endif
    return backends;
}

int ct_nccl_compiled(void) {
#ifdef CTORCH_NCCL
    return 1;
#else
    return 0;
#endif
}

void ct_process_group_free(ct_process_group pg) { delete pg; }

int ct_process_group_allreduce_sum(ct_process_group pg, const ct_tensor *tensors, int n) {
    return ctorch::status([&] {
        for (auto &t : list(tensors, n)) {
            std::vector<at::Tensor> one{t};
            run(pg, t, [&](auto &group) { return group.allreduce(one); });
        }
    });
}

int ct_process_group_broadcast(ct_process_group pg, const ct_tensor *tensors, int n, int root) {
    return ctorch::status([&] {
        c10d::BroadcastOptions options;
        options.rootRank = root;
        for (auto &t : list(tensors, n)) {
            std::vector<at::Tensor> one{t};
            run(pg, t, [&](auto &group) { return group.broadcast(one, options); });
        }
    });
}

int ct_process_group_allgather(ct_process_group pg, ct_tensor input, const ct_tensor *outputs, int world_size) {
    return ctorch::status([&] {
        std::vector<std::vector<at::Tensor>> out{list(outputs, world_size)};
        std::vector<at::Tensor> in{T(input)};
        run(pg, in[0], [&](auto &group) { return group.allgather(out, in); });
    });
}

int ct_process_group_barrier(ct_process_group pg) {
    return ctorch::status([&] { wait(pg->gloo->barrier(), pg->timeout); });
}

} // extern "C"
