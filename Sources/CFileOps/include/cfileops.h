#ifndef CFILEOPS_H
#define CFILEOPS_H

/// Swaps two paths atomically (Linux renameat2 with RENAME_EXCHANGE): both names
/// exist before and after, each pointing at the other's inode. Returns 0, or -1
/// with errno set (ENOSYS/EINVAL where the kernel or file system lacks it).
int cfileops_exchange(const char *a, const char *b);

#endif
