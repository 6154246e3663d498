/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Corpus replay: runs a fuzz target's LLVMFuzzerTestOneInput() once on every
 * file of the directories (or files) named on the command line, without
 * libFuzzer, so that `make check` needs no clang. Built with ASan+UBSan, a
 * crash, a sanitizer report or a broken invariant (abort) fails the run.
 *
 *   replay NAME PATH...    prints "fuzz replay NAME: N inputs replayed"
 *
 * An empty or missing corpus is an error: a replay of nothing proves nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* The targets that need no set-up leave it out; libFuzzer treats it the same way. */
__attribute__((weak)) int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* Read all of @p path; NULL on error (reported). */
static uint8_t *
read_whole_file(const char *path, size_t *size)
{
	FILE *file = fopen(path, "rb");
	uint8_t *bytes = NULL;
	long length;

	if (file == NULL || fseek(file, 0, SEEK_END) != 0 || (length = ftell(file)) < 0 ||
	    fseek(file, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		goto out;
	}
	/* An exact-size buffer, as libFuzzer gives, so ASan sees a read one past the end. */
	bytes = malloc(length == 0 ? 1 : (size_t)length);
	if (bytes == NULL || fread(bytes, 1, (size_t)length, file) != (size_t)length) {
		fprintf(stderr, "replay: %s: cannot read\n", path);
		free(bytes);
		bytes = NULL;
		goto out;
	}
	*size = (size_t)length;
out:
	if (file != NULL)
		fclose(file);
	return bytes;
}

static int
replay_file(const char *path)
{
	size_t size = 0;
	uint8_t *bytes = read_whole_file(path, &size);

	if (bytes == NULL)
		return -1;
	LLVMFuzzerTestOneInput(bytes, size);
	free(bytes);
	return 0;
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Replay every regular file of @p directory in name order; the count, or -1. */
static long
replay_directory(const char *directory)
{
	struct dirent **entries;
	int count = scandir(directory, &entries, NULL, by_name);
	long replayed = 0;

	if (count < 0) {
		fprintf(stderr, "replay: %s: %s\n", directory, strerror(errno));
		return -1;
	}
	for (int i = 0; i < count; i++) {
		char path[4096];
		struct stat status;

		snprintf(path, sizeof(path), "%s/%s", directory, entries[i]->d_name);
		if (stat(path, &status) == 0 && S_ISREG(status.st_mode)) {
			if (replay_file(path) != 0)
				replayed = -1;
			else if (replayed >= 0)
				replayed++;
		}
		free(entries[i]);
	}
	free(entries);
	return replayed;
}

static long
replay_path(const char *path)
{
	struct stat status;

	if (stat(path, &status) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(status.st_mode))
		return replay_directory(path);
	return replay_file(path) == 0 ? 1 : -1;
}

int
main(int argc, char **argv)
{
	long total = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: %s NAME CORPUS_DIRECTORY_OR_FILE...\n", argv[0]);
		return 2;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 2; i < argc; i++) {
		long replayed = replay_path(argv[i]);

		if (replayed < 0)
			return 1;
		total += replayed;
	}
	if (total == 0) {
		fprintf(stderr, "fuzz replay %s: no input found\n", argv[1]);
		return 1;
	}
	printf("fuzz replay %s: %ld inputs replayed\n", argv[1], total);
	return 0;
}
