/* Probes of the host ABI's edge cases. The argument "case" selects one;
 * each returns a value the Go test checks, or traps on purpose. */
#include "teaclave.h"

static const char *arg(int argc, char **argv, const char *key) {
	for (int i = 0; i + 1 < argc; i += 2)
		if (t_streq(argv[i], key)) return argv[i + 1];
	return "";
}

static char buf[256];

/* recurse calls itself through a volatile pointer, so it is neither
 * inlined nor turned into a loop, and keeps nothing on the C stack in
 * memory: only the wasm call stack overflows. */
static int recurse(int n);
static int (*volatile again)(int) = recurse;
static int recurse(int n) { return again(n + 1) + n; }

int entrypoint(int argc, char **argv) {
	const char *c = arg(argc, argv, "case");
	if (t_streq(c, "open_input")) return teaclave_open_input("in");
	if (t_streq(c, "handles")) {
		/* one sequence for inputs and outputs; outputs flagged */
		int a = teaclave_open_input("in");
		int b = teaclave_create_output("out");
		return a == 1 && b == (0x40000000 | 2) ? b : -2;
	}
	if (t_streq(c, "open_unknown")) return teaclave_open_input("nope");
	if (t_streq(c, "create_unknown")) return teaclave_create_output("nope");
	if (t_streq(c, "output_as_input")) return teaclave_open_input("out");
	if (t_streq(c, "read_output")) {
		int h = teaclave_create_output("out");
		return teaclave_read_file(h, buf, 1);
	}
	if (t_streq(c, "write_input")) {
		int h = teaclave_open_input("in");
		return teaclave_write_file(h, "x", 1);
	}
	if (t_streq(c, "close_twice")) {
		int h = teaclave_open_input("in");
		int first = teaclave_close_file(h);
		int second = teaclave_close_file(h);
		return first == 0 ? second : -2;
	}
	if (t_streq(c, "read_closed")) {
		int h = teaclave_open_input("in");
		teaclave_close_file(h);
		return teaclave_read_file(h, buf, 1);
	}
	if (t_streq(c, "max_seq")) {
		/* 1023 opens succeed, the next fails */
		int n = 0;
		while (teaclave_open_input("in") > 0) n++;
		return n;
	}
	if (t_streq(c, "copy")) {
		/* in to out through 3-byte reads; returns the bytes copied */
		int in = teaclave_open_input("in"), out = teaclave_create_output("out");
		int total = 0;
		for (;;) {
			int r = teaclave_read_file(in, buf, 3);
			if (r < 0) return -1;
			if (r == 0) break;
			if (t_write_all(out, buf, r) < 0) return -1;
			total += r;
		}
		return teaclave_close_file(out) == 0 ? total : -1;
	}
	if (t_streq(c, "no_close")) {
		/* the executor completes outputs left open */
		int out = teaclave_create_output("out");
		return teaclave_write_file(out, "left open", 9);
	}
	if (t_streq(c, "argv")) {
		/* writes argv joined by '|' to out; returns argc */
		int out = teaclave_create_output("out");
		for (int i = 0; i < argc; i++) {
			if (i > 0 && t_write_all(out, "|", 1) < 0) return -1;
			if (t_write_all(out, argv[i], t_strlen(argv[i])) < 0) return -1;
		}
		teaclave_close_file(out);
		return argc;
	}
	if (t_streq(c, "oob_read")) return teaclave_read_file(teaclave_open_input("in"), (void *)0xFFFFFFF0u, 100);
	if (t_streq(c, "oob_write_len")) return teaclave_write_file(teaclave_create_output("out"), buf, -1);
	if (t_streq(c, "oob_name")) {
		/* the last byte of memory is not a NUL: no string ends in memory */
		unsigned end = __builtin_wasm_memory_size(0) * 65536u;
		char *last = (char *)(end - 1);
		*last = 'x';
		return teaclave_open_input(last);
	}
	if (t_streq(c, "name_past_end")) return teaclave_open_input((const char *)(__builtin_wasm_memory_size(0) * 65536u));
	if (t_streq(c, "unreachable")) __builtin_trap();
	if (t_streq(c, "div0")) {
		volatile int a = 7, z = 0;
		return a / z;
	}
	if (t_streq(c, "oob_load")) return *(volatile int *)0xFFFFFFF0u;
	if (t_streq(c, "stack")) return recurse(0);
	if (t_streq(c, "grow")) {
		/* grows memory a page at a time until it cannot; returns its pages */
		while (__builtin_wasm_memory_grow(0, 1) != (unsigned long)-1) {
		}
		return (int)__builtin_wasm_memory_size(0);
	}
	return -100;
}
