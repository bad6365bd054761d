/* The few C string/memory functions mhv needs (libc provides them on the host). */
#ifndef MHV_LIB_STRING_H
#define MHV_LIB_STRING_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);

/*
 * memcpy for the operand sizes of one device access (1, 2, 4, 8): one load and one store,
 * no call and no byte loop; any other size goes to memcpy.
 */
static inline void memcpy_small(void *dst, const void *src, size_t n)
{
	switch (n) {
	case 1:
		__builtin_memcpy(dst, src, 1);
		break;
	case 2:
		__builtin_memcpy(dst, src, 2);
		break;
	case 4:
		__builtin_memcpy(dst, src, 4);
		break;
	case 8:
		__builtin_memcpy(dst, src, 8);
		break;
	default:
		memcpy(dst, src, n);
		break;
	}
}

#endif
