"""Re-render after an edit vs. the full render, and segmented vs. single-pass compile.

A 10-scene, ~60 s, 1080x1920 story (offline writer, painter and the default Piper voice):
1. full render with empty caches: script, images, narration, segmented compile;
2. in the same run, today's single-pass compile of the same stills and narration;
3. the text of scene 4 changes; render again with the caches the full render filled.
Each round starts from empty caches; the figures are medians of the rounds.

    .venv/bin/python bench/rerender.py --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sora_app.pipeline.artefacts import ArtefactStore  # noqa: E402
from sora_app.pipeline.compile import compile_video  # noqa: E402
from sora_app.pipeline.images import make_images  # noqa: E402
from sora_app.pipeline.narration import narrate  # noqa: E402
from sora_app.pipeline.script import write_script  # noqa: E402
from sora_app.pipeline.segments import compile_segments  # noqa: E402
from sora_app.pipeline.types import CompileOptions, ImageSpec, Script, StoryRequest  # noqa: E402
from sora_app.pipeline.voice_rate import speaking_rate  # noqa: E402
from sora_app.pipeline.voices import DEFAULT_VOICE_ID  # noqa: E402

EDIT = (
    "Then the lamp went dark, and in the sudden silence Mara heard slow footsteps climbing "
    "the iron stairs below her, one deliberate step at a time."
)


def _quiet(_fraction: float, _status: str) -> None:
    """Progress is not measured here."""


def _render(script: Script, folder: Path, store: ArtefactStore, voice: str) -> dict[str, float]:
    """Images, narration and segmented compile of `script`; each stage's wall seconds."""
    times: dict[str, float] = {}
    began = time.perf_counter()
    images = make_images(script, ImageSpec(seed=1), folder, _quiet, cache=store)
    times["images"] = time.perf_counter() - began
    began = time.perf_counter()
    narration = narrate(script, voice, folder, _quiet, frame_rate=30, cache=store)
    times["narration"] = time.perf_counter() - began
    began = time.perf_counter()
    report = compile_segments(images, narration, folder / "video.mp4", CompileOptions(seed=1),
                              _quiet, store)  # fmt: skip
    times["compile"] = time.perf_counter() - began
    times["reused"] = report.reused
    times["segments"] = len(report.segments)
    times["duration"] = report.info.duration
    return times


def one_round(tmp: Path, voice: str) -> dict[str, float]:
    store = ArtefactStore(tmp / "artefacts")
    began = time.perf_counter()
    rate = speaking_rate(voice, tmp / "rates")  # sized as a job sizes it: ~60 s spoken
    request = StoryRequest(topic="The Vanishing Lighthouse", story_type="scary_horror",
                           duration_minutes=1.0, num_scenes=10, seed=1,
                           words_per_minute=rate.words_per_minute)  # fmt: skip
    script = write_script(request)
    written = time.perf_counter() - began
    full = _render(script, tmp / "full", store, voice)
    full_wall = time.perf_counter() - began

    images = sorted((tmp / "full").glob("scene_*[0-9].jpg"))
    narration = narrate(script, voice, tmp / "single", _quiet, frame_rate=30, cache=store)
    began = time.perf_counter()
    compile_video(images, narration, tmp / "single" / "video.mp4", CompileOptions(seed=1), _quiet)
    single = time.perf_counter() - began

    edited = replace(script, scenes=[replace(s, narration=EDIT) if s.index == 3 else s
                                     for s in script.scenes])  # fmt: skip
    began = time.perf_counter()
    again = _render(edited, tmp / "again", store, voice)
    rerender_wall = time.perf_counter() - began
    return {
        "script": written,
        "full": full_wall,
        "full_compile": full["compile"],
        "single_pass_compile": single,
        "rerender": rerender_wall,
        "rerender_compile": again["compile"],
        "rerender_images": again["images"],
        "rerender_narration": again["narration"],
        "reused": again["reused"],
        "segments": again["segments"],
        "duration": full["duration"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--voice", default=DEFAULT_VOICE_ID)
    args = parser.parse_args()
    rounds = []
    for n in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="bench-rerender-") as work:
            result = one_round(Path(work), args.voice)
        rounds.append(result)
        print(f"round {n + 1}: " + " ".join(f"{k}={v:.2f}" for k, v in result.items()), flush=True)
    median = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    ratio = median["rerender"] / median["full"]
    speed = median["full_compile"] / median["single_pass_compile"]
    lines = [
        f"medians of {args.rounds} rounds ({median['duration']:.1f} s video, voice {args.voice}):",
        f"  full render (script to video, empty caches): {median['full']:.2f} s",
        f"  re-render after editing scene 4: {median['rerender']:.2f} s = {ratio:.1%} of the full"
        f" render ({median['reused']:.0f} of {median['segments']:.0f} segments reused)",
        f"  compile, segmented (empty store): {median['full_compile']:.2f} s",
        f"  compile, single pass (reference): {median['single_pass_compile']:.2f} s"
        f" (segmented / single pass = {speed:.2f})",
    ]
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
