// ctorch_distributed.cpp — c10d through the C shim: a TCPStore rendezvous and a Gloo process group
// (CPU). Every entry point runs through the guard.hpp pattern like the rest of the shim.
// libtorch builds c10d with these; its headers hide Gloo and the collectives without them.
#define USE_DISTRIBUTED 1
#define USE_C10D_GLOO 1
#include "guard.hpp"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <vector>

struct ct_process_group_s {
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
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
} // namespace

extern "C" {

ct_process_group ct_process_group_gloo(const char *master_addr, int master_port, int rank, int world_size,
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
        auto groupOptions = c10d::ProcessGroupGloo::Options::create(timeout);
        groupOptions->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(master_addr));
        auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world_size, groupOptions);
        return new ct_process_group_s{store, group, timeout};
    }, ok);
}

void ct_process_group_free(ct_process_group pg) { delete pg; }

int ct_process_group_allreduce_sum(ct_process_group pg, const ct_tensor *tensors, int n) {
    return ctorch::status([&] {
        auto v = list(tensors, n);
        for (auto &t : v) {
            std::vector<at::Tensor> one{t};
            wait(pg->group->allreduce(one), pg->timeout);
        }
    });
}

int ct_process_group_broadcast(ct_process_group pg, const ct_tensor *tensors, int n, int root) {
    return ctorch::status([&] {
        c10d::BroadcastOptions options;
        options.rootRank = root;
        for (auto &t : list(tensors, n)) {
            std::vector<at::Tensor> one{t};
            wait(pg->group->broadcast(one, options), pg->timeout);
        }
    });
}

int ct_process_group_allgather(ct_process_group pg, ct_tensor input, const ct_tensor *outputs, int world_size) {
    return ctorch::status([&] {
        std::vector<std::vector<at::Tensor>> out{list(outputs, world_size)};
        std::vector<at::Tensor> in{T(input)};
        wait(pg->group->allgather(out, in), pg->timeout);
    });
}

int ct_process_group_barrier(ct_process_group pg) {
    return ctorch::status([&] { wait(pg->group->barrier(), pg->timeout); });
}

} // extern "C"
