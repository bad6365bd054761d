/* Small compiler helpers used everywhere. */
#ifndef MHV_LIB_COMPILER_H
#define MHV_LIB_COMPILER_H

#define ARRAY_SIZE(a)	 (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)	 (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a)-1)) == 0)
#define MIN(a, b)	 ((a) < (b) ? (a) : (b))
#define MAX(a, b)	 ((a) > (b) ? (a) : (b))
#define __packed	 __attribute__((packed))
#define __noreturn	 __attribute__((noreturn))
#define __aligned(n)	 __attribute__((aligned(n)))
#define __printf(a, b)	 __attribute__((format(printf, a, b)))
#define __unused	 __attribute__((unused))
#define likely(x)	 __builtin_expect(!!(x), 1)
#define unlikely(x)	 __builtin_expect(!!(x), 0)
#define BUILD_BUG_ON(c)	 _Static_assert(!(c), #c)
/* mhv keeps frame pointers (gdb and the monitor walk the chain); a short function on the exit
 * path sheds the push/pop: the chain stays whole through its callers'. */
#define __no_frame_pointer __attribute__((optimize("omit-frame-pointer")))

#endif
