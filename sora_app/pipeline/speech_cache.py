"""Sentences spoken once per voice: a re-render reuses the audio and word timings it had.

Engines do not give the same samples for the same sentence twice in a row (espeak's output
shifts by a few samples and its word marks by a millisecond with what it spoke before), so a
scene whose text did not change would otherwise get captions a centisecond off, and with
them a new video segment. Keyed by everything that decides the sound: engine (and its build),
voice params, model file (size and time, so a model replaced under its name is heard anew)
and text. Only the offline engines are cached (narration decides which): what a hosted voice
sounds like depends on the upstream's URL and model, which its params do not name.
"""

from __future__ import annotations

import io
import logging

import numpy as np

from sora_app.pipeline.artefacts import ArtefactStore, digest
from sora_app.pipeline.speech import Speaker, Speech, engine_identity
from sora_app.pipeline.voices import Voice

log = logging.getLogger(__name__)

KIND = "speech"
FORMAT = 1


def cached_speaker(speak: Speaker, voice: Voice, store: ArtefactStore) -> Speaker:
    """`speak`, answering from the store for sentences this voice has spoken before."""

    identity = engine_identity(voice)  # read once per render, not once per sentence

    def spoken(text: str) -> Speech:
        key = digest({"format": FORMAT, "engine": voice.engine, "params": voice.params,
                      "identity": identity, "voice": voice.id, "text": text})  # fmt: skip
        found = store.get(KIND, key, ".npz")
        if found is not None:
            try:
                return _load(found.read_bytes())
            except (OSError, ValueError, KeyError) as exc:  # a damaged file: speak again
                log.warning("event=speech_cache_unreadable key=%s error=%s", key[:12], exc)
        said = speak(text)
        made = store.temp_path(KIND, ".npz")
        made.write_bytes(_dump(said))
        store.put(KIND, key, ".npz", made)
        return said

    return spoken


def _dump(said: Speech) -> bytes:
    audio, rate = said[0], said[1]
    starts = said[2] if len(said) > 2 else None
    buffer = io.BytesIO()
    np.savez(
        buffer,
        audio=np.asarray(audio, dtype=np.int16),
        rate=np.array(rate),
        starts=np.array(starts if starts is not None else [], dtype=np.float64),
        timed=np.array(starts is not None),
    )
    return buffer.getvalue()


def _load(data: bytes) -> Speech:
    with np.load(io.BytesIO(data), allow_pickle=False) as saved:
        starts = [float(s) for s in saved["starts"]] if bool(saved["timed"]) else None
        return saved["audio"].astype(np.int16), int(saved["rate"]), starts
