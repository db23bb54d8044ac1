// The node's file operations that have a faster or atomic form on Linux (renameat2,
// copy_file_range, sync_file_range). Package.swift lists macOS, so every Linux-only call is
// guarded: macOS swaps with renamex_np(RENAME_SWAP), which is just as atomic; elsewhere a
// swap is ENOSYS, copies go through a buffer and write-back is left to fsync.
#if defined(__linux__)
#define _GNU_SOURCE
#include <sys/syscall.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include "cfileops.h"

#if defined(__linux__) && !defined(RENAME_EXCHANGE)
#define RENAME_EXCHANGE (1 << 1)
#endif

int cfileops_exchange(const char *a, const char *b) {
#if defined(__linux__) && defined(SYS_renameat2)
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
#elif defined(__APPLE__)
    return renamex_np(a, b, RENAME_SWAP);
#else
    (void)a;
    (void)b;
    errno = ENOSYS;
    return -1;
#endif
}

/* Writes all of p: at *to (advancing it) when to is not NULL, else at the file offset. */
static int write_all(int fd, const char *p, size_t n, off_t *to) {
    while (n > 0) {
        ssize_t w = to ? pwrite(fd, p, n, *to) : write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
        if (to) *to += w;
    }
    return 0;
}

/* length bytes of in from `from` to out, at *to when to is not NULL (else at out's
   offset): in the kernel, or through a buffer where the kernel or file system cannot. */
static int copy_range(int in, off_t from, int out, off_t *to, long length) {
    long left = length;
#if defined(__linux__)
    int kernel = 1;
#endif
    char buffer[65536];
    while (left > 0) {
#if defined(__linux__)
        if (kernel) {
            ssize_t n = copy_file_range(in, &from, out, to, (size_t)left, 0);
            if (n > 0) { left -= n; continue; }
            if (n == 0) { errno = ENODATA; return -1; }
            if (errno == EINTR) continue;
            if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP) return -1;
            kernel = 0;  /* not here: copy through user space from where it stopped */
            continue;
        }
#endif
        size_t want = (size_t)left < sizeof buffer ? (size_t)left : sizeof buffer;
        ssize_t n = pread(in, buffer, want, from);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (n == 0) { errno = ENODATA; return -1; }
        if (write_all(out, buffer, (size_t)n, to) != 0) return -1;
        from += n;
        left -= n;
    }
    return 0;
}

int cfileops_append(int in, long offset, int out, long length) {
    return copy_range(in, (off_t)offset, out, NULL, length);
}

int cfileops_copy_at(int in, long in_offset, int out, long out_offset, long length) {
    off_t to = (off_t)out_offset;
    return copy_range(in, (off_t)in_offset, out, &to, length);
}

void cfileops_start_writeback(int fd, long offset, long length) {
#if defined(__linux__)
    sync_file_range(fd, (off_t)offset, (off_t)length, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd;
    (void)offset;
    (void)length;
#endif
}

void cfileops_read_ahead(int fd, long offset, long length) {
#if defined(__linux__)
    readahead(fd, (off_t)offset, (size_t)length);
#elif defined(__APPLE__)
    struct radvisory advice = {.ra_offset = (off_t)offset, .ra_count = (int)length};
    fcntl(fd, F_RDADVISE, &advice);
#else
    (void)fd;
    (void)offset;
    (void)length;
#endif
}

int cfileops_reserve(int fd, long length) {
#if defined(__linux__)
    for (;;) {
        if (fallocate(fd, 0, 0, (off_t)length) == 0) return 0;
        if (errno == EINTR) continue;
        if (errno == ENOSYS || errno == EINVAL) errno = EOPNOTSUPP;
        return -1;
    }
#else
    (void)fd;
    (void)length;
    errno = EOPNOTSUPP;
    return -1;
#endif
}
