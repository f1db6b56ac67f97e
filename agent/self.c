/*
 * self.c - the agent's own process metrics: vigil_build_info and the
 * standard process_* family, read from /proc/self.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core.h"
#include "engine.h"

#ifndef VIGIL_GIT_REVISION
#define VIGIL_GIT_REVISION ""
#endif

/* Reads a small file into buf (NUL-terminated); returns bytes or -1. */
static ssize_t self_read_file(const char *path, char *buf, size_t cap)
{
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return n;
}

static double self_boot_time(void)
{
    static double btime;
    char buf[8192];
    const char *p;

    if (btime > 0)
        return btime;
    if (self_read_file("/proc/stat", buf, sizeof(buf)) < 0)
        return 0;
    p = strstr(buf, "\nbtime ");
    if (p != NULL)
        btime = strtod(p + 7, NULL);
    return btime;
}

/* Fields 14, 15 (utime, stime) and 22 (starttime) of /proc/self/stat, in
 * clock ticks; the command name may hold spaces, so parse after its ')'. */
static int self_stat(double *cpu_seconds, double *start_seconds)
{
    char buf[1024];
    const char *p;
    unsigned long long utime = 0, stime = 0, start = 0;
    long tck = sysconf(_SC_CLK_TCK);
    int field;

    if (self_read_file("/proc/self/stat", buf, sizeof(buf)) < 0 || tck <= 0)
        return VG_EIO;
    p = strrchr(buf, ')');
    if (p == NULL)
        return VG_EPARSE;
    for (field = 2; *p != '\0' && field < 22; p++) {
        if (*p != ' ')
            continue;
        field++;
        if (field == 14)
            utime = strtoull(p + 1, NULL, 10);
        else if (field == 15)
            stime = strtoull(p + 1, NULL, 10);
        else if (field == 22)
            start = strtoull(p + 1, NULL, 10);
    }
    *cpu_seconds = (double)(utime + stime) / (double)tck;
    *start_seconds = self_boot_time() + (double)start / (double)tck;
    return VG_OK;
}

static double self_rss_bytes(void)
{
    char buf[256];
    unsigned long long size = 0, resident = 0;

    if (self_read_file("/proc/self/statm", buf, sizeof(buf)) < 0)
        return 0;
    if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
        return 0;
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

static double self_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    double n = 0;

    if (d == NULL)
        return 0;
    for (de = readdir(d); de != NULL; de = readdir(d))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the descriptor opendir itself holds */
}

void vg_self_collect(struct vg_emit *e)
{
    double cpu = 0, start = 0;
    struct rlimit rl;

    vg_emit_gauge(e, "vigil_build_info",
                  "A metric with a constant '1' value labeled by version and revision of vigil.", 1,
                  "version", VIGIL_VERSION, "revision", VIGIL_GIT_REVISION, NULL);
    if (self_stat(&cpu, &start) == VG_OK) {
        vg_emit_counter(e, "process_cpu_seconds_total",
                        "Total user and system CPU time spent in seconds.", cpu, NULL);
        vg_emit_gauge(e, "process_start_time_seconds",
                      "Start time of the process since unix epoch in seconds.", start, NULL);
    }
    vg_emit_gauge(e, "process_resident_memory_bytes", "Resident memory size in bytes.",
                  self_rss_bytes(), NULL);
    vg_emit_gauge(e, "process_open_fds", "Number of open file descriptors.", self_open_fds(), NULL);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        vg_emit_gauge(e, "process_max_fds", "Maximum number of open file descriptors.",
                      (double)rl.rlim_cur, NULL);
}
