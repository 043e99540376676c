/* A payload with its own malloc and free, which WAMR used to allocate the
 * arguments: malloc here is a bump allocator that counts its calls. The
 * result is calls * 1000 + the memory's pages, or -1 if argv[1] is not
 * the value "v". */
#include "teaclave.h"

static char heap[4096];
static unsigned used, calls;

__attribute__((export_name("malloc"))) void *malloc(unsigned long n) {
	calls++;
	if (used + n > sizeof heap) return 0;
	void *p = heap + used;
	used += (n + 7) & ~7u;
	return p;
}

__attribute__((export_name("free"))) void free(void *p) {}

int entrypoint(int argc, char **argv) {
	if (argc != 2 || !t_streq(argv[1], "v")) return -1;
	return (int)(calls * 1000 + __builtin_wasm_memory_size(0));
}
