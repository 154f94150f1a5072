"""What a worker process carries: the Celery app loads every app's tasks, and a mail worker that
never fits or applies a topic model must not pay scikit-learn's ~80 MB for it."""

import subprocess
import sys

from testsupport.processes import process_env


def test_loading_the_celery_app_and_every_task_does_not_import_scikit_learn():
    script = (
        "import django, sys; django.setup()\n"
        "from config.celery import app\n"
        "app.loader.import_default_modules()\n"
        "import newsletter.sending, papers.tasks, subscriptions.tasks\n"
        "assert 'newsletter.tasks' in sys.modules and 'papers.tag_writes' in sys.modules\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=process_env(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
