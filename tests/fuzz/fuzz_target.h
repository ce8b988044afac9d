/*
 * fuzz_target.h — the libFuzzer entry point every target in tests/fuzz/
 * defines. The same object links either with -fsanitize=fuzzer (libFuzzer's
 * main) or with replay_main.c (runs corpus files, in every build).
 */
#ifndef WEFT_FUZZ_TARGET_H
#define WEFT_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
