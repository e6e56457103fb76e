#ifndef BACKTEST_CNGHTTP2_SHIM_H
#define BACKTEST_CNGHTTP2_SHIM_H
#include <nghttp2/nghttp2.h>

// Enum constants as plain ints: nghttp2's enums import as distinct Swift structs
// whose raw types differ from the fields they are compared with.
static const int CNGHTTP2_ERR_DEFERRED = NGHTTP2_ERR_DEFERRED;
static const int CNGHTTP2_ERR_CALLBACK_FAILURE = NGHTTP2_ERR_CALLBACK_FAILURE;
static const int CNGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE = NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
static const unsigned char CNGHTTP2_DATA = NGHTTP2_DATA;
static const unsigned char CNGHTTP2_HEADERS = NGHTTP2_HEADERS;
static const unsigned char CNGHTTP2_SETTINGS = NGHTTP2_SETTINGS;
static const unsigned char CNGHTTP2_PING = NGHTTP2_PING;
static const unsigned char CNGHTTP2_FLAG_ACK = NGHTTP2_FLAG_ACK;
static const unsigned char CNGHTTP2_FLAG_END_STREAM = NGHTTP2_FLAG_END_STREAM;
static const unsigned int CNGHTTP2_DATA_FLAG_EOF = NGHTTP2_DATA_FLAG_EOF;
static const unsigned int CNGHTTP2_DATA_FLAG_NO_END_STREAM = NGHTTP2_DATA_FLAG_NO_END_STREAM;

#endif
