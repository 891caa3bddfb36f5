"""The one exception type users see: bad input or configuration, reported without a traceback."""


class InputError(Exception):
    """Bad input (params, corpus, audio, model file). The message names the file or key."""


def run_stage(main) -> None:
    """Run a stage's ``main``; bad input ends it with the message alone and exit code 1.

    A stage that ends well says how long it took, so that a log of ``dvc repro`` shows where the
    time went.
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
    stage = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    print(f"{'@'.join([stage, *sys.argv[1:]])}: done in {time.monotonic() - started:.1f} s", file=sys.stderr)


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
