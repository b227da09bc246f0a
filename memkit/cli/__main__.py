"""``python -m memkit.cli``: the ``memkit`` command where the console script is not on PATH."""

from memkit.cli import app

app(prog_name="memkit")
