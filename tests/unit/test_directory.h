/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A fresh temporary directory for one test, shared by the suites that write
 * files (config and reload): made in setup, removed with all its content in
 * teardown. One directory at a time; not a suite.
 */
#ifndef JETSTREAM_TESTS_TEST_DIRECTORY_H
#define JETSTREAM_TESTS_TEST_DIRECTORY_H

/*
 * Makes a new directory "<prefix>XXXXXX" in $TMPDIR (or /tmp), e.g. prefix
 * "jetstream_config_"; fails the test if it cannot. Returns its path.
 */
const char *test_directory_create(const char *prefix);

/* Removes the directory of test_directory_create() and everything in it. */
void test_directory_remove(void);

/* The path of the current test directory. */
const char *test_directory(void);

/*
 * Path of @p name in the test directory. The result lives in one of a few
 * rotating buffers (4): enough for the paths of one call, not to keep.
 */
const char *test_path(const char *name);

/*
 * Writes @p text to @p name in the test directory, with every "@DIR@"
 * replaced by the directory's path; fails the test if it cannot. Returns the
 * file's path (see test_path()).
 */
const char *test_write_file(const char *name, const char *text);

#endif
