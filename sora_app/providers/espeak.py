"""A minimal ctypes binding to the libespeak-ng that ships inside the espeakng-loader wheel.

espeak is tiny, instant and always available offline, which makes it the fallback voice and
the voice tests use. The library keeps global state (one voice, one callback), so every call
runs under one module lock.
"""

from __future__ import annotations

import ctypes
import logging
import threading

import numpy as np

from sora_app.pipeline.types import StageError

log = logging.getLogger(__name__)

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_PARAM_RATE = 1
_PARAM_VOLUME = 2
_PARAM_PITCH = 3
_PARAM_RANGE = 4
_EE_OK = 0
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1

MIN_RATE = 80
MAX_RATE = 450


class _Event(ctypes.Structure):
    """espeak_EVENT; only its layout matters here, since audio arrives as the wav pointer."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_sample_rate = 0
_chunks: list[np.ndarray] = []
_words: list[tuple[int, int]] = []
"""(0-based character offset of a word in the text, its audio position in ms) per WORD event."""
_callback_ref: object | None = None  # keeps the C callback alive as long as the library


def _collect(wav: ctypes.POINTER(ctypes.c_short), num_samples: int, events: object) -> int:
    """Copy each block espeak hands back, because its buffer is reused after we return.

    The block's WORD events are kept too: they are the engine's own word positions, exact
    to the millisecond, which word-timed captions need. Copied with string_at, not
    np.ctypeslib.as_array: that makes (and ctypes caches forever) a new array and pointer type
    for every block length, a leak of ~0.5 KiB per distinct length in a long-lived worker.
    """
    if wav and num_samples > 0:
        data = ctypes.string_at(wav, num_samples * ctypes.sizeof(ctypes.c_short))
        _chunks.append(np.frombuffer(data, dtype=np.int16))
    k = 0
    while events and events[k].type != _EVENT_LIST_TERMINATED:
        if events[k].type == _EVENT_WORD:
            _words.append((events[k].text_position - 1, events[k].audio_position))
        k += 1
    return 0


def _declare(lib: ctypes.CDLL) -> None:
    """Declare argument types so ctypes passes pointers and sizes correctly on 64-bit."""
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.POINTER(ctypes.c_uint),
        ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_Synchronize.argtypes = []
    lib.espeak_Synchronize.restype = ctypes.c_int


def _load() -> ctypes.CDLL:
    """Load and initialise the library once; the caller holds the lock."""
    global _lib, _sample_rate, _callback_ref
    if _lib is not None:
        return _lib
    try:
        import espeakng_loader

        lib_path = espeakng_loader.get_library_path()
        data_path = espeakng_loader.get_data_path()
        lib = ctypes.CDLL(lib_path)
        _declare(lib)
    except (ImportError, OSError, RuntimeError, AttributeError) as exc:
        raise StageError("TTS_UNAVAILABLE", f"espeak-ng could not be loaded: {exc}") from exc
    rate = lib.espeak_Initialize(
        _AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), _INITIALIZE_DONT_EXIT
    )
    if rate <= 0:
        raise StageError(
            "TTS_UNAVAILABLE", f"espeak-ng failed to initialise (data path {data_path})"
        )
    callback = _SynthCallback(_collect)
    lib.espeak_SetSynthCallback(callback)
    _callback_ref = callback
    _lib, _sample_rate = lib, rate
    log.info("espeak loaded path=%s sample_rate=%d", lib_path, rate)
    return lib


def _configure(lib: ctypes.CDLL, voice: str, rate: int, pitch: int, pitch_range: int) -> None:
    """Apply voice and prosody before every call, since another caller may have changed them."""
    if lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
        raise StageError("TTS_UNAVAILABLE", f"espeak-ng has no voice named {voice!r}")
    lib.espeak_SetParameter(_PARAM_RATE, max(MIN_RATE, min(MAX_RATE, int(rate))), 0)
    lib.espeak_SetParameter(_PARAM_PITCH, max(0, min(100, int(pitch))), 0)
    lib.espeak_SetParameter(_PARAM_RANGE, max(0, min(100, int(pitch_range))), 0)
    lib.espeak_SetParameter(_PARAM_VOLUME, 100, 0)


def synthesize(
    text: str,
    voice: str = "en-us+m3",
    rate: int = 175,
    pitch: int = 50,
    pitch_range: int = 50,
) -> tuple[np.ndarray, int]:
    """Speak `text` with an espeak voice[+variant]; returns (int16 mono samples, sample rate)."""
    samples, sample_rate, _marks = synthesize_with_words(text, voice, rate, pitch, pitch_range)
    return samples, sample_rate


def synthesize_with_words(
    text: str,
    voice: str = "en-us+m3",
    rate: int = 175,
    pitch: int = 50,
    pitch_range: int = 50,
) -> tuple[np.ndarray, int, list[tuple[int, float]]]:
    """Like synthesize, plus (character offset in `text`, start in seconds) of every word."""
    data = text.encode("utf-8") + b"\0"
    with _lock:
        lib = _load()
        _configure(lib, voice, rate, pitch, pitch_range)
        _chunks.clear()
        _words.clear()
        buf = ctypes.create_string_buffer(data, len(data))
        err = lib.espeak_Synth(buf, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        lib.espeak_Synchronize()
        samples = np.concatenate(_chunks) if _chunks else np.zeros(0, dtype=np.int16)
        marks = [(pos, ms / 1000) for pos, ms in _words]
        _chunks.clear()
        _words.clear()
        sample_rate = _sample_rate
    if err != _EE_OK:
        raise StageError("TTS_FAILED", f"espeak-ng could not synthesize (error {err})")
    return samples, sample_rate, marks


def sample_rate() -> int:
    """The rate espeak produces, so callers can size silences before any synthesis."""
    with _lock:
        _load()
        return _sample_rate
