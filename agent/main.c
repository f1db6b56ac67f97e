/*
 * main.c - the command line.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"

#define MAIN_DEFAULT_CONFIG "/etc/vigil/vigil.yaml"

/*
 * Runs before anything else of the process: from .preinit_array, the
 * dynamic loader calls it ahead of every shared library's constructor and
 * of main. Until the engine reads signals through its signalfd, a SIGHUP
 * (logrotate's; by default it terminates) has to wait blocked and SIGPIPE
 * be ignored, or one arriving in the first milliseconds after exec kills
 * the agent. Every thread inherits both. vg_engine_block_signals adds
 * SIGTERM and SIGINT later, only when the agent runs, so that Ctrl-C still
 * stops a --check-config.
 */
static void main_early_signals(int argc, char **argv, char **envp)
{
    sigset_t set;

    (void)argc;
    (void)argv;
    (void)envp;
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
}

__attribute__((section(".preinit_array"),
               used)) static void (*const main_preinit)(int, char **, char **) = main_early_signals;

static void main_usage(FILE *f)
{
    fprintf(f,
            "Usage: vigil [OPTION]...\n"
            "A per-node monitoring and log-aggregation agent.\n"
            "\n"
            "  -c, --config FILE        run with this configuration (default: " MAIN_DEFAULT_CONFIG
            ",\n"
            "                           else the embedded default configuration)\n"
            "      --check-config FILE  validate FILE, print every error, exit non-zero on any\n"
            "      --list-options       print every plugin's options with type, default and doc\n"
            "      --print-default-config  print the embedded default configuration\n"
            "  -V, --version            print the version\n"
            "  -h, --help               print this help\n");
}

/* The file to run on: path, else the default file when there is one, else
 * NULL (the embedded default configuration). */
static const char *main_resolve(const char *path)
{
    if (path == NULL && access(MAIN_DEFAULT_CONFIG, F_OK) == 0)
        return MAIN_DEFAULT_CONFIG;
    return path;
}

/* Loads the config of path (NULL: the embedded one) and builds its plan;
 * errors and warnings are left in errs. Returns VG_OK or VG_ECONFIG. */
static int main_build(const char *path, struct vg_config **cfg, struct vg_plan *plan,
                      struct vg_errors *errs)
{
    int rc;

    if (path != NULL)
        rc = vg_config_load_file(path, cfg, errs);
    else
        rc = vg_config_load_string(vg_default_config, vg_default_config_len,
                                   "<embedded default config>", cfg, errs);
    if (*cfg != NULL && vg_plan_build(*cfg, plan, errs) != VG_OK)
        rc = VG_ECONFIG;
    return errs->n > 0 ? VG_ECONFIG : rc;
}

/* Loads a config from path, or the default one when path is NULL, and
 * builds its plan. Prints every error; the warnings are left in errs for
 * the caller. Returns VG_OK or VG_ECONFIG. */
static int main_load(const char *path, struct vg_config **cfg, struct vg_plan *plan,
                     struct vg_errors *errs)
{
    int rc;

    path = main_resolve(path);
    rc = main_build(path, cfg, plan, errs);
    if (errs->n > 0) {
        vg_errors_print_warnings(errs, stderr);
        vg_errors_print(errs, stderr);
        fprintf(stderr, "vigil: %zu error%s in %s\n", errs->n, errs->n == 1 ? "" : "s",
                path ? path : "the embedded default config");
    }
    return rc;
}

static const char *main_plural(size_t n)
{
    return n == 1 ? "" : "s";
}

static int main_check(const char *path)
{
    struct vg_config *cfg = NULL;
    struct vg_errors errs;
    struct vg_plan plan;
    int rc;

    memset(&plan, 0, sizeof(plan));
    vg_errors_init(&errs);
    rc = main_load(path, &cfg, &plan, &errs);
    if (rc == VG_OK) {
        vg_errors_print_warnings(&errs, stderr);
        printf("%s: configuration is valid (%zu collector%s, %zu output%s", path, plan.n_collectors,
               main_plural(plan.n_collectors), plan.n_outputs, main_plural(plan.n_outputs));
        if (errs.n_warns > 0)
            printf("; %zu warning%s", errs.n_warns, main_plural(errs.n_warns));
        printf(")\n");
    }
    vg_errors_free(&errs);
    vg_plan_free(&plan);
    vg_config_free(cfg);
    return rc == VG_OK ? 0 : 1;
}

/* The file a reload reads: the one the agent started on (NULL: the
 * embedded default, read again as well). */
static char main_reload_file[4096];
static const char *main_reload_path;

/* The engine's reloader: the same loader as at start, its errors and
 * warnings logged instead of printed. */
static int main_reload_load(void *arg, struct vg_plan *plan, void **cfgp,
                            const struct vg_config_node **root)
{
    struct vg_config *cfg = NULL;
    struct vg_errors errs;
    const char *what = main_reload_path != NULL ? main_reload_path : "the embedded default config";
    size_t i;
    int rc;

    (void)arg;
    vg_errors_init(&errs);
    rc = main_build(main_reload_path, &cfg, plan, &errs);
    for (i = 0; i < errs.n_warns; i++)
        vg_log(VG_LOG_WARN, "agent", "config", "%s", errs.warns[i]);
    for (i = 0; i < errs.n; i++)
        vg_log(VG_LOG_ERROR, "agent", "config", "%s", errs.msgs[i]);
    if (rc != VG_OK) {
        vg_log(VG_LOG_ERROR, "agent", "config",
               "reload refused: %zu error%s in %s; the running configuration stays", errs.n,
               errs.n == 1 ? "" : "s", what);
        vg_plan_free(plan);
        vg_config_free(cfg);
        vg_errors_free(&errs);
        return VG_ECONFIG;
    }
    vg_errors_free(&errs);
    *cfgp = cfg;
    *root = cfg->root;
    return VG_OK;
}

static void main_reload_free_plan(void *arg, struct vg_plan *plan)
{
    (void)arg;
    vg_plan_free(plan);
}

static void main_reload_free_cfg(void *arg, void *cfg)
{
    (void)arg;
    vg_config_free(cfg);
}

static int main_run(const char *path)
{
    struct vg_config *cfg = NULL;
    struct vg_engine *engine = NULL;
    struct vg_error err = {0};
    struct vg_plan plan;
    enum vg_log_level level = VG_LOG_INFO;
    struct vg_errors errs;
    const struct vg_engine_reloader reloader = {main_reload_load, main_reload_free_plan,
                                                main_reload_free_cfg, NULL};
    size_t i;
    int rc;

    memset(&plan, 0, sizeof(plan));
    vg_errors_init(&errs);
    if (vg_engine_block_signals() != VG_OK) {
        fprintf(stderr, "vigil: cannot set up signal handling\n");
        return 1;
    }
    rc = main_load(path, &cfg, &plan, &errs);
    if (rc != VG_OK)
        goto out;
    vg_log_level_parse(plan.agent.log_level, &level);
    vg_log_setup(level, strcmp(plan.agent.log_format, "json") == 0);
    vg_log(VG_LOG_INFO, "agent", "main", "configuration: %s",
           cfg->file != NULL ? cfg->file : "embedded default");
    for (i = 0; i < errs.n_warns; i++)
        vg_log(VG_LOG_WARN, "agent", "config", "%s", errs.warns[i]);
    rc = vg_engine_create(&plan, &engine, &err);
    if (rc != VG_OK) {
        vg_log(VG_LOG_ERROR, "agent", "main", "cannot start: %s", err.msg);
        goto out;
    }
    path = main_resolve(path);
    if (path != NULL) {
        snprintf(main_reload_file, sizeof(main_reload_file), "%s", path);
        main_reload_path = main_reload_file;
    }
    vg_engine_set_reloader(engine, &reloader, cfg, cfg->root);
    cfg = NULL; /* the engine's now, with the plan's contents */
    rc = vg_engine_run(engine);
out:
    vg_errors_free(&errs);
    vg_engine_destroy(engine);
    vg_plan_free(&plan);
    vg_config_free(cfg);
    if (rc < 0)
        return 1;
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", required_argument, NULL, 'k'},
        {"list-options", no_argument, NULL, 'l'},
        {"print-default-config", no_argument, NULL, 'p'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    int opt;

    for (opt = getopt_long(argc, argv, "c:Vh", longopts, NULL); opt != -1;
         opt = getopt_long(argc, argv, "c:Vh", longopts, NULL)) {
        switch (opt) {
        case 'c':
            config = optarg;
            break;
        case 'k':
            return main_check(optarg);
        case 'l':
            vg_plan_list_options(stdout);
            return 0;
        case 'p':
            fwrite(vg_default_config, 1, vg_default_config_len, stdout);
            return 0;
        case 'V':
            printf("vigil %s\n", VIGIL_VERSION);
            return 0;
        case 'h':
            main_usage(stdout);
            return 0;
        default:
            main_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vigil: unexpected argument '%s'\n", argv[optind]);
        main_usage(stderr);
        return 2;
    }
    return main_run(config);
}
