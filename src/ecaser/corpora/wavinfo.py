"""Durations from WAV headers, shared by the real-corpus loaders.

Only the header is read, so a manifest of thousands of files is built in seconds. Unreadable and empty
files are refused here, with the file named, rather than surfacing later deep inside the segment stage.
"""

import soundfile as sf

from ..errors import InputError


def duration(path):
    """Seconds of audio in `path`: header frames / sample rate."""
    try:
        info = sf.info(str(path))
    except sf.LibsndfileError as e:
        raise InputError(f"{path}: cannot read the WAV header ({e.error_string})") from None
    if info.frames == 0:
        raise InputError(f"{path}: the audio is empty (0 frames)")
    return info.frames / info.samplerate
