#ifndef CFILEOPS_H
#define CFILEOPS_H

/// Swaps two paths atomically (renameat2 with RENAME_EXCHANGE on Linux, renamex_np with
/// RENAME_SWAP on macOS): both names exist before and after, each pointing at the other's
/// inode. Returns 0, or -1 with errno set (ENOSYS/EINVAL where the system or file system lacks it).
int cfileops_exchange(const char *a, const char *b);

/// Appends `length` bytes of the file `in`, from `offset`, to `out` at its current
/// offset, in the kernel (copy_file_range, Linux), falling back to read and write where
/// the kernel or file system cannot. Returns 0, or -1 with errno set (ENODATA
/// when `in` ends before `offset + length`).
int cfileops_append(int in, long offset, int out, long length);

/// Copies `length` bytes of `in` from `in_offset` to `out` at `out_offset` (neither
/// file's offset moves), in the kernel where it can. Returns 0, or -1 with errno
/// set (ENODATA when `in` ends first).
int cfileops_copy_at(int in, long in_offset, int out, long out_offset, long length);

/// Starts writing the range back to disk without waiting (sync_file_range with
/// SYNC_FILE_RANGE_WRITE, Linux), so a later fsync has less left to wait for. Best effort:
/// nothing elsewhere.
void cfileops_start_writeback(int fd, long offset, long length);

/// Asks the kernel to read the range into the page cache now (readahead, Linux), so that a
/// later `sendfile` of it on an event loop finds it there rather than waiting for the disk.
/// Best effort: an advisory read-ahead on macOS, nothing elsewhere.
void cfileops_read_ahead(int fd, long offset, long length);

/// Allocates the file's blocks for its first `length` bytes now (fallocate without
/// FALLOC_FL_KEEP_SIZE, Linux), so the file is `length` long and its later writes find their
/// blocks reserved: a full disk shows here, once, and each write skips the file system's
/// per-block reservation. Returns 0; -1 with errno EOPNOTSUPP where the system or file
/// system cannot (ENOSYS and EINVAL are reported so; the caller sizes the file with ftruncate
/// instead); -1 with fallocate's errno otherwise (ENOSPC or EDQUOT: the room is not there).
/// Never writes zeros.
int cfileops_reserve(int fd, long length);

#endif
