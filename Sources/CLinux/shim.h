#ifndef BACKTEST_CLINUX_SHIM_H
#define BACKTEST_CLINUX_SHIM_H
// Linux calls the Glibc module does not export, for the transport's event loops:
// epoll, eventfd, naming a thread (prctl is variadic, which Swift cannot call), and
// accept4 (a GNU extension the module's headers hide).
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>

static inline void backtest_set_thread_name(const char *name) {
    prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

/// accept4 with the flags every accepted connection gets: non-blocking and
/// close-on-exec, in one syscall instead of accept and three fcntl.
static inline int backtest_accept_nonblocking(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}
#endif
