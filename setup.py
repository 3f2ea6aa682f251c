"""Build hook: the wheel carries the course. ``notebooks/*.ipynb`` (the source, where the README's Colab links
point) are copied into the built package as ``gpt2lab/course/``, which ``gpt2lab course`` copies for the learner.
An editable install has no copy: ``gpt2lab course`` reads the repository's ``notebooks/`` instead.
Everything else about the package is in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"


class build_py_with_course(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # an editable install reads notebooks/ where it is
            return
        course = Path(self.build_lib) / "gpt2lab" / "course"
        course.mkdir(parents=True, exist_ok=True)
        for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
            shutil.copyfile(notebook, course / notebook.name)


setup(cmdclass={"build_py": build_py_with_course})
