"""Embedded synthetic stand-ins for EMODB and IEMOCAP, so the whole pipeline runs without the real corpora.

Each clip is crude but speech-like: a Rosenberg glottal source with an F0 contour, jitter and shimmer, pulsed
aspiration noise, a formant filter that glides between vowels, syllables with consonant bursts and pauses.
Emotions differ in the *distribution* of prosody and voice quality, with overlap between classes and between
speakers, so a classifier can learn them but not perfectly. Cues live both in fine frequency detail (F0,
harmonics, jitter) and in fine time detail (onsets, syllable rhythm, glottal closure), so that short and long
STFT windows see different things, which is what the paper's eight dataset versions are about.
"""

import hashlib
import string
from collections import namedtuple

import numpy as np
import pandas as pd
from scipy.ndimage import uniform_filter1d
from scipy.signal import sosfilt

from ...infra.errors import InputError
from . import emodb, iemocap

SAMPLE_RATE = 16000
MIN_PER_CLASS = 6  # 5-fold stratified CV needs at least one test clip per class and fold

Traits = namedtuple("Traits", "f0 range jitter shimmer tempo level closure breath attack")
# Class means; each utterance scatters around them (Corpus.variability). f0: multiple of the speaker's F0;
# range: s.d. of syllable accents (semitones); jitter, shimmer: s.d. per glottal period (fraction); tempo:
# syllables/s; level: peak amplitude; closure: closing phase as a fraction of the period (small = abrupt
# closure, flat spectral tilt, pressed voice); breath: aspiration noise relative to the voiced source;
# attack: syllable onset time constant (s). Anger/happiness and boredom/sadness/neutral are close on purpose.
CLASS_TRAITS = {
    #                     f0  range  jitter  shimmer  tempo  level  closure  breath  attack
    "anger":     Traits(1.40,   3.5,  0.015,    0.08,   5.0,  0.88,    0.07,   0.04,  0.005),
    "boredom":   Traits(0.92,   1.2,  0.008,    0.05,   3.5,  0.42,    0.20,   0.08,  0.030),
    "fear":      Traits(1.45,   3.0,  0.025,    0.10,   5.6,  0.55,    0.15,   0.14,  0.012),
    "happiness": Traits(1.30,   6.0,  0.008,    0.06,   4.6,  0.65,    0.13,   0.06,  0.012),
    "sadness":   Traits(0.95,   1.8,  0.022,    0.09,   3.0,  0.30,    0.28,   0.20,  0.040),
    "disgust":   Traits(0.95,   3.5,  0.020,    0.10,   3.2,  0.50,    0.12,   0.10,  0.020),
    "neutral":   Traits(1.00,   2.0,  0.006,    0.04,   4.3,  0.50,    0.17,   0.05,  0.018),
}
IEMOCAP_AS = {"angry": "anger", "sad": "sadness", "happy": "happiness", "neutral": "neutral"}

# Durations are lognormal (mean mean_s, log-s.d. spread_s) clipped to clip_s, like the real corpora;
# variability is the log-s.d. of each utterance's traits around its class mean: how much classes overlap.
Corpus = namedtuple("Corpus", "counts speakers genders mean_s spread_s clip_s variability")
CORPORA = {
    "emodb": Corpus(
        counts=dict(zip(emodb.CLASSES, (127, 81, 69, 71, 62, 46, 79))),
        speakers=("03", "08", "09", "10", "11", "12", "13", "14", "15", "16"),
        genders=("m", "f", "f", "m", "m", "m", "f", "f", "m", "f"),
        mean_s=2.7, spread_s=0.38, clip_s=(1.2, 9.0),
        variability=0.16,  # acted speech: prototypical, well separated
    ),
    "iemocap": Corpus(
        counts=dict(zip(iemocap.CLASSES, (289, 608, 947, 1099))),
        speakers=tuple(f"Ses0{s}{g}" for s in range(1, 6) for g in "FM"),
        genders=("f", "m") * 5,
        mean_s=4.5, spread_s=0.6, clip_s=(1.0, 20.0),
        variability=0.32,  # improvised speech: subtler, more overlap
    ),
}
EMODB_LETTER = {"anger": "W", "boredom": "L", "disgust": "E", "fear": "A", "happiness": "F", "sadness": "T",
                "neutral": "N"}
EMODB_TEXTS = ("a01", "a02", "a04", "a05", "a07", "b01", "b02", "b03", "b09", "b10")
# Male-speaker F1..F4 (Hz) of five vowels; a speaker's vocal-tract length scales them all.
VOWELS = np.array([[730, 1090, 2440, 3400], [530, 1840, 2480, 3500], [270, 2290, 3010, 3600],
                   [570, 840, 2410, 3300], [300, 870, 2240, 3300]], dtype=float)
BANDWIDTHS = np.array([80.0, 100.0, 140.0, 200.0])


def _corpus(kind):
    if kind not in CORPORA:
        raise InputError(f"unknown synthetic corpus kind {kind!r} (expected one of: {', '.join(CORPORA)})")
    return CORPORA[kind]


def _rng(seed, *keys):
    """A generator that depends only on the seed and the given names: no state shared between clips."""
    if int(seed) < 0:
        raise InputError(f"synthetic corpus seed must be >= 0, got {seed}")
    words = [int.from_bytes(hashlib.blake2b(k.encode(), digest_size=8).digest(), "little") for k in keys]
    return np.random.default_rng([int(seed), *words])


def manifest(kind, seed, size):
    """Class counts as in the real corpus (scaled by size), speakers balanced, durations right-skewed."""
    spec = _corpus(kind)
    if not size > 0:
        raise InputError(f"synthetic corpus size must be > 0, got {size}")
    rng = _rng(seed, "manifest", kind)
    parts = []
    for label, count in spec.counts.items():
        n = max(MIN_PER_CLASS, round(count * size))
        who = np.resize(rng.permutation(len(spec.speakers)), n)
        # Slow classes speak longer, as in the real corpora; the lognormal gives the long right tail.
        slowness = np.mean([t.tempo for t in CLASS_TRAITS.values()]) / _traits(kind, label).tempo
        mu = np.log(spec.mean_s * slowness**0.7) - spec.spread_s**2 / 2
        parts.append(pd.DataFrame({
            "speaker": np.array(spec.speakers)[who], "gender": np.array(spec.genders)[who], "label": label,
            "duration_s": rng.lognormal(mu, spec.spread_s, n).clip(*spec.clip_s).round(3),
        }))
    rows = pd.concat(parts, ignore_index=True)
    # ids number each speaker's utterances within what the real name encodes, so they are unique.
    if kind == "emodb":
        k = rows.groupby(["speaker", "label"]).cumcount().to_numpy()
        rows["id"] = [f"{s}{EMODB_TEXTS[j % 10]}{EMODB_LETTER[lab]}{_version(j // 10)}"
                      for s, lab, j in zip(rows.speaker, rows.label, k)]
        rows["session"] = ""
        rows["text"] = [EMODB_TEXTS[j % 10] for j in k]  # the text code in the id, as emodb.py reads it
    else:  # a dialog is named after its session and the gender of the speaker who opens it
        rows["session"] = rows.speaker.str[:5]
        rows["dialog"] = [f"{s}{o}_impro{d:02d}" for s, o, d in
                          zip(rows.session, rng.choice(["F", "M"], len(rows)), rng.integers(1, 9, len(rows)))]
        rows["text"] = rows.dialog.str.split("_").str[1]  # the scenario, as iemocap.py reads it: impro01..impro08
        k = rows.groupby(["dialog", "gender"]).cumcount().to_numpy()
        rows["id"] = [f"{d}_{g.upper()}{j:03d}" for d, g, j in zip(rows.dialog, rows.gender, k)]
    rows["source"] = rows["id"]
    return rows[["id", "speaker", "gender", "session", "text", "label", "source", "duration_s"]].astype(
        {c: str for c in ("id", "speaker", "gender", "session", "text", "label", "source")})


def _version(j):
    """EMODB's version letter a, b, ...; doubled (aa, bb, ...) past z so that large sizes stay unique."""
    return string.ascii_lowercase[j % 26] * (j // 26 + 1)


def _traits(kind, label):
    return CLASS_TRAITS[IEMOCAP_AS.get(label, label) if kind == "iemocap" else label]


def _speaker(seed, speaker, gender):
    """F0 (Hz), vocal-tract scale of formants, and a personal tempo: fixed per speaker across all clips."""
    rng = _rng(seed, "speaker", speaker)
    f0 = rng.normal(210, 20) if gender == "f" else rng.normal(115, 12)
    vtl = rng.normal(1.17 if gender == "f" else 1.0, 0.04)
    return f0, vtl, rng.normal(1.0, 0.08)


def render(kind, seed, row):
    """One clip, from its own generator: any row can be rendered alone, in any order."""
    spec = _corpus(kind)
    rng = _rng(seed, "render", kind, row.id)
    n = round(row.duration_s * SAMPLE_RATE)
    spk_f0, vtl, spk_tempo = _speaker(seed, row.speaker, row.gender)
    # Every trait of this utterance scatters around its class mean, so classes overlap.
    t = Traits(*(np.array(_traits(kind, row.label)) * np.exp(rng.normal(0, spec.variability, 9))).tolist())
    kinds, syl, tin, seglen, n_syl = _timeline(rng, n, t.tempo * spk_tempo)
    flow = _glottal_flow(rng, t, spk_f0, syl, n_syl)

    # Syllable envelopes: voiced nuclei with a class-dependent attack, consonants as noise bursts.
    stress = rng.lognormal(0, 0.3, n_syl).astype(np.float32)[syl]
    voiced = (kinds == 2) * stress * (1 - np.exp(-tin / t.attack)) * (1 - np.exp((tin - seglen) / 0.015))
    release = tin - (seglen - 0.012)  # a plosive's burst comes 12 ms before its vowel, a fricative hisses
    burst = (release > 0) * np.exp(-np.maximum(release, 0) / 0.004)
    plosive = (rng.random(n_syl) < 0.5)[syl]
    consonant = (kinds == 1) * stress * np.where(plosive, burst, np.sin(np.pi * tin / seglen) ** 2)
    breath_in = ((kinds == 0) & (seglen > 0.15)) * np.sin(np.pi * tin / seglen)

    # One white noise serves aspiration, consonants and breaths: they never sound at the same time.
    noise = rng.standard_normal(n, dtype=np.float32)
    hiss = np.diff(noise, prepend=np.float32(0))  # frication: white noise tilted up, +6 dB/octave
    source = np.diff(flow, prepend=np.float32(0))  # lip radiation differentiates the flow
    excitation = (source / np.std(source) + 3 * t.breath * (0.3 + flow) * noise) * voiced

    # Vocal tract: a filter per vowel (three vowels per utterance, for speed), cross-faded so formants glide.
    vowels = rng.choice(len(VOWELS), 3, replace=False)[rng.integers(0, 3, n_syl)]
    speech = np.zeros(n, np.float32)
    for v in np.unique(vowels):
        weight = _smooth((vowels == v)[syl].astype(np.float32), 0.04)
        speech += weight * sosfilt(_formant_sos(VOWELS[v] * vtl * rng.normal(1, 0.03)), excitation)
    speech = speech / np.std(speech) + (0.2 * consonant + 0.5 * t.breath * breath_in) * hiss + 1e-3 * noise
    return (speech * min(t.level, 0.9) / np.max(np.abs(speech))).astype(np.float32)


def _glottal_flow(rng, t, spk_f0, syl, n_syl, step=16):
    """Rosenberg pulses along an F0 contour: per-syllable accents and declination, jitter and shimmer per period.

    The contour is built at one value per `step` samples (1 ms): F0 moves slowly, and this is the costly part.
    """
    n, ctrl = len(syl), syl[::step]
    accents = rng.normal(0, t.range, n_syl)[ctrl] - 2.0 * np.arange(len(ctrl)) / len(ctrl)
    f0 = spk_f0 * t.f0 * 2 ** (_smooth(_smooth(accents, 0.5 / t.tempo, step), 0.05, step) / 12)
    periods = (np.cumsum(f0) * step / SAMPLE_RATE).astype(int)
    f0 *= 1 + t.jitter * rng.normal(0, 1, periods[-1] + 1)[periods]
    phase = np.cumsum(np.repeat(f0 / SAMPLE_RATE, step)[:n])
    period = phase.astype(int)
    shimmer = 1 + t.shimmer * rng.normal(0, 1, period[-1] + 1).astype(np.float32)
    return _rosenberg(min(t.closure, 0.35))[((phase - period) * 1024).astype(int)] * shimmer[period]


def _timeline(rng, n, tempo):
    """Segments: lead silence, then per syllable (consonant, vowel, maybe a pause), then trailing silence.

    Returns per sample: segment kind (0 silence, 1 consonant, 2 vowel), syllable index, time into the segment
    and the segment's length (seconds); and the number of syllables.
    """
    m = int(n / SAMPLE_RATE * tempo * 2) + 4
    syllable = rng.gamma(6.0, 1 / (6.0 * tempo), m)
    cons = syllable * rng.uniform(0.2, 0.4, m)
    pause = np.where(rng.random(m) < 0.15, rng.uniform(0.1, 0.35, m), 0)
    lead, tail = rng.uniform(0.05, 0.2, 2)
    # As many syllables as fit best, stretched a little to fill the clip exactly.
    speaking, ends = n / SAMPLE_RATE - lead - tail, np.cumsum(syllable + pause)
    k = int(np.argmin(np.abs(ends - speaking))) + 1
    parts = np.column_stack([cons, syllable - cons, pause])[:k] * speaking / ends[k - 1]
    lens = np.concatenate([[lead], parts.ravel()])
    bounds = np.minimum(np.round(np.cumsum(lens) * SAMPLE_RATE), n).astype(int)
    lens = np.diff(np.concatenate([[0], bounds, [n]]))
    kinds = np.concatenate([[0], np.tile([1, 2, 0], k), [0]])
    syls = np.concatenate([[0], np.repeat(np.arange(k), 3), [k - 1]])
    start, seconds = (np.cumsum(lens) - lens).astype(np.float32), lens.astype(np.float32)
    tin = (np.arange(n, dtype=np.float32) - np.repeat(start, lens)) / SAMPLE_RATE
    return np.repeat(kinds, lens), np.repeat(syls, lens), tin, np.repeat(seconds, lens) / SAMPLE_RATE, k


def _rosenberg(closure, size=1024):
    """One period of glottal flow (a table over phase): a cosine opening, then a closing of `closure`."""
    p, rise = np.arange(size) / size, 0.3 + closure
    flow = np.where(p < rise, 0.5 * (1 - np.cos(np.pi * p / rise)),
                    np.where(p < rise + closure, np.cos(0.5 * np.pi * (p - rise) / closure), 0.0))
    return flow.astype(np.float32)


def _formant_sos(freqs):
    """Cascade of two-pole resonators with unit gain at DC, one per formant."""
    r = np.exp(-np.pi * BANDWIDTHS / SAMPLE_RATE)
    a1, a2 = -2 * r * np.cos(2 * np.pi * freqs / SAMPLE_RATE), r**2
    one = np.ones_like(r)
    return np.column_stack([1 + a1 + a2, 0 * one, 0 * one, one, a1, a2]).astype(np.float32)


def _smooth(x, seconds, step=1):
    """Moving average over `seconds` of a signal with one value per `step` samples."""
    return uniform_filter1d(x, max(1, round(seconds * SAMPLE_RATE / step)), mode="nearest")
