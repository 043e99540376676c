/* Built with -mbulk-memory, this payload's memset becomes memory.fill, an
 * instruction WAMR's build in Teaclave lacked: the module must not load. */
static char buf[1024];

int entrypoint(int argc, char **argv) {
	__builtin_memset(buf, argc, argc * 10);
	return buf[0];
}
