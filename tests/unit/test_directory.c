/* SPDX-License-Identifier: BSD-3-Clause */
/* The temporary test directory of test_directory.h (helpers, not a suite). */
#define _GNU_SOURCE
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <check.h>

#include "test_directory.h"

#define TEST_PATHS 4 /* rotating buffers of test_path() */

static char directory[PATH_MAX];

const char *
test_directory_create(const char *prefix)
{
	snprintf(directory, sizeof(directory), "%s/%sXXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", prefix);
	ck_assert_ptr_nonnull(mkdtemp(directory));
	return directory;
}

static int
remove_entry(const char *path, const struct stat *status, int flag, struct FTW *walk)
{
	(void)status, (void)flag, (void)walk;
	return remove(path);
}

void
test_directory_remove(void)
{
	nftw(directory, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

const char *
test_directory(void)
{
	return directory;
}

const char *
test_path(const char *name)
{
	static char paths[TEST_PATHS][PATH_MAX + 64];
	static unsigned next;
	char *path = paths[next++ % TEST_PATHS];

	snprintf(path, sizeof(paths[0]), "%s/%s", directory, name);
	return path;
}

const char *
test_write_file(const char *name, const char *text)
{
	const char *path = test_path(name);
	FILE *file = fopen(path, "w");

	ck_assert_ptr_nonnull(file);
	for (const char *cursor = text; *cursor != '\0';) {
		if (strncmp(cursor, "@DIR@", 5) == 0) {
			fputs(directory, file);
			cursor += 5;
		} else {
			fputc(*cursor++, file);
		}
	}
	fclose(file);
	return path;
}
