/*
 * Force-included (gcc -include) into every native addon the packager builds (scripts/package/addons.ts).
 *
 * glibc 2.34 merged libpthread into libc and gave the functions that moved a new default symbol version
 * (GLIBC_2.34, glibc's NEWS for 2.34). An addon linked on this Debian 12 machine (glibc 2.36) would then require
 * glibc >= 2.34 and fail to load on Ubuntu 20.04 (2.31), although the embedded Node itself needs only 2.28.
 * Binding the reference to the version every glibc of the ABI defines keeps the package's libc6 floor where
 * Node puts it: on glibc < 2.34 the symbol comes from libpthread.so.0 (which Node links), on newer ones from
 * libc's compatibility alias. scripts/package/package.test.ts checks the floor of every shipped binary.
 */
#if defined(__aarch64__)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.17");
#elif defined(__x86_64__)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
#endif
