"""The exceptions a user sees as a single line: bad input, a full disk, an interruption."""

import functools
import signal
import sys


class InputError(ValueError):
    """Bad input data or an invalid param; the message names the file or key and what is wrong.

    Command-line entry points print it as one `error: ...` line and exit non-zero, without a traceback,
    because the fix is in the user's data or params.yaml, not in our code.
    """


class DiskFull(InputError):
    """An output that does not fit: no space left, a quota, a file-size limit. Not bad input, but the same kind of
    answer, one line naming the file, the bytes it needs and those free, because the fix (space) is the user's."""


class Interrupted(BaseException):
    """SIGTERM, SIGINT or SIGHUP, raised wherever the process stands so that every `finally` runs (atomic.py's
    removes the temporary file being written). A BaseException, like KeyboardInterrupt, so that no `except
    Exception` swallows it. SIGKILL runs nothing: atomic.py's next writer of the same output removes what it left."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def interrupt(signum, frame):
    raise Interrupted(signum)


def exit_on_input_error(main):
    """Wrap a command's main(): an InputError becomes one `error: ...` line on stderr and exit status 2; SIGTERM,
    SIGINT and SIGHUP one line saying what was interrupted, and the shell's status for a signal, 128 + its number.

    A file-size limit (`ulimit -f`) sends SIGXFSZ, which would kill the process mid-write like SIGKILL: ignored, the
    write fails with EFBIG instead, which atomic.py reports as a DiskFull.
    """

    @functools.wraps(main)
    def wrapped(*args, **kwargs):
        handlers = {signum: signal.signal(signum, interrupt)
                    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
        handlers[signal.SIGXFSZ] = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        try:
            return main(*args, **kwargs)
        except InputError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)
        except Interrupted as e:
            done = "; ".join(getattr(e, "__notes__", [])) or "no output was being written"
            print(f"error: interrupted by {e} ({' '.join(['python', *sys.orig_argv[1:]])}): {done}", file=sys.stderr)
            sys.exit(128 + e.signum)
        finally:  # as they were: main() may run inside another program (a test)
            for signum, handler in handlers.items():
                signal.signal(signum, handler)

    return wrapped
