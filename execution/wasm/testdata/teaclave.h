/* The host ABI of Teaclave's WebAssembly executor (functions.md §3.1), and
 * the few string helpers the test payloads need: they are built with
 * -nostdlib, so there is no libc. */
#ifndef TEACLAVE_TEST_H
#define TEACLAVE_TEST_H

#define TEACLAVE_IMPORT(name) __attribute__((import_module("env"), import_name(#name)))

TEACLAVE_IMPORT(teaclave_open_input) int teaclave_open_input(const char *name);
TEACLAVE_IMPORT(teaclave_create_output) int teaclave_create_output(const char *name);
TEACLAVE_IMPORT(teaclave_read_file) int teaclave_read_file(int handle, void *buf, int len);
TEACLAVE_IMPORT(teaclave_write_file) int teaclave_write_file(int handle, const void *buf, int len);
TEACLAVE_IMPORT(teaclave_close_file) int teaclave_close_file(int handle);

static int t_strlen(const char *s) {
	int n = 0;
	while (s[n]) n++;
	return n;
}

static int t_streq(const char *a, const char *b) {
	while (*a && *a == *b) a++, b++;
	return *a == *b;
}

/* t_atoi parses an optional '-' and decimal digits, stopping at the first
 * other byte. */
static long long t_atoll(const char *s) {
	long long v = 0;
	int neg = 0;
	if (*s == '-') neg = 1, s++;
	while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
	return neg ? -v : v;
}

/* t_read_all reads a whole input into buf (at most cap bytes), looping
 * over short reads; it returns the length, or -1. */
static int t_read_all(const char *name, char *buf, int cap) {
	int h = teaclave_open_input(name);
	if (h < 0) return -1;
	int n = 0;
	for (;;) {
		int r = teaclave_read_file(h, buf + n, cap - n);
		if (r < 0) return -1;
		if (r == 0) break;
		n += r;
		if (n == cap) break;
	}
	teaclave_close_file(h);
	return n;
}

/* t_write_all writes len bytes, looping over short writes; it returns 0,
 * or -1. */
static int t_write_all(int h, const char *p, int len) {
	while (len > 0) {
		int w = teaclave_write_file(h, p, len);
		if (w <= 0) return -1;
		p += w;
		len -= w;
	}
	return 0;
}

#endif
