#ifndef BACKTEST_CHTTPPARSER_SHIM_H
#define BACKTEST_CHTTPPARSER_SHIM_H
#include <http_parser.h>

// The parser's bit fields and enums as plain ints: Swift sees the enums as distinct
// structs whose raw types differ from the fields they are compared with.
static inline int chttp_errno(const http_parser *p) { return (int)p->http_errno; }
static inline int chttp_method(const http_parser *p) { return (int)p->method; }
static inline int chttp_upgrade(const http_parser *p) { return (int)p->upgrade; }
static inline int chttp_is_head(const http_parser *p) { return p->method == HTTP_HEAD; }
static const int CHTTP_OK = HPE_OK;
static const int CHTTP_PAUSED = HPE_PAUSED;
static const int CHTTP_HEADER_OVERFLOW = HPE_HEADER_OVERFLOW;
static const int CHTTP_REQUEST = HTTP_REQUEST;

#endif
