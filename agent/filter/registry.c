/*
 * registry.c - the filter types a `filters:` entry or an inline step may
 * name.
 */
#include <string.h>

#include "process.h"

const struct vg_filter_ops *const vg_filter_registry[] = {
    NULL,
};

const struct vg_filter_ops *vg_filter_find(const char *name)
{
    size_t i;

    for (i = 0; vg_filter_registry[i] != NULL; i++)
        if (strcmp(vg_filter_registry[i]->name, name) == 0)
            return vg_filter_registry[i];
    return NULL;
}
