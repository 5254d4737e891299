"""Length benchmark: requested vs produced seconds through the real script + narration stages.

Each request goes through the same path as a job: contract 1 bodies (duration in minutes)
through JobSpec, task bodies (duration in seconds) through the task API's own translation,
then jobs.stages.run_script and run_narration with a fresh instance folder per invocation
(so the first job of each voice pays for any calibration). Compile adds a frame-grid
rounding at most; `--compile` checks that on a tiny frame size.

    .venv/bin/python bench/durations.py                     (defaults below)
    .venv/bin/python bench/durations.py --voices espeak_male --minutes 1 --seeds 1 2 --compile
    .venv/bin/python bench/durations.py --task-seconds   (tasks carry exact `seconds`, as
                                                           proposed for api/tasks.py)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sora_app import create_app  # noqa: E402
from sora_app.api.tasks import TaskRequest, _local_spec  # noqa: E402
from sora_app.jobs.spec import JobSpec  # noqa: E402
from sora_app.jobs.stages import NARRATION_FILE, StageContext, run_narration, run_script  # noqa: E402
from sora_app.pipeline.compile import compile_video  # noqa: E402
from sora_app.pipeline.types import CompileOptions, Narration  # noqa: E402

TOPIC = "The lighthouse keeper who vanished"


def _app(tmp: Path):
    return create_app(
        {
            "INSTANCE_DIR": tmp / "instance",
            "VIDEOS_DIR": tmp / "videos",
            "UPLOADS_DIR": tmp / "instance" / "uploads",
            "WORK_DIR": tmp / "instance" / "work",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'instance' / 'bench.sqlite'}",
        }
    )


def _spec(
    app, voice: str, kind: str, amount: float, seed: int, task_seconds: bool
) -> tuple[JobSpec, float]:
    """(validated spec, seconds the caller asked for) for a minutes or a task request."""
    if kind == "task":
        with app.app_context():
            body = _local_spec(TaskRequest(prompt=TOPIC, duration=int(amount), voiceId=voice), None)
        extra = {"seconds": int(amount)} if task_seconds else {}
        return JobSpec.model_validate({**body, "seed": seed, **extra}), amount
    body = {"topic": TOPIC, "duration": amount, "voice_id": voice, "seed": seed}
    return JobSpec.model_validate(body), amount * 60


def _compiled_seconds(ctx: StageContext, narration: Narration) -> float:
    """Compile at a tiny size with solid stills: the length is all this is run for."""
    images = []
    for i in range(len(narration.scene_spans)):
        path = ctx.work_dir / f"tiny_{i:03d}.jpg"
        Image.new("RGB", (144, 256), (40 * i % 255, 80, 120)).save(path)
        images.append(path)
    opts = CompileOptions(width=144, height=256, music=False, subtitles=False)
    out = ctx.work_dir / "bench.mp4"
    return compile_video(images, narration, out, opts, lambda f, m: None).duration


def run_one(app, tmp: Path, voice: str, kind: str, amount: float, seed: int, args) -> dict:
    spec, wanted = _spec(app, voice, kind, amount, seed, args.task_seconds)
    work = tmp / "work" / f"{voice}-{kind}-{amount}-{seed}-{datetime.now(UTC).timestamp()}"
    work.mkdir(parents=True)
    lines: list[str] = []
    ctx = StageContext(
        job_id="bench", attempt=1, spec=spec, work_dir=work, videos_dir=tmp / "videos",
        uploads_dir=tmp / "uploads", created_at=datetime.now(UTC), log=lines.append,
        should_cancel=lambda: False, client_for=lambda name: None, config=app.config,
    )  # fmt: skip
    with app.app_context():
        run_script(ctx, lambda f, m: None)
        run_narration(ctx, lambda f, m: None)
    narration = Narration.load(work / NARRATION_FILE)
    video = _compiled_seconds(ctx, narration) if args.compile else None
    produced = video if video is not None else narration.duration
    notes = [ln for ln in lines if not ln.startswith(("Script:", "Narration:"))]
    return {"voice": voice, "kind": kind, "amount": amount, "seed": seed, "wanted": wanted,
            "produced": produced, "narration": narration.duration, "notes": notes,
            "tempo": getattr(narration, "tempo", 1.0)}  # fmt: skip


def _label(kind: str, amount: float) -> str:
    return f"task {amount:g} s" if kind == "task" else f"{amount:g} min"


def _print(rows: list[dict]) -> None:
    print(f"{'voice':<20} {'request':<10} {'seed':>4} {'wanted':>7} {'got':>8} {'err s':>7} "
          f"{'err %':>7} {'tempo':>6}")  # fmt: skip
    for r in rows:
        err = r["produced"] - r["wanted"]
        print(f"{r['voice']:<20} {_label(r['kind'], r['amount']):<10} {r['seed']:>4} "
              f"{r['wanted']:>7.1f} {r['produced']:>8.2f} {err:>+7.2f} "
              f"{100 * err / r['wanted']:>+7.1f} {r['tempo']:>6.3f}")  # fmt: skip
        for note in r["notes"]:
            print(f"{'':<20} note: {note}")
    print("\nmedians (per voice and request): produced s, error %, spread of produced s")
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["voice"], r["kind"], r["amount"]), []).append(r)
    for (voice, kind, amount), rs in groups.items():
        got = [r["produced"] for r in rs]
        pct = [100 * (r["produced"] - r["wanted"]) / r["wanted"] for r in rs]
        print(f"{voice:<20} {_label(kind, amount):<10} wanted {rs[0]['wanted']:>6.1f}  "
              f"median {statistics.median(got):>7.2f}  err {statistics.median(pct):>+6.1f} %  "
              f"spread {max(got) - min(got):.2f} s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", nargs="+", default=["male_narrator_deep", "espeak_male"])
    parser.add_argument("--minutes", nargs="+", type=float, default=[0.2, 1.0, 3.0])
    parser.add_argument("--tasks", nargs="*", type=int, default=[5], help="task seconds")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--repeat", type=int, default=1, help="runs per seed (determinism)")
    parser.add_argument("--compile", action="store_true", help="measure the compiled MP4")
    parser.add_argument(
        "--task-seconds", action="store_true", help="tasks send exact `seconds` (proposed API)"
    )
    args = parser.parse_args()
    requests = [("min", m) for m in args.minutes] + [("task", float(s)) for s in args.tasks]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-durations-") as tmp_name:
        tmp = Path(tmp_name)
        app = _app(tmp)
        for voice in args.voices:
            for kind, amount in requests:
                for seed in args.seeds:
                    for _ in range(args.repeat):
                        rows.append(run_one(app, tmp, voice, kind, amount, seed, args))
    _print(rows)


if __name__ == "__main__":
    main()
