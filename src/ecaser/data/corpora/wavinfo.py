"""Durations from WAV headers, shared by the real-corpus loaders.

Only the header is read, so a manifest of thousands of files is built in seconds. Unreadable and empty
files are refused here, with the file named, rather than surfacing later deep inside the segment stage; so are
git-lfs pointer stubs, which a zip download of a corpus kept in git-lfs (CREMA-D) holds instead of audio.
"""

import soundfile as sf

from ...infra.errors import InputError

LFS_POINTER = b"version https://git-lfs"  # how a pointer stub begins: what a zip of an LFS repository holds


def duration(path):
    """Seconds of audio in `path`: header frames / sample rate."""
    try:
        info = sf.info(str(path))
    except sf.LibsndfileError as e:
        with open(path, "rb") as f:
            if f.read(len(LFS_POINTER)) == LFS_POINTER:
                raise InputError(f"{path}: a git-lfs pointer, not audio (fetch the audio with `git lfs pull`)") from None
        raise InputError(f"{path}: cannot read the WAV header ({e.error_string})") from None
    if info.frames == 0:
        raise InputError(f"{path}: the audio is empty (0 frames)")
    return info.frames / info.samplerate
