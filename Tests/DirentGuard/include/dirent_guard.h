#ifndef BACKTEST_DIRENT_GUARD_H
#define BACKTEST_DIRENT_GUARD_H
// The test process's readdir, which hands out whole-size entries: see dirent_guard.c.
// Returns 1 (calling it keeps the object, and so the interposed readdir, linked in).
int dirent_guard_installed(void);
#endif
