"""Loudness normalisation of the narration in numpy, so the compile graph needs no loudnorm.

The meter follows ITU-R BS.1770 for one channel: K-weighting (a +4 dB high shelf above
~1.7 kHz and a 38 Hz high-pass), mean square over 400 ms blocks every 100 ms, an absolute
gate at -70 LUFS and a relative gate 10 LU below the ungated level. The K-weighting is applied
as its magnitude response in the frequency domain: phase does not change a block's energy by
anything that matters for gating, and one FFT is far cheaper than an IIR loop in Python.

Normalising is a static gain to the target plus a look-ahead peak limiter that keeps the
4x-oversampled ("true") peak under the ceiling; speech rarely needs more than a few dB of it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

TARGET_LUFS = -16.0
PEAK_DBFS = -1.5
BLOCK_S = 0.4
STEP_S = 0.1
ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0
MAX_GAIN_DB = 40.0
"""Never boost more than this: near-silent input is an engine fault, not quiet speech."""
LIMIT_CHUNK_S = 0.001
LIMIT_ATTACK_S = 0.005
"""Gain reduction ramps in over this long before a peak (look-ahead)..."""
LIMIT_RELEASE_S = 0.08
"""...and recovers over this long after it."""
OVERSAMPLE = 4
_HALF_TAPS = 8

# BS.1770 K-weighting as analogue prototypes, re-designed for any sample rate by the bilinear
# transform; at 48 kHz they reproduce the coefficients tabled in the recommendation.
_SHELF_F0, _SHELF_GAIN_DB, _SHELF_Q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
_SHELF_BAND_EXP = 0.4996667741545416
_HPF_F0, _HPF_Q = 38.13547087602444, 0.5003270373238773


def k_weighting(rate: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(b, a) of the shelf and the high-pass biquads at `rate`, with a[0] == 1."""
    k = math.tan(math.pi * _SHELF_F0 / rate)
    vh = 10 ** (_SHELF_GAIN_DB / 20)
    vb = vh**_SHELF_BAND_EXP
    a0 = 1 + k / _SHELF_Q + k * k
    shelf_b = [vh + vb * k / _SHELF_Q + k * k, 2 * (k * k - vh), vh - vb * k / _SHELF_Q + k * k]
    shelf_a = [a0, 2 * (k * k - 1), 1 - k / _SHELF_Q + k * k]
    k = math.tan(math.pi * _HPF_F0 / rate)
    a0 = 1 + k / _HPF_Q + k * k
    hpf_a = [a0, 2 * (k * k - 1), 1 - k / _HPF_Q + k * k]
    return [
        (np.array(shelf_b) / shelf_a[0], np.array(shelf_a) / shelf_a[0]),
        (np.array([1.0, -2.0, 1.0]), np.array(hpf_a) / a0),
    ]


@lru_cache(maxsize=4)
def _k_amplitude(n_fft: int, rate: int) -> np.ndarray:
    """|H(w)| of the K-weighting at the rfft bins of an n_fft-point transform.

    For a biquad, |b0 + b1 z + b2 z^2|^2 on the unit circle is
    b0^2 + b1^2 + b2^2 + 2 (b0 b1 + b1 b2) cos w + 2 b0 b2 cos 2w: real arithmetic only.
    """
    c1 = np.cos(np.linspace(0.0, np.pi, n_fft // 2 + 1))
    c2 = 2 * c1 * c1 - 1
    power = np.ones_like(c1)
    for b, a in k_weighting(rate):
        num = b @ b + 2 * (b[0] * b[1] + b[1] * b[2]) * c1 + 2 * b[0] * b[2] * c2
        den = a @ a + 2 * (a[0] * a[1] + a[1] * a[2]) * c1 + 2 * a[0] * a[2] * c2
        power *= num / den
    return np.sqrt(power)


def _fast_len(n: int) -> int:
    """Smallest 2^a 3^b 5^c >= n: FFT sizes pocketfft handles fastest without doubling n."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            size = p35 << max(0, (-(-n // p35) - 1).bit_length())
            best = min(best, size)
            p35 *= 3
        p5 *= 5
    return best


def k_weighted(x: np.ndarray, rate: int) -> np.ndarray:
    """The signal through the K-weighting magnitude response (zero-phase, zero-padded)."""
    n_fft = _fast_len(len(x) + rate // 10)
    spectrum = np.fft.rfft(x, n_fft)
    spectrum *= _k_amplitude(n_fft, rate)
    return np.fft.irfft(spectrum, n_fft)[: len(x)]


def _block_powers(weighted: np.ndarray, rate: int) -> np.ndarray:
    """Mean square of the K-weighted signal over each gating block."""
    block, step = round(BLOCK_S * rate), round(STEP_S * rate)
    if len(weighted) <= block:
        return np.array([np.mean(weighted * weighted)])
    energy = np.concatenate(([0.0], np.cumsum(weighted * weighted)))
    starts = np.arange(0, len(weighted) - block + 1, step)
    return (energy[starts + block] - energy[starts]) / block


def _lufs(power: float) -> float:
    return -0.691 + 10 * math.log10(power) if power > 0 else -math.inf


def _gated_loudness(powers: np.ndarray) -> float:
    """BS.1770 gating: drop blocks under -70 LUFS, then those 10 LU under what remains."""
    gated = powers[powers > 10 ** ((ABSOLUTE_GATE + 0.691) / 10)]
    if gated.size == 0:
        return -math.inf
    relative = _lufs(float(gated.mean())) + RELATIVE_GATE
    gated = gated[gated > 10 ** ((relative + 0.691) / 10)]
    return _lufs(float(gated.mean()))


def integrated_loudness(samples: np.ndarray, rate: int) -> float:
    """Gated integrated loudness (LUFS) of mono float samples in [-1, 1]; -inf for silence."""
    x = np.asarray(samples, dtype=np.float64)
    if len(x) == 0:
        return -math.inf
    return _gated_loudness(_block_powers(k_weighted(x, rate), rate))


def integrated_loudness_channels(channels: Sequence[np.ndarray], rate: int) -> float:
    """Gated integrated loudness of front channels (their block powers summed, as BS.1770 does)."""
    if not channels or len(channels[0]) == 0:
        return -math.inf
    powers = [_block_powers(k_weighted(np.asarray(c, np.float64), rate), rate) for c in channels]
    return _gated_loudness(np.sum(powers, axis=0))


@lru_cache(maxsize=1)
def _interpolators() -> np.ndarray:
    """(OVERSAMPLE - 1, 2 * _HALF_TAPS) Kaiser-windowed sinc taps, one row per fractional step.

    Row p gives the band-limited value at i + (p + 1) / OVERSAMPLE from x[i - _HALF_TAPS + 1]
    .. x[i + _HALF_TAPS]; each row sums to one so DC passes unchanged.
    """
    k = np.arange(-_HALF_TAPS + 1, _HALF_TAPS + 1)
    rows = []
    for p in range(1, OVERSAMPLE):
        t = p / OVERSAMPLE - k
        taps = np.sinc(t) * np.i0(8.0 * np.sqrt(np.clip(1 - (t / _HALF_TAPS) ** 2, 0, 1)))
        rows.append(taps / taps.sum())
    return np.array(rows)


def _peak_envelope(x: np.ndarray, floor: float) -> np.ndarray:
    """|x|, raised to the largest inter-sample value just after each sample above `floor`.

    Only samples near the top can hide an inter-sample peak over the ceiling, so the FIR
    interpolation runs on those (and the one before each), not on the whole signal.
    """
    env = np.abs(x)
    near = env > floor
    near[:-1] |= near[1:]
    near[-1] = False
    cand = np.flatnonzero(near)
    if cand.size == 0:
        return env
    taps = _interpolators()
    padded = np.pad(x, (_HALF_TAPS, _HALF_TAPS))
    offsets = np.arange(-_HALF_TAPS + 1, _HALF_TAPS + 1) + _HALF_TAPS
    for lo in range(0, cand.size, 65536):
        idx = cand[lo : lo + 65536]
        window = padded[idx[:, None] + offsets[None, :]]
        inter = np.abs(window @ taps.T).max(axis=1)
        env[idx] = np.maximum(env[idx], inter)
    return env


def true_peak(samples: np.ndarray) -> float:
    """Peak of the OVERSAMPLE-times band-limited signal (linear, full scale = 1)."""
    x = np.asarray(samples, dtype=np.float64)
    if len(x) == 0:
        return 0.0
    return float(_peak_envelope(x, np.abs(x).max() / 2).max())


def _limiter_gain(x: np.ndarray, rate: int, ceiling: float) -> np.ndarray | None:
    """Per-sample gain that keeps the (true) peak under `ceiling`, or None if none is needed.

    The gain is computed on short chunks (their true peaks), then slope-limited both ways:
    a backward pass ramps it down ahead of each peak (attack), a forward pass ramps it back
    up after (release). Both passes only ever lower the gain, so no chunk ends above the
    ceiling; each chunk also takes its neighbours' requirement, so the per-sample gain,
    interpolated between chunk centres, is never above the sample's own chunk's either.
    """
    chunk = max(1, round(LIMIT_CHUNK_S * rate))
    n_chunks = -(-len(x) // chunk)
    peaks = np.maximum.reduceat(_peak_envelope(x, ceiling / 2), np.arange(n_chunks) * chunk)
    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    if need.min() >= 1.0:
        return None
    own = need.copy()
    need[1:] = np.minimum(need[1:], own[:-1])
    need[:-1] = np.minimum(need[:-1], own[1:])
    idx = np.arange(n_chunks, dtype=np.float64)
    attack = 1.0 / max(1.0, LIMIT_ATTACK_S / LIMIT_CHUNK_S)
    release = 1.0 / max(1.0, LIMIT_RELEASE_S / LIMIT_CHUNK_S)
    # g[k] = min_j (need[j] + slope * |k - j|), as two running minima.
    back = np.minimum.accumulate((need + attack * idx)[::-1])[::-1] - attack * idx
    gain = np.minimum(need, back)
    gain = np.minimum(gain, np.minimum.accumulate(gain - release * idx) + release * idx)
    return np.interp(np.arange(len(x)), (idx + 0.5) * chunk, gain)


def normalize(
    samples: np.ndarray, rate: int, target: float = TARGET_LUFS, peak_dbfs: float = PEAK_DBFS
) -> np.ndarray:
    """Scale mono float samples to `target` LUFS with the true peak held under `peak_dbfs`.

    Limiting takes a little loudness off the peaks, so more gain goes in until the limited
    result is within 0.1 LU of the target; a secant step gets there in two or three passes.
    The K-weighted signal is computed once: the limiter's gain moves slowly next to the
    filter, so K(x * g) is taken as K(x) * g when re-measuring.
    """
    x = np.asarray(samples, dtype=np.float64)
    if len(x) == 0:
        return x
    weighted = k_weighted(x, rate)
    loudness = _gated_loudness(_block_powers(weighted, rate))
    if not math.isfinite(loudness):
        return x
    ceiling = 10 ** (peak_dbfs / 20)
    gain_db = min(MAX_GAIN_DB, target - loudness)
    slope, last = 1.0, (0.0, loudness)
    for _ in range(4):
        scale = 10 ** (gain_db / 20)
        limiter = _limiter_gain(x * scale, rate, ceiling)
        if limiter is None:
            return x * scale
        reached = _gated_loudness(_block_powers(weighted * (limiter * scale), rate))
        error = target - reached
        if abs(error) < 0.1 or gain_db >= MAX_GAIN_DB:
            break
        if gain_db != last[0]:
            slope = min(1.0, max(0.2, (reached - last[1]) / (gain_db - last[0])))
        last = (gain_db, reached)
        gain_db = min(MAX_GAIN_DB, gain_db + error / slope)
    return x * (limiter * scale)
