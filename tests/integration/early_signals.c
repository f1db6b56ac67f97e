/*
 * early_signals.c - a library for LD_PRELOAD that sends the process
 * SIGHUP and SIGPIPE from its constructor: the earliest moment at which
 * library code runs after exec, before main and before the constructors
 * of the agent's own libraries (gnutls, curl, ...). The agent must
 * survive both (tests/integration/test_startup_signals.py).
 */
#include <signal.h>

__attribute__((constructor)) static void early_signals(void)
{
    raise(SIGHUP);
    raise(SIGPIPE);
}
