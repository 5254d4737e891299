"""The compile stage's audio: the narration with a music bed under it that ducks for speech.

The narration WAV arrives already loudness-normalised (see pipeline.loudness), so the graph
only resamples it. The bed is a generated mood (pipeline.music) or an uploaded track, looped
or trimmed to the video and brought to the same level as the moods (one measurement of what
will play), then moved by the request's volume. A sidechain compressor keyed by the narration
dips it while someone speaks and lets it back up in the pauses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from sora_app.pipeline import loudness
from sora_app.pipeline.music import BED_LUFS, FADE_OUT, RATE, VOLUME_DB, bed_graph
from sora_app.pipeline.types import CompileOptions, StageError

DUCK = (
    "sidechaincompress=threshold=0.003:ratio=20:knee=6:attack=30:release=500"
    ":detection=rms:link=maximum:mix=0.62"
)
"""The ducker. Speech (normalised to -16 LUFS) keys the compressor some 30 dB over its threshold,
so at ratio 20 it sits at its floor, and `mix` keeps 38 % of the dry bed: a steady ~8 dB dip
whatever the syllable (measured: ±0.6 dB over espeak speech), not a pump. The 500 ms release
(a ~125 ms detector) holds it through sentence gaps (0.2 s: still -7.8 dB) and most of a scene
gap (0.45 s: -6.7 dB); in a longer pause the bed is fully back within a second."""
MEASURE_SECONDS = 180.0
"""An uploaded track's loudness is measured over at most this much of what will play."""
MAX_TRACK_GAIN_DB = 24.0
"""Never boost a track more than this: near-silence is not quiet music."""
TRACK_FADE_IN = 0.3


@dataclass(frozen=True)
class Bed:
    """What plays under the narration: a mood, or a track at its measured gain."""

    mood: str
    gain_db: float
    """Over the level the bed is made at (BED_LUFS): the request's volume, plus the track's
    normalisation."""
    track: Path | None = None


def choose_bed(opts: CompileOptions, duration: float) -> Bed | None:
    """The bed the options ask for (None without music); measures an uploaded track."""
    if not opts.music:
        return None
    volume = min(VOLUME_DB[1], max(VOLUME_DB[0], opts.music_volume))
    if not opts.music_path:
        return Bed(opts.music_mood, volume)
    track = Path(opts.music_path)
    return Bed(opts.music_mood, volume + track_gain_db(track, duration), track.resolve())


def track_gain_db(path: Path, seconds: float) -> float:
    """The gain that brings the first `seconds` of a track (at most MEASURE_SECONDS) to BED_LUFS."""
    channels = _decode(path, min(seconds, MEASURE_SECONDS), RATE // 2)
    if not channels:  # looping it would never get anywhere
        raise StageError("BAD_MEDIA", f"the music track {path.name} holds no sound")
    level = loudness.integrated_loudness_channels(channels, RATE // 2)
    if not math.isfinite(level):
        return 0.0
    return min(MAX_TRACK_GAIN_DB, BED_LUFS - level)


def _decode(path: Path, seconds: float, rate: int) -> list[np.ndarray]:
    """The track's channels as float arrays at `rate`, up to `seconds` long."""
    wanted = max(1, round(seconds * rate))
    chunks: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise StageError("BAD_MEDIA", f"no audio in the music track {path.name}")
            stream = container.streams.audio[0]
            layout = "mono" if stream.codec_context.channels == 1 else "stereo"
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
            have = 0
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
                    have += chunks[-1].shape[1]
                if have >= wanted:
                    break
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise StageError("BAD_MEDIA", f"cannot read the music track {path.name}: {exc}") from exc
    if not chunks:
        return []
    data = np.concatenate(chunks, axis=1)[:, :wanted]
    return [row.astype(np.float64) for row in data]


def bed_inputs(bed: Bed | None) -> list[str]:
    """ffmpeg input arguments for the bed: an uploaded track, looped by the demuxer."""
    if bed is None or bed.track is None:
        return []
    return ["-stream_loop", "-1", "-i", str(bed.track)]


def _track_graph(bed_input: int, duration: float, gain_db: float, out: str) -> list[str]:
    """The looping track cut to length at its gain, with a short fade in and a fade out."""
    return [
        f"[{bed_input}:a]aresample={RATE},aformat=sample_fmts=fltp:channel_layouts=stereo,"
        f"atrim=end={duration + 0.5:.3f},asetpts=N/SR/TB,volume={gain_db:.3f}dB,"
        f"afade=t=in:d={TRACK_FADE_IN},afade=t=out:st={max(0.0, duration - FADE_OUT):.3f}"
        f":d={FADE_OUT}{out}"
    ]


def audio_graph(
    voice_input: int, duration: float, bed: Bed | None, seed: int, bed_input: int | None = None
) -> list[str]:
    """The (pre-normalised) narration at 48 kHz stereo, with the ducked bed under it.

    An uploaded track is input `bed_input` (see bed_inputs); a mood needs no input.
    """
    voice = f"[{voice_input}:a]aresample={RATE},aformat=sample_fmts=fltp:channel_layouts=stereo"
    if bed is None:
        return [f"{voice}[aout]"]
    if bed.track is not None and bed_input is not None:
        parts = _track_graph(bed_input, duration, bed.gain_db, "[bed]")
    else:
        parts = bed_graph(bed.mood, duration, seed, bed.gain_db, "[bed]")
    return [
        f"{voice},asplit=2[voice][key]",
        *parts,
        f"[bed][key]{DUCK}[ducked]",
        "[voice][ducked]amix=inputs=2:duration=first:normalize=0[aout]",
    ]
