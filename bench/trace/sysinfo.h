/*
 * sysinfo.h — clock, resident memory and machine description for the
 * benchmark report (Linux: /proc).
 */
#ifndef WEFT_BENCH_SYSINFO_H
#define WEFT_BENCH_SYSINFO_H

#include <stddef.h>

/* Monotonic time in milliseconds. */
double sys_now_ms(void);

/* Resident set size in bytes (/proc/self/statm), 0 if unknown. */
size_t sys_rss_bytes(void);

/* Gives freed heap pages back to the OS (glibc malloc_trim), so that an
 * RSS delta taken afterwards counts newly touched memory only. */
void sys_trim_heap(void);

/* Online CPUs and the first "model name" of /proc/cpuinfo ("unknown"). */
long sys_nproc(void);
void sys_cpu_model(char *out, size_t len);

#endif
