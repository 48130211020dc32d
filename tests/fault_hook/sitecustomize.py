"""Faults for tests/test_faults.py, put into a stage's process (`python stages/...`, `python -m ecaser`) through
PYTHONPATH, since Python imports sitecustomize at start-up; dvc's own processes are left alone.
ECASER_TEST_FAULT says which:

    fsize:BYTES      a file-size limit (RLIMIT_FSIZE, `ulimit -f`) of BYTES: a longer file fails to write (EFBIG),
                     the stand-in for a full disk where no small file system can be mounted
    pause:GLOB:N     at the N-th rename of a temporary file whose name matches GLOB (the write is complete but the
                     output not yet there), write the process id to ECASER_TEST_PAUSED and sleep, so that the test
                     signals a process that stands mid-write
"""

import fnmatch
import os
import resource
import sys
import time

FAULT = os.environ.get("ECASER_TEST_FAULT", "")
STAGE = "".join(sys.orig_argv[1:2]).startswith("stages/") or sys.orig_argv[1:3] == ["-m", "ecaser"]


def pause(pattern, count):
    seen = 0

    def hook(event, args):
        nonlocal seen
        if event == "os.rename" and fnmatch.fnmatch(os.path.basename(os.fspath(args[0])), pattern):
            seen += 1
            if seen == count:
                with open(os.environ["ECASER_TEST_PAUSED"] + ".part", "w") as file:
                    file.write(str(os.getpid()))
                os.rename(file.name, os.environ["ECASER_TEST_PAUSED"])
                time.sleep(60)

    sys.addaudithook(hook)


if FAULT and STAGE:
    kind, _, arg = FAULT.partition(":")
    if kind == "fsize":
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(arg), resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    elif kind == "pause":
        pattern, _, count = arg.rpartition(":")
        pause(pattern, int(count))
