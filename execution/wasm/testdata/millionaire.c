/* The behaviour of Teaclave's millionaire-problem payload: the arguments
 * {"input_file_id1": A, "input_file_id2": B, "output_file_id": O} name two
 * inputs, each holding one party's wealth as decimal text, and an output.
 * The payload writes the name of the richer party's input to O (A on a tie)
 * and returns the number of bytes it wrote; a failure returns -1. */
#include "teaclave.h"

static char buf[64];

static long long wealth(const char *name) {
	int n = t_read_all(name, buf, sizeof buf - 1);
	if (n < 0) return -1;
	buf[n] = 0;
	return t_atoll(buf);
}

int entrypoint(int argc, char **argv) {
	if (argc != 6) return -1;
	const char *a = argv[1], *b = argv[3], *out = argv[5];
	long long wa = wealth(a), wb = wealth(b);
	if (wa < 0 || wb < 0) return -1;
	const char *richer = wa >= wb ? a : b;
	int h = teaclave_create_output(out);
	if (h < 0) return -1;
	int n = t_strlen(richer);
	if (t_write_all(h, richer, n) < 0) return -1;
	if (teaclave_close_file(h) != 0) return -1;
	return n;
}
