/* A payload that never returns: only the task's context can stop it. */
#include "teaclave.h"

int entrypoint(int argc, char **argv) {
	volatile unsigned n = 0;
	for (;;) n++;
	return 0;
}
