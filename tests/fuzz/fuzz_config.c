/*
 * fuzz_config.c - the YAML loader and the plan builder on arbitrary bytes:
 * every input must give a plan or a list of errors, never a crash or a leak.
 */
#include <stdint.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_config *cfg = NULL;
    struct vg_errors errs;
    struct vg_plan plan;

    memset(&plan, 0, sizeof(plan));
    vg_errors_init(&errs);
    vg_config_load_string((const char *)data, size, "fuzz.yaml", &cfg, &errs);
    if (cfg != NULL) /* also when only values were refused */
        vg_plan_build(cfg, &plan, &errs);
    vg_plan_free(&plan);
    vg_config_free(cfg);
    vg_errors_free(&errs);
    return 0;
}
