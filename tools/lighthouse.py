"""Lighthouse on the signup page, as a phone sees it: `make lighthouse`.

Starts the product in production shape (DEBUG off, collected and compressed static files, gunicorn) on
the demo data in a throwaway folder, runs npm's `lighthouse` (tools/package.json) with Debian's
Chromium (never a downloaded browser), prints the performance and accessibility scores with the audits
that cost points, and fails when either is under LIGHTHOUSE_MIN (95). `--preset desktop` (or
LIGHTHOUSE_PRESET=desktop) for the desktop preset; the default emulates a phone.
"""

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "tools" / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CATEGORIES = ("performance", "accessibility")


def _server_env(var_dir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SITE_URL"}
    }
    env.update(
        PAPERBOY_VAR_DIR=str(var_dir),
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        STATIC_ROOT=str(var_dir / "static"),
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONUNBUFFERED="1",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )


def _failing_audits(report: dict, category: str) -> list[str]:
    refs = report["categories"][category]["auditRefs"]
    lines = []
    for ref in refs:
        audit = report["audits"].get(ref["id"], {})
        score = audit.get("score")
        if ref.get("weight", 0) and score is not None and score < 0.9:
            lines.append(f"    {audit['id']}: {score:.2f} {audit.get('displayValue', '')}".rstrip())
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--preset", choices=("phone", "desktop"), default=os.environ.get("LIGHTHOUSE_PRESET", "phone")
    )
    parser.add_argument("--path", default="/", help="page to measure (default: the signup page)")
    parser.add_argument("--min", type=float, default=float(os.environ.get("LIGHTHOUSE_MIN", "95")))
    parser.add_argument("--output", default=str(ROOT / "lighthouse-report.json"))
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        print(
            "lighthouse is not installed: run 'npm ci --prefix tools' (make lighthouse does)", file=sys.stderr
        )
        return 2
    if not Path(CHROMIUM).exists():
        print(f"no Chromium at {CHROMIUM}: run 'make browser'", file=sys.stderr)
        return 2

    sys.path.insert(0, str(ROOT))
    from testsupport.processes import free_port, stop_process_group, wait_for_http

    work = Path(tempfile.mkdtemp(prefix="paperboy-lighthouse-"))
    env = _server_env(work / "var")
    try:
        _manage(env, "migrate", "--noinput")
        _manage(env, "seed_demo")
        _manage(env, "collectstatic", "--noinput")
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--worker-class", "gthread", "--threads", "4"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}{args.path}"
            wait_for_http(f"http://127.0.0.1:{port}/robots.txt", timeout=60)
            # A visitor has been there before: the cached page shells are built (subscriptions.shells).
            for _ in range(4):  # one per gunicorn process, give or take
                wait_for_http(url, timeout=60)
            command = [
                str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={args.output}",
                "--chrome-flags=--headless=new --no-sandbox", f"--only-categories={','.join(CATEGORIES)}",
            ]  # fmt: skip
            if args.preset == "desktop":
                command.append("--preset=desktop")
            subprocess.run(command, env={**os.environ, "CHROME_PATH": CHROMIUM}, check=True, timeout=300)
        finally:
            stop_process_group(server)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    report = json.loads(Path(args.output).read_text())
    below = []
    print(f"Lighthouse {report['lighthouseVersion']}, {args.preset}, {args.path}")
    for category in CATEGORIES:
        score = round(report["categories"][category]["score"] * 100)
        print(f"  {category}: {score}")
        for line in _failing_audits(report, category):
            print(line)
        if score < args.min:
            below.append(category)
    metrics = report["audits"]
    for audit in (
        "first-contentful-paint",
        "largest-contentful-paint",
        "total-blocking-time",
        "cumulative-layout-shift",
    ):
        print(f"  {metrics[audit]['title']}: {metrics[audit].get('displayValue', '')}")
    print(f"  report: {args.output}")
    if below:
        print(f"under {args.min:.0f}: {', '.join(below)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
