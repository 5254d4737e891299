"""Generated music beds by mood: ffmpeg source filters only, no downloads, no files.

A mood is one period of music (a short chord progression) written as an `aevalsrc`
expression: a sustained pad whose chords cross-fade, an optional drone, and optional plucked
notes on a beat grid. Every frequency is rounded to a whole number of cycles per period and
every pluck's envelope closes before its step ends, so the period is exactly periodic: ffmpeg
evaluates it once and `aloop` repeats it for any length without a seam. Filtered noise (not
looped) adds air; the seed picks the key and the noise.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

BED_LUFS = -28.0
"""Integrated loudness of every bed at volume 0 dB, before ducking: 12 LU under the speech
(pipeline.loudness.TARGET_LUFS) in pauses, some 20 under it while ducked."""
VOLUME_DB = (-24.0, 6.0)
"""Range of a request's `music_volume`: dB relative to BED_LUFS. At +6 the ducked bed still
sits ~14 dB under the speech."""
RATE = 48000
EVAL_RATE = 12000
"""aevalsrc's rate: its expression costs ~2 µs a sample, and no tone (harmonics included) reaches
3 kHz; the noise is made at the full rate."""
TRANSPOSE = (-2, -1, 0, 1, 2)
"""Semitones the seed may shift a mood by: another key, the same character."""
FADE_IN, FADE_OUT = 2.5, 3.0


@dataclass(frozen=True)
class Mood:
    """One bed's music: what is played, how fast, how bright, and its level trim."""

    chords: tuple[tuple[int, ...], ...]
    """MIDI notes of each chord; one chord per bar, the progression repeats."""
    bar: float
    """Seconds per chord."""
    pad: float
    """Level of the sustained chords (0: none)."""
    steps: int = 0
    """Plucks per bar (0: none); a bar of 2 s with 8 steps is eighths at 120 bpm."""
    pattern: tuple[int | None, ...] = ()
    """Per step: the chord tone to pluck (its index; add or take 12 for an octave up or down),
    or None for a rest. Empty: every step plucks the whole chord."""
    accents: tuple[float, ...] = (1.0,)
    """Per step pluck level (repeats)."""
    pluck: float = 0.0
    """Level of the plucks."""
    decay: float = 6.0
    """Per-second decay of a pluck."""
    bright: float = 0.2
    """Second-harmonic share of each tone: more is brighter."""
    drone: tuple[int, ...] = ()
    """Notes held throughout, each doubled 0.5 Hz sharp so it slowly beats."""
    drone_level: float = 0.0
    noise: tuple[str, float, float] = ("pink", 0.0, 1000.0)
    """Colour, level and low-pass corner of the noise layer."""
    gain_db: float = 0.0
    """Trim that brings the mood to BED_LUFS (measured; tests/pipeline/test_music.py)."""

    @property
    def period(self) -> float:
        return self.bar * len(self.chords)


MOODS: dict[str, Mood] = {
    "calm": Mood(  # slow major-seventh pad, a soft bell every two seconds
        chords=((48, 55, 59, 64), (45, 52, 55, 60), (41, 48, 52, 57), (43, 50, 55, 59)),
        bar=4.0, pad=0.5, steps=4, pattern=(15, None, 13, None), pluck=0.25, decay=1.5,
        bright=0.1, noise=("pink", 0.04, 700.0), gain_db=-7.5,
    ),
    "tense": Mood(  # minor chords rubbing a semitone, a low heartbeat at 60 bpm, a drone
        chords=((57, 60, 64, 70), (58, 62, 65, 69), (57, 60, 64, 70), (56, 59, 62, 65)),
        bar=2.0, pad=0.2, steps=8, pattern=(-12, -12, None, None, -12, -12, None, None),
        accents=(1.0, 0.6), pluck=0.7, decay=10.0, bright=0.35, drone=(33,), drone_level=0.1,
        noise=("pink", 0.03, 2500.0), gain_db=-6.6,
    ),
    "uplifting": Mood(  # bright major chords struck in eighths at 120 bpm
        chords=((62, 66, 69, 74), (61, 64, 69, 73), (59, 62, 66, 71), (59, 62, 67, 71)),
        bar=2.0, pad=0.15, steps=8, accents=(1.0, 0.45, 0.7, 0.45, 0.9, 0.45, 0.7, 0.55),
        pluck=0.6, decay=7.0, bright=0.3, noise=("pink", 0.02, 3000.0), gain_db=-5.3,
    ),
    "dark": Mood(  # low minor pad, slow changes, a beating drone and rumble
        chords=((38, 45, 50, 53), (34, 41, 46, 50), (43, 46, 50, 55), (33, 45, 49, 52)),
        bar=6.0, pad=0.45, bright=0.05, drone=(38,), drone_level=0.12,
        noise=("brown", 0.3, 220.0), gain_db=-8.2,
    ),
    "playful": Mood(  # staccato high arpeggios in sixteenths at 90 bpm
        chords=((60, 64, 67), (65, 69, 72), (62, 65, 69), (67, 71, 74)),
        bar=2.0, pad=0.0, steps=12, pattern=(0, 1, 2, 13, 2, 1, 0, None, 12, 2, 14, None),
        accents=(1.0, 0.6, 0.7, 0.8, 0.6, 0.6, 0.9, 0, 0.8, 0.6, 0.7, 0), pluck=0.5,
        decay=16.0, bright=0.45, gain_db=-3.9,
    ),
}  # fmt: skip
MOOD_NAMES: tuple[str, ...] = tuple(MOODS)
STORY_MOODS = {
    "scary_horror": "dark", "mystery": "tense", "true_crime": "tense", "fantasy": "uplifting",
    "sci_fi": "calm", "motivational": "uplifting", "educational": "calm", "comedy": "playful",
    "adventure": "uplifting", "romance": "calm", "history": "calm",
}  # fmt: skip
"""The mood a story type gets when the request names none."""
DEFAULT_MOOD = "calm"


def default_mood(story_type: str) -> str:
    """The mood that suits a story type, so a request need not name one."""
    return STORY_MOODS.get(story_type, DEFAULT_MOOD)


def _hz(note: float, shift: int, period: float) -> float:
    """A MIDI note's frequency, rounded to whole cycles per period so the loop is seamless."""
    hz = 440.0 * 2 ** ((note + shift - 69) / 12)
    return max(1, round(hz * period)) / period


def _select(var: str, values: list[str], first: int = 0) -> str:
    """An expression worth values[var - first] for an integer var: a balanced tree of ifs."""
    if len(set(values)) == 1:
        return values[0]
    mid = len(values) // 2
    low, high = _select(var, values[:mid], first), _select(var, values[mid:], first + mid)
    return f"if(lt({var},{first + mid}),{low},{high})"


def _number(value: float) -> str:
    """Enough digits that a frequency keeps its whole number of cycles per period."""
    return f"{value:.10g}"


def _tone(freq: str, bright: float) -> str:
    return f"(sin(2*PI*{freq}*t)+{bright:.3g}*sin(4*PI*{freq}*t))"


def _pad(mood: Mood, shift: int) -> list[str]:
    """Each chord held for its bar, cross-faded (smoothstep, summing to 1) into the next.

    Only the bar's own chord is computed, plus its neighbour during a cross-fade: the
    expression is evaluated for every sample, and this halves its cost.
    """
    if mood.pad <= 0:
        return []
    bar, n = mood.bar, len(mood.chords)
    x = min(bar / 2, 1.5)
    sums = [
        f"{mood.pad / len(chord):.4g}*("
        + "+".join(_tone(f"{_hz(note, shift, mood.period):.6f}", mood.bright) for note in chord)
        + ")"
        for chord in mood.chords
    ]
    return [
        f"st(1,mod(t,{mood.period:.6g}))",
        f"st(2,floor(ld(1)/{bar:.6g}))",
        f"st(6,ld(1)-ld(2)*{bar:.6g})",  # time into the bar
        f"st(3,clip((ld(6)+{x / 2:.6g})/{x:.6g},0,1)*clip(({bar + x / 2:.6g}-ld(6))/{x:.6g},0,1))",
        "st(4,ld(3)*ld(3)*(3-2*ld(3)))",  # the bar's chord's weight; its neighbour has the rest
        f"st(5,if(lt(ld(6),{bar / 2:.6g}),mod(ld(2)+{n - 1},{n}),mod(ld(2)+1,{n})))",
        f"st(9,ld(4)*{_select('ld(2)', sums)})",
        f"st(9,ld(9)+if(lt(ld(4),1),(1-ld(4))*{_select('ld(5)', sums)},0))",
    ]


def _pluck_voices(mood: Mood, shift: int) -> list[tuple[list[float], list[float]]]:
    """(frequency, level) at each step of the period, for each voice that plucks."""
    voices = 1 if mood.pattern else len(mood.chords[0])
    found = []
    for v in range(voices):
        freqs, levels = [], []
        for chord in mood.chords:
            for s in range(mood.steps):
                tone = mood.pattern[s % len(mood.pattern)] if mood.pattern else v
                if tone is None:
                    freqs.append(0.0)
                    levels.append(0.0)
                    continue
                note = chord[tone % 12 % len(chord)] + 12 * (tone // 12)
                freqs.append(_hz(note, shift, mood.period))
                levels.append(mood.accents[s % len(mood.accents)] * mood.pluck / voices)
        found.append((freqs, levels))
    return found


def _plucks(mood: Mood, shift: int) -> list[str]:
    """Notes struck on the step grid: 4 ms attack, exponential decay, closed before the next."""
    if not mood.steps or mood.pluck <= 0:
        return []
    step = mood.bar / mood.steps
    close = min(0.1, step / 4)
    envelope = (
        f"min(1,ld(5)/0.004)*exp(-{mood.decay:.4g}*ld(5))*min(1,({step:.9g}-ld(5))/{close:.4g})"
    )
    terms = [
        f"st(5,mod(t,{step:.9g}))",
        f"st(6,floor(mod(t,{mood.period:.6g})/{step:.9g}))",
        f"st(7,{envelope})",
    ]
    for freqs, levels in _pluck_voices(mood, shift):
        freq = _select("ld(6)", [_number(f) for f in freqs])
        level = _select("ld(6)", [_number(v) for v in levels])
        terms.append(f"st(9,ld(9)+ld(7)*({level})*{_tone(f'({freq})', mood.bright)})")
    return terms


def _drone(mood: Mood, shift: int) -> list[str]:
    """Held notes, each with a twin 0.5 Hz (a whole number of cycles per period) above."""
    p = mood.period
    return [
        f"st(9,ld(9)+{mood.drone_level:.4g}*(sin(2*PI*{f:.6f}*t)+sin(2*PI*{f + 0.5:.6f}*t)))"
        for f in (_hz(n, shift, p) for n in mood.drone)
    ]


def mood_expression(mood: Mood, shift: int = 0) -> str:
    """One period of the mood as an aevalsrc expression (quoted for the filtergraph)."""
    terms = ["st(9,0)", *_pad(mood, shift), *_plucks(mood, shift), *_drone(mood, shift), "ld(9)"]
    return "'" + ";".join(terms) + "'"


def bed_graph(mood_name: str, duration: float, seed: int, gain_db: float, out: str) -> list[str]:
    """The mood for `duration` seconds at `gain_db` over BED_LUFS, faded, as stereo [out]."""
    mood = MOODS.get(mood_name, MOODS[DEFAULT_MOOD])
    rng = random.Random(f"compile-music:{seed}")
    shift = rng.choice(TRANSPOSE)
    samples = round(mood.period * EVAL_RATE)
    d = f"{duration + 0.5:.3f}"
    colour, level, corner = mood.noise
    parts = [
        f"aevalsrc={mood_expression(mood, shift)}:s={EVAL_RATE}:d={mood.period:.6g},"
        f"aloop=loop=-1:size={samples},aresample={RATE},atrim=end={d},"
        "aecho=0.8:0.7:90|170:0.25|0.15[mt]"
    ]
    if level > 0:
        parts.append(
            f"anoisesrc=c={colour}:a={level:.4g}:d={d}:r={RATE}:s={rng.randrange(1, 10**6)},"
            f"lowpass=f={corner:.6g}[mn]"
        )
        parts.append("[mt][mn]amix=inputs=2:normalize=0[mm]")
    else:
        parts.append("[mt]anull[mm]")
    fade_out = max(0.0, duration - FADE_OUT)
    parts.append(
        f"[mm]volume={mood.gain_db + gain_db:.3f}dB,afade=t=in:d={min(FADE_IN, duration / 2):.3f},"
        f"afade=t=out:st={fade_out:.3f}:d={FADE_OUT},"
        f"aformat=sample_fmts=fltp:sample_rates={RATE}:channel_layouts=stereo{out}"
    )
    return parts
