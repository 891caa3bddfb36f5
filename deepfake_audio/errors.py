"""The one exception type users see: bad input or configuration, reported without a traceback."""


class InputError(Exception):
    """Bad input (params, corpus, audio, model file). The message names the file or key."""


def run_stage(main) -> None:
    """Run a stage's ``main``; bad input ends it with the message alone and exit code 1."""
    import sys

    try:
        main()
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
