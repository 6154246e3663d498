/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the fuzz targets share: the libFuzzer entry points, and FUZZ_CHECK,
 * which turns a broken invariant into an abort so that libFuzzer (or the
 * corpus replay) stops on it with the input saved, as it does for a crash.
 */
#ifndef JETSTREAM_FUZZ_H
#define JETSTREAM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(condition, ...)                                                          \
	do {                                                                                \
		if (!(condition)) {                                                         \
			fprintf(stderr, "%s:%d: invariant broken: ", __FILE__, __LINE__);   \
			fprintf(stderr, __VA_ARGS__);                                       \
			fputc('\n', stderr);                                                \
			abort();                                                            \
		}                                                                           \
	} while (0)

#endif
