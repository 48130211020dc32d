"""The one exception a user sees as a single line."""


class InputError(ValueError):
    """Bad input data or an invalid param; the message names the file or key and what is wrong.

    Command-line entry points print it as one `error: ...` line and exit non-zero, without a traceback,
    because the fix is in the user's data or params.yaml, not in our code.
    """


def exit_on_input_error(main):
    """Wrap a command's main(): an InputError becomes one `error: ...` line on stderr and exit status 2."""
    import functools
    import sys

    @functools.wraps(main)
    def wrapped(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except InputError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)

    return wrapped
