// Foundation's Process.run() on Linux (swift-corelibs-foundation issue 5472) copies
// the whole 256-byte d_name of every /proc/self/fd entry that readdir returns. glibc's
// entries are only as long as their names, packed in a 32 KiB buffer; with enough
// descriptors open the last entry sits at the buffer's end, the copy reads past it,
// and the test process crashes when the buffer ends a mapping. This readdir, defined
// in the test executable and so found before glibc's, returns a copy of each entry in
// a whole struct dirent of the calling thread's: the copy then reads only that.
//
// A thread-local copy lasts until the thread's next readdir on any stream (POSIX
// promises it until the next one on the same stream): callers here read an entry's
// name before they read the next.
#define _GNU_SOURCE
#include "dirent_guard.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

static __thread struct dirent entry;

struct dirent *readdir(DIR *dir) {
    static struct dirent *(*glibc_readdir)(DIR *);
    if (glibc_readdir == NULL) {
        glibc_readdir = (struct dirent *(*)(DIR *))dlsym(RTLD_NEXT, "readdir");
    }
    struct dirent *found = glibc_readdir(dir);
    if (found == NULL) {
        return NULL;
    }
    size_t length = found->d_reclen < sizeof entry ? found->d_reclen : sizeof entry;
    memset(&entry, 0, sizeof entry);
    memcpy(&entry, found, length);
    return &entry;
}

int dirent_guard_installed(void) { return 1; }
