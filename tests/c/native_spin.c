/* The library tests/native.rs calls through ctypes: spin_outer() calls spin_inner(), which
 * spins for ever. With -DSTATIC_INNER, spin_inner is static: a stripped copy has no name for
 * it (only .dynsym is left), and pyflame must not show another function's. */
volatile unsigned long native_sink;

#ifdef STATIC_INNER
static
#endif
__attribute__((noinline)) void spin_inner(void) {
    for (;;)
        native_sink++;
}

__attribute__((noinline)) void spin_outer(void) {
    spin_inner();
    native_sink--;
}
