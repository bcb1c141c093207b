// zlib and libzstd (Debian: zlib1g-dev, libzstd-dev) for decompressing track sources in process.
#include <zlib.h>
#include <zstd.h>
