#include "cmalloc.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

int cmalloc_limit_arenas(int arenas) {
#if defined(__GLIBC__)
    return mallopt(M_ARENA_MAX, arenas);
#else
    (void)arenas;
    return 0;
#endif
}
