"""espeak's audio callback must not leave anything behind per block length (issue 12 part 5)."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from sora_app.providers import espeak


@pytest.fixture
def no_chunks():
    espeak._chunks.clear()
    yield
    espeak._chunks.clear()


def test_blocks_of_new_lengths_add_no_ctypes_types(no_chunks) -> None:
    """np.ctypeslib.as_array cached a new pointer type per length: a slow leak in a worker."""
    source = (ctypes.c_short * 4000)(*range(4000))
    wav = ctypes.cast(source, ctypes.POINTER(ctypes.c_short))
    espeak._collect(wav, 10, None)  # anything the first call makes once
    cached = len(ctypes._pointer_type_cache)

    for length in range(1000, 1300):
        espeak._collect(wav, length, None)

    assert len(ctypes._pointer_type_cache) == cached
    assert [len(chunk) for chunk in espeak._chunks[1:]] == list(range(1000, 1300))


def test_a_block_is_copied_not_viewed(no_chunks) -> None:
    """espeak reuses its buffer once the callback returns: the kept samples must not move."""
    source = (ctypes.c_short * 5)(1, -2, 3, -4, 32767)
    espeak._collect(ctypes.cast(source, ctypes.POINTER(ctypes.c_short)), 5, None)
    source[0] = 99

    chunk = espeak._chunks[0]
    assert chunk.dtype == np.int16
    assert chunk.tolist() == [1, -2, 3, -4, 32767]
