// fp32 matrix multiply n×n (default 2048) through one libtorch, one thread: GFLOP/s, the median of 7
// timed products after 2 warm-up ones; and bf16 at n/4 (Debian's 1.13 has no fast bf16 GEMM: about
// 0.4 GFLOP/s, so 2048² would take minutes). bench/sgemm.sh builds it against each engine.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

static double gflops(int n, at::ScalarType dtype) {
    auto a = at::randn({n, n}).to(dtype), b = at::randn({n, n}).to(dtype);  // [n, n] each
    for (int i = 0; i < 2; ++i) at::mm(a, b);
    std::vector<double> seconds;
    for (int i = 0; i < 7; ++i) {
        auto start = std::chrono::steady_clock::now();
        at::mm(a, b);
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(seconds.begin(), seconds.end());
    return 2.0 * n * n * n / seconds[seconds.size() / 2] / 1e9;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? std::atoi(argv[1]) : 2048;
    at::set_num_threads(1);
    std::printf("%s %.1f %.1f\n", TORCH_VERSION, gflops(n, at::kFloat), gflops(n / 4, at::kBFloat16));
}
