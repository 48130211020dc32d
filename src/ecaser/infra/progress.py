"""Progress bars, one policy for all: on a terminal only (quiet in CI logs and DVC's captured output), and off
everywhere with TQDM_DISABLE=1. tqdm reads that variable only as the default of `disable`, which an explicit
disable=None (tqdm's "off where not a terminal") would override, so the two are combined here."""

import os

from tqdm import tqdm


def bar(iterable=None, **kwargs):
    return tqdm(iterable, disable=True if os.environ.get("TQDM_DISABLE") else None, **kwargs)
