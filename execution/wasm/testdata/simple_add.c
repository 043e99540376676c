/* The behaviour of Teaclave's simple_add payload: with the arguments
 * {"adder1": a, "adder2": b} argv is adder1, a, adder2, b (sorted keys), and
 * the result is a + b. Fewer than four strings give -1. */
#include "teaclave.h"

int entrypoint(int argc, char **argv) {
	if (argc < 4) return -1;
	return (int)(t_atoll(argv[1]) + t_atoll(argv[3]));
}
