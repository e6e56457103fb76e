#ifndef BACKTEST_CLINUX_SHIM_H
#define BACKTEST_CLINUX_SHIM_H
// Linux calls the Glibc module does not export, for the transport's event loops:
// epoll, eventfd, and naming a thread (prctl is variadic, which Swift cannot call).
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>

static inline void backtest_set_thread_name(const char *name) {
    prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}
#endif
