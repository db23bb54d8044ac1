#ifndef CFILEOPS_H
#define CFILEOPS_H

/// Swaps two paths atomically (Linux renameat2 with RENAME_EXCHANGE): both names
/// exist before and after, each pointing at the other's inode. Returns 0, or -1
/// with errno set (ENOSYS/EINVAL where the kernel or file system lacks it).
int cfileops_exchange(const char *a, const char *b);

/// Appends `length` bytes of the file `in` (from its start) to `out` at its current
/// offset, in the kernel (copy_file_range), falling back to read and write where
/// the kernel or file system cannot. Returns 0, or -1 with errno set (ENODATA
/// when `in` holds fewer than `length` bytes).
int cfileops_append(int in, int out, long length);

#endif
