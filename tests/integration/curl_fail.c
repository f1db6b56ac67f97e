/*
 * curl_fail.c - a preload library for the tests of the elasticsearch
 * output: while the file named by VIGIL_CURL_FAIL_FILE exists,
 * curl_multi_perform fails with CURLM_OUT_OF_MEMORY and does nothing;
 * otherwise it is libcurl's own.
 *
 *   LD_PRELOAD=build/libcurl_fail.so VIGIL_CURL_FAIL_FILE=/tmp/x vigil ...
 *
 * Creating and removing the file turns the failure on and off while the
 * agent runs, so a test sees both the failing loop and its recovery.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

#include <curl/curl.h>

typedef CURLMcode (*curl_fail_perform_fn)(CURLM *, int *);

CURLMcode curl_multi_perform(CURLM *multi, int *running)
{
    static curl_fail_perform_fn real;
    const char *flag = getenv("VIGIL_CURL_FAIL_FILE");

    if (flag != NULL && access(flag, F_OK) == 0)
        return CURLM_OUT_OF_MEMORY;
    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "curl_multi_perform");
    if (real == NULL)
        return CURLM_INTERNAL_ERROR;
    return real(multi, running);
}
