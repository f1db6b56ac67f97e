/*
 * fuzz_textfile.c - the text exposition parser of the textfile collector on
 * arbitrary bytes; an accepted file is also read back sample by sample.
 */
#include <stdint.h>
#include <string.h>

#include "../../collectors/textfile/textfile_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct textfile_result r;
    static int ready;
    struct vg_error err = {0};
    struct vg_label labels[TEXTFILE_MAX_LABELS];
    struct textfile_view v;
    unsigned line = 0;
    size_t i;

    if (!ready) {
        textfile_result_init(&r);
        ready = 1;
    }
    if (textfile_parse(&r, (const char *)data, size, &line, &err) == VG_OK) {
        for (i = 0; i < r.n_samples; i++) {
            textfile_sample_view(&r, i, &v, labels);
            if (v.n_labels > TEXTFILE_MAX_LABELS)
                __builtin_trap();
        }
    }
    return 0;
}
