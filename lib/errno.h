/* Error codes shared by every mhv module: functions return 0 or a negative E_* value. */
#ifndef MHV_LIB_ERRNO_H
#define MHV_LIB_ERRNO_H

#define E_INVAL	 1 /* malformed input */
#define E_NOMEM	 2 /* no memory / table full */
#define E_RANGE	 3 /* value or address out of range */
#define E_NOENT	 4 /* not found */
#define E_EXIST	 5 /* already present / overlaps */
#define E_NOTSUP 6 /* recognised but not supported */
#define E_FAULT	 7 /* bad address */
#define E_AGAIN	 8 /* changed meanwhile: do it again */

#endif
