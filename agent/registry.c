/*
 * registry.c - the compiled-in plugins: one line each.
 */
#include <string.h>

#include "alert/notifier.h"
#include "core.h"

extern const struct vg_collector_ops vg_collector_cgroup;
extern const struct vg_collector_ops vg_collector_container_logs;
extern const struct vg_collector_ops vg_collector_gpu_amd;
extern const struct vg_collector_ops vg_collector_gpu_nvml;
extern const struct vg_collector_ops vg_collector_node;
extern const struct vg_collector_ops vg_collector_textfile;
extern const struct vg_collector_ops vg_collector_generator;
extern const struct vg_collector_ops vg_collector_kmsg;
extern const struct vg_output_ops vg_output_discard;
extern const struct vg_output_ops vg_output_elasticsearch;
extern const struct vg_output_ops vg_output_file;
extern const struct vg_output_ops vg_output_kafka;
extern const struct vg_output_ops vg_output_stdout;
extern const struct vg_notifier_ops vg_notifier_alertmanager;
extern const struct vg_notifier_ops vg_notifier_email;
extern const struct vg_notifier_ops vg_notifier_slack;

/* one plugin per line, sorted: adding one is a one-line change */
// clang-format off
const struct vg_collector_ops *const vg_collector_registry[] = {
    &vg_collector_cgroup,
    &vg_collector_container_logs,
    &vg_collector_generator,
    &vg_collector_gpu_amd,
    &vg_collector_gpu_nvml,
    &vg_collector_kmsg,
    &vg_collector_node,
    &vg_collector_textfile,
    NULL,
};
// clang-format on

// clang-format off
const struct vg_output_ops *const vg_output_registry[] = {
    &vg_output_discard,
    &vg_output_elasticsearch,
    &vg_output_file,
    &vg_output_kafka,
    &vg_output_stdout,
    NULL,
};
// clang-format on

// clang-format off
const struct vg_notifier_ops *const vg_notifier_registry[] = {
    &vg_notifier_alertmanager,
    &vg_notifier_email,
    &vg_notifier_slack,
    NULL,
};
// clang-format on

const struct vg_collector_ops *vg_collector_find(const char *name)
{
    size_t i;

    for (i = 0; vg_collector_registry[i] != NULL; i++)
        if (strcmp(vg_collector_registry[i]->name, name) == 0)
            return vg_collector_registry[i];
    return NULL;
}

const struct vg_output_ops *vg_output_find(const char *name)
{
    size_t i;

    for (i = 0; vg_output_registry[i] != NULL; i++)
        if (strcmp(vg_output_registry[i]->name, name) == 0)
            return vg_output_registry[i];
    return NULL;
}

const struct vg_notifier_ops *vg_notifier_find(const char *name)
{
    size_t i;

    for (i = 0; vg_notifier_registry[i] != NULL; i++)
        if (strcmp(vg_notifier_registry[i]->name, name) == 0)
            return vg_notifier_registry[i];
    return NULL;
}
