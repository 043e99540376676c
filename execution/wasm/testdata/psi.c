/* The behaviour of Teaclave's Rust PSI payload (wasm_rust_psi): the
 * arguments {"input1_fid": I1, "input2_fid": I2, "output1_fid": O1,
 * "output2_fid": O2} name two inputs of newline-separated tokens (in any
 * order) and two outputs. Both outputs receive the tokens common to both
 * inputs, one per line, then "done\n"; the result is how many there are.
 * A wrong argument count traps (the Rust payload asserted argc == 8). */
#include "teaclave.h"

#define CAP 65536
#define MAXTOK 4096

static char in1[CAP], in2[CAP];
static char *tok1[MAXTOK], *tok2[MAXTOK];
static char out[CAP + 8];

/* split cuts buf into lines in place, dropping empty ones and a trailing
 * '\r'; it returns the count, or -1 if there are too many. */
static int split(char *buf, int n, char **tok) {
	int count = 0;
	char *start = buf;
	for (int i = 0; i <= n; i++) {
		if (i == n || buf[i] == '\n') {
			buf[i] = 0;
			if (i > 0 && buf[i - 1] == '\r') buf[i - 1] = 0;
			if (*start) {
				if (count == MAXTOK) return -1;
				tok[count++] = start;
			}
			start = buf + i + 1;
		}
	}
	return count;
}

static int contains(char **tok, int n, const char *s) {
	for (int i = 0; i < n; i++)
		if (t_streq(tok[i], s)) return 1;
	return 0;
}

static int emit(const char *name, const char *p, int len) {
	int h = teaclave_create_output(name);
	if (h < 0) return -1;
	if (t_write_all(h, p, len) < 0) return -1;
	return teaclave_close_file(h);
}

int entrypoint(int argc, char **argv) {
	if (argc != 8) __builtin_trap();
	int n1 = t_read_all(argv[1], in1, CAP - 1);
	int n2 = t_read_all(argv[3], in2, CAP - 1);
	if (n1 < 0 || n2 < 0) return -1;
	int c1 = split(in1, n1, tok1), c2 = split(in2, n2, tok2);
	if (c1 < 0 || c2 < 0) return -1;
	int common = 0, len = 0;
	for (int i = 0; i < c1; i++) {
		/* a set: each common token once */
		if (!contains(tok2, c2, tok1[i]) || contains(tok1, i, tok1[i])) continue;
		int l = t_strlen(tok1[i]);
		if (len + l + 1 > CAP) return -1;
		for (int j = 0; j < l; j++) out[len++] = tok1[i][j];
		out[len++] = '\n';
		common++;
	}
	const char *done = "done\n";
	for (int j = 0; done[j]; j++) out[len++] = done[j];
	if (emit(argv[5], out, len) != 0 || emit(argv[7], out, len) != 0) return -1;
	return common;
}
