#ifndef CMALLOC_H
#define CMALLOC_H

/// Caps how many heap arenas glibc's malloc makes (mallopt M_ARENA_MAX). Returns 1 on
/// success, 0 where it cannot (not glibc).
int cmalloc_limit_arenas(int arenas);

#endif
