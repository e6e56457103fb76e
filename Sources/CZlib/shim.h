#ifndef BACKTEST_CZLIB_SHIM_H
#define BACKTEST_CZLIB_SHIM_H
#include <zlib.h>

// inflateInit2/deflateInit2 are macros (they pass the library version and the
// stream size); wrap them so Swift can call them.
static inline int czlib_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 15 + 16);
}

static inline int czlib_deflate_init_gzip(z_stream *stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
#endif
