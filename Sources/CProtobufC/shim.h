#ifndef BACKTEST_CPROTOBUFC_SHIM_H
#define BACKTEST_CPROTOBUFC_SHIM_H
#include <protobuf-c/protobuf-c.h>
#endif
