"""End-to-end benchmark: one 10-scene, ~60 s, 1080x1920 job through the real runner,
and in the same run the encoder floor (a plain x264 veryfast encode of as many frames
from stills, with the same audio). Prints wall, CPU seconds, per-stage times, peak RSS.

    make bench-e2e            (or: .venv/bin/python bench/e2e.py --scenes 10 --minutes 1)
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sora_app import create_app  # noqa: E402
from sora_app.jobs import store  # noqa: E402
from sora_app.jobs.runner import run_job  # noqa: E402
from sora_app.jobs.spec import JobSpec  # noqa: E402
from sora_app.pipeline.ffmpeg import ffmpeg_exe  # noqa: E402
from sora_app.pipeline.probe import probe  # noqa: E402


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _peak_rss_mb() -> tuple[float, float]:
    """(this process, the largest child such as ffmpeg), in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, kids


def run_job_once(tmp: Path, request: dict) -> tuple[dict, Path, float, float]:
    app = create_app(
        {
            "INSTANCE_DIR": tmp / "instance",
            "VIDEOS_DIR": tmp / "videos",
            "UPLOADS_DIR": tmp / "instance" / "uploads",
            "WORK_DIR": tmp / "instance" / "work",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'instance' / 'bench.sqlite'}",
            "KEEP_WORK_DIRS": True,  # the floor encode reuses the job's own stills and audio
        }
    )
    with app.app_context():
        spec = JobSpec.model_validate(request).with_seed()
        job_id = store.create_job(spec.model_dump(mode="json")).id
        assert store.claim_next("bench", 300) == job_id
    cpu0, wall0 = _cpu_seconds(), time.perf_counter()
    run_job(app, job_id, "bench")
    wall, cpu = time.perf_counter() - wall0, _cpu_seconds() - cpu0
    with app.app_context():
        job = store.get_job(job_id)
        result = job.to_progress_dict()
    if result["status"] != "complete":
        raise SystemExit(f"job did not complete: {result}")
    work = Path(app.config["WORK_DIR"]) / job_id
    result["timings"] = json.loads((work / "timings.json").read_text())
    return result, work, wall, cpu


def encoder_floor(work: Path, frames: int, fps: int, out: Path) -> tuple[float, float]:
    """x264 veryfast from the job's own stills (concat, no motion) + AAC of its narration."""
    scenes = sorted(work.glob("scene_*.jpg"))
    per_scene = frames / fps / len(scenes)
    listing = work / "floor.txt"
    lines = [f"file '{p}'\nduration {per_scene:.4f}" for p in scenes] + [f"file '{scenes[-1]}'"]
    listing.write_text("\n".join(lines) + "\n")
    cmd = [ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "concat", "-safe", "0",
           "-i", str(listing), "-i", str(work / "narration.wav"), "-frames:v", str(frames),
           "-r", str(fps), "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
           "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-shortest", str(out)]  # fmt: skip
    cpu0, wall0 = _cpu_seconds(), time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - wall0, _cpu_seconds() - cpu0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--voice", default="male_narrator_deep")
    parser.add_argument("--keep", action="store_true", help="keep the output folder")
    args = parser.parse_args()
    request = {
        "topic": "The Vanishing Lighthouse", "story_type": "scary_horror",
        "image_style": "cinematic", "voice_id": args.voice, "duration": args.minutes,
        "hook_intensity": "extreme", "pacing": "dynamic", "num_scenes": args.scenes,
        "characters": [{"name": "Sarah", "description": "25 years old, brown hair"}],
        "seed": 7,
    }  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="sora-bench-"))
    try:
        result, work, wall, cpu = run_job_once(tmp, request)
        video = tmp / "videos" / result["video_path"]
        info = probe(video)
        frames = round(info.duration * info.fps)
        floor_wall, floor_cpu = encoder_floor(work, frames, round(info.fps), tmp / "floor.mp4")
        own_rss, child_rss = _peak_rss_mb()
        report = {
            "video": f"{info.width}x{info.height} {info.fps:g} fps, {info.duration:.2f} s",
            "frames": frames,
            "job_wall_s": round(wall, 2),
            "job_cpu_s": round(cpu, 2),
            "cpu_s_per_output_s": round(cpu / info.duration, 3),
            "stage_wall_s": result["timings"],
            "floor_wall_s": round(floor_wall, 2),
            "floor_cpu_s": round(floor_cpu, 2),
            "compile_vs_floor": round(result["timings"]["compile"] / floor_wall, 2),
            "job_vs_floor": round(wall / floor_wall, 2),
            "peak_rss_mb": {"python": round(own_rss), "largest_child": round(child_rss)},
        }
        print(json.dumps(report, indent=2))
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
