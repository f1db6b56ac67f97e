/*
 * registry.c - the filter types a `filters:` entry or an inline step may
 * name.
 */
#include <string.h>

#include "process.h"

extern const struct vg_filter_ops vg_filter_grep;
extern const struct vg_filter_ops vg_filter_level;
extern const struct vg_filter_ops vg_filter_modify;
extern const struct vg_filter_ops vg_filter_redact;
extern const struct vg_filter_ops vg_filter_throttle;

/* one type per line, sorted: adding one is a one-line change */
// clang-format off
const struct vg_filter_ops *const vg_filter_registry[] = {
    &vg_filter_grep,
    &vg_filter_level,
    &vg_filter_modify,
    &vg_filter_redact,
    &vg_filter_throttle,
    NULL,
};
// clang-format on

const struct vg_filter_ops *vg_filter_find(const char *name)
{
    size_t i;

    for (i = 0; vg_filter_registry[i] != NULL; i++)
        if (strcmp(vg_filter_registry[i]->name, name) == 0)
            return vg_filter_registry[i];
    return NULL;
}
