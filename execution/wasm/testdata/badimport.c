/* Payloads importing outside Teaclave's ABI, which must not load:
 * VARIANT 1 imports a host function the ABI does not have, 2 an ABI
 * function with the wrong type, 3 a WASI function. */
#include "teaclave.h"

#if VARIANT == 1
__attribute__((import_module("env"), import_name("teaclave_open_socket"))) int teaclave_open_socket(const char *addr);
int entrypoint(int argc, char **argv) { return teaclave_open_socket("127.0.0.1:80"); }
#elif VARIANT == 2
__attribute__((import_module("env"), import_name("teaclave_read_file"))) int read_file_short(int handle);
int entrypoint(int argc, char **argv) { return read_file_short(1); }
#elif VARIANT == 3
__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_exit"))) void proc_exit(int code);
int entrypoint(int argc, char **argv) {
	proc_exit(3);
	return 0;
}
#endif
