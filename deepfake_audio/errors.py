"""The one exception type users see: bad input or configuration, reported without a traceback."""


class InputError(Exception):
    """Bad input (params, corpus, audio, model file). The message names the file or key."""


def run_stage(main) -> None:
    """Run a stage's ``main``; bad input ends it with the message alone and exit code 1.

    A stage that ends well says how long it took and its peak memory, so that a log of
    ``dvc repro`` shows where the time and the memory went.
    """
    import os
    import sys
    import time

    started = time.monotonic()
    try:
        main()
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    stage = "@".join([os.path.splitext(os.path.basename(sys.argv[0]))[0], *sys.argv[1:]])
    print(
        f"{stage}: done in {time.monotonic() - started:.1f} s, peak memory {_peak_mib():.0f} MiB",
        file=sys.stderr,
    )


def _peak_mib() -> float:
    """The largest resident size of this process or of any worker it waited for, in MiB."""
    import resource

    usage = (resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return max(usage) / 1024  # Linux reports KiB


def stage_model(models) -> str:
    """The model a per-model stage (``evaluate@svc`` runs ``stages/evaluate.py svc``) is run for:
    its one argument, which must be one of ``models``."""
    import os
    import sys

    if len(sys.argv) != 2 or sys.argv[1] not in models:
        given = repr(sys.argv[1]) if len(sys.argv) > 1 else "none"
        raise InputError(
            f"{os.path.basename(sys.argv[0])}: expected one model argument, one of {', '.join(models)} (got {given})"
        )
    return sys.argv[1]
