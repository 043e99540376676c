/* Entry points of other types than (i32, i32) -> i32, which WAMR accepted
 * (functions.md §3.1): VARIANT 1 returns nothing, 2 takes three parameters,
 * 3 takes only argc, 4 takes one i64 (argc in its low half, argv in its
 * high half), 5 returns an i64. */
#include "teaclave.h"

#if VARIANT == 1
static volatile int sink;
void entrypoint(int argc, char **argv) { sink = argc; }
#elif VARIANT == 2
int entrypoint(int argc, char **argv, int extra) { return argc + extra; }
#elif VARIANT == 3
int entrypoint(int argc) { return argc * 10; }
#elif VARIANT == 4
int entrypoint(long long cells) {
	int argc = (int)(cells & 0xffffffff);
	char **argv = (char **)(unsigned)(cells >> 32);
	return argc == 2 ? (int)t_atoll(argv[1]) : -1;
}
#elif VARIANT == 5
long long entrypoint(int argc, char **argv) { return 0x100000000LL * 7 + 42; }
#endif
