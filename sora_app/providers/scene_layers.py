"""Whole-frame numpy passes for the scene renderer: gradients, noise, grading and textures.

Everything here is vectorised (no per-pixel Python) so a 9:16 frame stays well under budget.
Arrays are float32, shape (h, w, 3), values nominally in [0, 1].
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from sora_app.providers.scene_styles import RGB, Grade

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def rgb(color: RGB) -> np.ndarray:
    """Palette colours are 0-255 ints; the numpy passes work in 0-1 floats."""
    return np.asarray(color, dtype=np.float32) / 255.0


def to_image(arr: np.ndarray) -> Image.Image:
    """Quantise once at the end of a numpy pass so rounding never accumulates."""
    return Image.fromarray((np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8), "RGB")


def to_array(img: Image.Image) -> np.ndarray:
    """Bring a Pillow canvas back into float space for the next numpy pass."""
    return np.asarray(img, dtype=np.float32) / 255.0


def gradient(w: int, h: int, stops: tuple[RGB, ...], curve: float = 1.0) -> np.ndarray:
    """Vertical multi-stop sky; `curve` > 1 holds the top colour longer."""
    t = np.linspace(0.0, 1.0, h, dtype=np.float32) ** curve
    pos = np.linspace(0.0, 1.0, len(stops))
    cols = np.stack([np.interp(t, pos, [c[i] / 255.0 for c in stops]) for i in range(3)], -1)
    return np.broadcast_to(cols[:, None, :], (h, w, 3)).astype(np.float32)


def radial(w: int, h: int, cx: float, cy: float, radius: float) -> np.ndarray:
    """Gaussian falloff around a point, the basis of glows, halos and vignettes."""
    yy = (np.arange(h, dtype=np.float32)[:, None] - cy) / radius
    xx = (np.arange(w, dtype=np.float32)[None, :] - cx) / radius
    return np.exp(-(xx * xx + yy * yy))


def screen(arr: np.ndarray, mask: np.ndarray, color: RGB, strength: float) -> np.ndarray:
    """Screen-blend a colour through a mask: light adds up without blowing out to flat white."""
    layer = mask[..., None] * (rgb(color) * strength)
    return 1.0 - (1.0 - arr) * (1.0 - layer)


def mix(arr: np.ndarray, mask: np.ndarray, color: RGB) -> np.ndarray:
    """Normal-blend a flat colour through a 0-1 mask (fog, washes, haze)."""
    return arr + (rgb(color) - arr) * mask[..., None]


def smooth_noise(
    rng: np.random.Generator, w: int, h: int, cells: int, octaves: int = 3
) -> np.ndarray:
    """Cheap value noise: tiny random grids upscaled bicubically by Pillow, summed per octave."""
    out = np.zeros((h, w), dtype=np.float32)
    total = 0.0
    for octave in range(octaves):
        n = cells * (2**octave)
        gw, gh = max(2, round(n * w / max(w, h))), max(2, round(n * h / max(w, h)))
        grid = rng.random((gh, gw), dtype=np.float32)
        layer = Image.fromarray(grid, "F").resize((w, h), Image.Resampling.BICUBIC)
        weight = 0.5**octave
        out += np.asarray(layer, dtype=np.float32) * weight
        total += weight
    return np.clip(out / total, 0.0, 1.0)


def ridge_profile(
    rng: np.random.Generator, w: int, roughness: float, octaves: int = 5
) -> np.ndarray:
    """1-D fractal noise in [-1, 1], one value per column, for ridgelines and skylines."""
    xs = np.arange(w, dtype=np.float32)
    out = np.zeros(w, dtype=np.float32)
    amp, points, total = 1.0, 3, 0.0
    for _ in range(octaves):
        ctrl_x = np.linspace(0, w - 1, points)
        out += amp * np.interp(xs, ctrl_x, rng.uniform(-1, 1, points))
        total += amp
        amp *= roughness
        points = points * 2 + 1
    return out / total


def grade(arr: np.ndarray, g: Grade, saturation: float, contrast: float) -> np.ndarray:
    """Style and mood grade in one pass: gain, saturation around luma, contrast around mid."""
    arr = arr * (np.asarray(g.tint, dtype=np.float32) * g.brightness)
    luma = (arr @ _LUMA)[..., None]
    arr = luma + (arr - luma) * (saturation * g.saturation)
    return (arr - 0.5) * (contrast * g.contrast) + 0.5


def vignette(arr: np.ndarray, strength: float) -> np.ndarray:
    """Darken the corners to pull the eye to the middle of the frame."""
    if strength <= 0:
        return arr
    h, w = arr.shape[:2]
    yy = np.linspace(-1.0, 1.0, h, dtype=np.float32)[:, None]
    xx = np.linspace(-1.0, 1.0, w, dtype=np.float32)[None, :]
    r2 = np.clip((xx * xx + yy * yy) / 2.0, 0.0, 1.0)
    return arr * (1.0 - strength * r2**1.5)[..., None]


def posterize(arr: np.ndarray, levels: int) -> np.ndarray:
    """Flat colour bands, the cel-shaded look of anime and comic styles.

    Bands are spaced evenly in a gamma-2 space, not linearly: with linear steps every value
    under 1/(2*(levels-1)) became pure black, and a night-time genre's whole sky and ground
    went black (horror in comic style was a black frame with a moon).
    """
    if levels <= 1:
        return arr
    steps = np.round(np.sqrt(np.clip(arr, 0, 1)) * (levels - 1)) / (levels - 1)
    return steps * steps


def halftone(arr: np.ndarray, period: float, strength: float = 0.55) -> np.ndarray:
    """Printed-dot shading: a rotated dot screen is thresholded against luminance."""
    h, w = arr.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    k = 2 * np.pi / period
    u, v = (xx + yy) * 0.7071 * k, (xx - yy) * 0.7071 * k
    screen_val = 0.5 + 0.25 * (np.cos(u) + np.cos(v))
    luma = arr @ _LUMA
    dots = np.clip((screen_val - luma) * 6.0, 0.0, 1.0)
    return arr * (1.0 - strength * dots)[..., None]


def paper(arr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Cold-press paper: blotchy pigment density plus fine fibre grain."""
    h, w = arr.shape[:2]
    blotch = smooth_noise(rng, w, h, 6, 3)
    fibre = rng.random((h, w), dtype=np.float32)
    shade = 1.0 - 0.10 * (blotch - 0.5) - 0.045 * fibre
    return arr * shade[..., None]


def aged(arr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Old print: uneven exposure, vertical scratches and dust specks."""
    h, w = arr.shape[:2]
    arr = arr * (0.9 + 0.2 * smooth_noise(rng, w, h, 3, 2))[..., None]
    for _ in range(int(rng.integers(3, 7))):
        x = int(rng.integers(0, w))
        y0, y1 = sorted(int(v) for v in rng.integers(0, h, 2))
        arr[y0:y1, x : x + 1] = arr[y0:y1, x : x + 1] * 0.5 + 0.45
    specks = rng.random((h, w), dtype=np.float32) > 0.9994
    arr[specks] = arr[specks] * 0.2
    return arr


def bloom(arr: np.ndarray, radius: float) -> np.ndarray:
    """Soft glow around highlights, for the dreamy fantasy look."""
    bright = np.clip((arr - 0.6) / 0.4, 0.0, 1.0)
    img = to_image(bright)
    small = img.resize((max(1, img.width // 8), max(1, img.height // 8)), Image.Resampling.BOX)
    blurred = small.filter(ImageFilter.GaussianBlur(radius / 8)).resize(img.size)
    return 1.0 - (1.0 - arr) * (1.0 - to_array(blurred) * 0.6)


def grain(rng: np.random.Generator, h: int, w: int, amount: float) -> np.ndarray:
    """Monochrome film grain as int16 offsets, applied at full resolution for crispness."""
    noise = rng.standard_normal((h, w), dtype=np.float32) * (amount * 255.0)
    return noise.astype(np.int16)[..., None]


def apply_full_res(
    img: Image.Image, rng: np.random.Generator, grain_amt: float, scan: bool
) -> Image.Image:
    """Final full-resolution texture: film grain and/or CRT scanlines on the upscaled frame."""
    if grain_amt <= 0 and not scan:
        return img
    arr = np.asarray(img, dtype=np.int16)
    if grain_amt > 0:
        arr = arr + grain(rng, img.height, img.width, grain_amt)
    if scan:
        period = max(3, img.height // 360)
        arr[::period] = (arr[::period] * 0.72).astype(np.int16)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
