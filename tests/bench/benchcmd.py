"""What the collector benchmark scripts share: running a *_bench program
that prints one line of key=value pairs."""

import subprocess


def run_bench(argv, timeout=300):
    """(argv, {key: value} or None, why not) of one run of argv."""
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except OSError as e:
        return argv, None, str(e)
    if p.returncode != 0:
        return argv, None, p.stderr.strip()
    return argv, dict(kv.split("=", 1) for kv in p.stdout.split()), ""
