#ifndef BACKTEST_CHIREDIS_SHIM_H
#define BACKTEST_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>

// The reply types and status codes as constants Swift sees with one type.
static const int CREDIS_OK = REDIS_OK;
static const int CREDIS_REPLY_STRING = REDIS_REPLY_STRING;
static const int CREDIS_REPLY_ARRAY = REDIS_REPLY_ARRAY;
static const int CREDIS_REPLY_INTEGER = REDIS_REPLY_INTEGER;
static const int CREDIS_REPLY_NIL = REDIS_REPLY_NIL;
static const int CREDIS_REPLY_STATUS = REDIS_REPLY_STATUS;
static const int CREDIS_REPLY_ERROR = REDIS_REPLY_ERROR;

#endif
