/* A compute kernel for the benchmarks: the number of primes below n (the
 * argument "n", at most 1 << 22), by the sieve of Eratosthenes. The Go
 * benchmark runs the same algorithm natively. */
#include "teaclave.h"

#define MAX (1 << 22)
/* Every task gets a fresh instance, so the sieve starts zeroed. */
static unsigned char composite[MAX];

int entrypoint(int argc, char **argv) {
	if (argc != 2) return -1;
	int n = (int)t_atoll(argv[1]);
	if (n < 2 || n > MAX) return 0;
	int count = 0;
	for (int i = 2; i < n; i++) {
		if (composite[i]) continue;
		count++;
		if (i > n / i) continue; /* i * i would pass n (or overflow) */
		for (int j = i * i; j < n; j += i) composite[j] = 1;
	}
	return count;
}
