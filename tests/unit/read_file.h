/*
 * read_file.h - a whole file into memory, and text into a file, for unit
 * tests that read their fixtures or write trees of their own (asserts on any
 * failure).
 */
#ifndef VG_TEST_READ_FILE_H
#define VG_TEST_READ_FILE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The contents of path, NUL-terminated (malloc'd); *size gets the length
 * when size is not NULL. */
static inline char *test_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    char *data;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    data[n] = '\0';
    fclose(f);
    if (size != NULL)
        *size = (size_t)n;
    return data;
}

/* Writes text as the whole of dir/name. */
static inline void test_write_file(const char *dir, const char *name, const char *text)
{
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f;

    assert_true(n > 0 && (size_t)n < sizeof(path));
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

#endif
