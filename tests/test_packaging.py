"""Packaging: environment.yml agrees with pyproject.toml, CI runs the README's test command, doctests pass."""

from __future__ import annotations

import doctest
import importlib
import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_lists_the_same_packages_as_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    packages = [p for p in pip_section if not p.startswith("-e")]
    assert sorted(packages) == sorted(pyproject()["project"]["dependencies"])
    assert any(p.startswith("-e .") for p in pip_section)  # and installs the kit itself
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    minimum = pyproject()["project"]["requires-python"].removeprefix(">=")
    assert tuple(map(int, python.split("=")[-1].split("."))) >= tuple(map(int, minimum.split(".")))


def test_torch_requirement_is_satisfied_by_the_local_cpu_build():
    from packaging.requirements import Requirement

    torch_req = next(Requirement(r) for r in pyproject()["project"]["dependencies"] if r.startswith("torch"))
    assert torch_req.specifier.contains("2.13.0")


def readme_test_command() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- test-command -->\s*```bash\n(.+?)\n```", text, re.S)
    assert match, "README.md must mark its test command with <!-- test-command -->"
    return match.group(1).strip()


def test_ci_runs_the_readme_test_command():
    command = readme_test_command()
    test_line = command.split("&&")[-1].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_line in ci, f"{test_line!r} is not in .ci/run"


def every_module() -> list[str]:
    """Every module of the package (the command-line entry point aside, which runs on import)."""
    import pkgutil

    import gpt2lab

    return sorted(m.name for m in pkgutil.walk_packages(gpt2lab.__path__, "gpt2lab.") if not m.name.endswith("__main__"))


def test_every_module_is_found():
    assert {"gpt2lab.model.attention", "gpt2lab.tokenizer.bpe", "gpt2lab.generation.sampling",
            "gpt2lab.analysis.logit_lens", "gpt2lab.training.optim", "gpt2lab.viz.labels"} <= set(every_module())


@pytest.mark.parametrize("name", every_module())
def test_docstring_examples_are_true(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
