"""The compile stage's audio: the narration plus an optional generated music bed.

The narration WAV arrives already loudness-normalised (see pipeline.loudness), so the graph
only resamples it; the bed is made by ffmpeg source filters: no downloads, no files.
"""

from __future__ import annotations

import random

MUSIC_GAIN_DB = -27.0
"""Level of the generated bed; its tones sit ~-13 LUFS raw, so speech (-16 LUFS) stays on top."""
CHORDS = ((220.0, 261.63, 329.63), (196.0, 246.94, 293.66), (174.61, 220.0, 261.63))
"""A minor, G major, F major: calm, unobtrusive triads picked by seed."""


def _music_graph(duration: float, seed: int) -> list[str]:
    """A soft triad with slow tremolo over lowpassed pink noise, faded in and out."""
    chord = CHORDS[random.Random(f"compile-music:{seed}").randrange(len(CHORDS))]
    d = f"{duration + 0.5:.3f}"
    fade_out = max(0.0, duration - 3.0)
    parts = [f"sine=f={f}:d={d}:r=48000[m{i}]" for i, f in enumerate(chord)]
    parts.append(f"anoisesrc=c=pink:a=0.25:d={d}:r=48000:s={seed % 100000},lowpass=f=500[mn]")
    parts.append(
        "[m0][m1][m2][mn]amix=inputs=4:normalize=0,tremolo=f=0.15:d=0.5,"
        f"volume={MUSIC_GAIN_DB}dB,afade=t=in:d=2.5,afade=t=out:st={fade_out:.3f}:d=3,"
        "aformat=sample_fmts=fltp:channel_layouts=stereo[bed]"
    )
    return parts


def audio_graph(voice_input: int, duration: float, music: bool, seed: int) -> list[str]:
    """The (pre-normalised) narration at 48 kHz stereo, with the optional music bed under it."""
    voice = f"[{voice_input}:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo"
    if not music:
        return [f"{voice}[aout]"]
    return [
        f"{voice}[voice]",
        *_music_graph(duration, seed),
        "[voice][bed]amix=inputs=2:duration=first:normalize=0[aout]",
    ]
