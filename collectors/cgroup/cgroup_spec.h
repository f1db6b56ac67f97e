/*
 * cgroup_spec.h - the limits of each cgroup (CPU quota and period, memory
 * limit, most threads), kept between collections so that their files are
 * read when a cgroup is new and then once every CGROUP_SPEC_EVERY
 * collections rather than every time: cAdvisor too reads a container's spec
 * once, and three to four files of thirteen per cgroup are a quarter of a
 * collection's system calls.
 *
 * Engine thread only (the collector's own): no lock.
 */
#ifndef CGROUP_SPEC_H
#define CGROUP_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CGROUP_SPEC_EVERY 10
#define CGROUP_SPEC_N     4

/* What was read of one cgroup's limits: v[i] is valid when bit i of have is set. */
struct cgroup_spec {
    uint32_t have;
    double v[CGROUP_SPEC_N];
};

struct cgroup_spec_cache;

struct cgroup_spec_cache *cgroup_spec_cache_create(void);
void cgroup_spec_cache_destroy(struct cgroup_spec_cache *c);

/*
 * The entry of the cgroup at path rel in collection gen, added (empty)
 * when new. *stale is true when its files are to be read now: a new entry,
 * or its turn, which comes every CGROUP_SPEC_EVERY collections at a
 * different collection for each cgroup so that the reads are spread. NULL
 * when out of memory (then read every time).
 */
struct cgroup_spec *cgroup_spec_get(struct cgroup_spec_cache *c, const char *rel, uint64_t gen,
                                    bool *stale);

/* Forgets the cgroups not got in collection gen (they went away). */
void cgroup_spec_sweep(struct cgroup_spec_cache *c, uint64_t gen);

/* Entries held (tests). */
size_t cgroup_spec_count(const struct cgroup_spec_cache *c);

#endif
