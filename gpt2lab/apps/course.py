"""``gpt2lab course [FOLDER]``: copy the course's notebooks into a folder of the learner's, then open it in JupyterLab.

    gpt2lab course                      # ./gpt2lab-course, then JupyterLab on 127.0.0.1 with 00_start_here open
    gpt2lab course my-course --port 8890 --no-browser
    gpt2lab course my-course --copy-only

The notebooks ship inside the installed package (``gpt2lab/course/``, copied there when the wheel is
built); an editable install of the repository reads its ``notebooks/`` folder instead. A notebook the
learner has changed is never overwritten: it is kept, and the fresh copy is written beside it as
``NAME.fresh.ipynb``. "Changed" means its cells' text: running a notebook and saving its outputs changes
nothing. A notebook the command copied earlier and the learner never edited is brought up to date
(``.gpt2lab-course.json`` in the folder records what was copied).

JupyterLab runs as a child process on 127.0.0.1 only, with a token; Ctrl-C (or SIGTERM) stops it.

A first view a lecturer can project: for the course only (``.gpt2lab/`` in the folder, nothing in the
learner's own JupyterLab settings), JupyterLab's news and update pop-ups are off (default settings,
which a learner's own choice still overrides), and its workspace starts fresh every time, so
``00_start_here`` opens alone, without the tabs of an earlier session.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"  # this computer only
DEFAULT_FOLDER = "gpt2lab-course"
DEFAULT_PORT = 8888
FIRST_NOTEBOOK = "00_start_here.ipynb"
MANIFEST = ".gpt2lab-course.json"  # name -> fingerprint of the copy this command last wrote
LAB_DIR = ".gpt2lab"  # in the course folder: JupyterLab's settings defaults and workspace for the course
# JupyterLab defaults for the course: no "Jupyter news" question, no update notice over the first notebook
SETTING_DEFAULTS = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}


def shipped_notebooks() -> Path:
    """The folder of the course's notebooks: the package's copy, else (an editable install) the repository's."""
    package_copy = Path(__file__).resolve().parents[1] / "course"
    if any(package_copy.glob("*.ipynb")):
        return package_copy
    repository = Path(__file__).resolve().parents[2] / "notebooks"
    if any(repository.glob("*.ipynb")):
        return repository
    from gpt2lab.errors import LabError

    raise LabError("This installation of gpt2lab has no course notebooks; reinstall it with: pip install --force-reinstall gpt2lab")


def fingerprint(data: bytes) -> str:
    """A notebook's text: the sha256 of its cells' types and sources (outputs, counts and metadata aside).

    >>> a = b'{"cells": [{"cell_type": "code", "source": ["x = 1"], "outputs": []}]}'
    >>> b = b'{"cells": [{"cell_type": "code", "source": "x = 1", "outputs": [{"text": "1"}], "execution_count": 3}]}'
    >>> fingerprint(a) == fingerprint(b), fingerprint(a) == fingerprint(a.replace(b"x = 1", b"x = 2"))
    (True, False)
    """
    try:
        cells = json.loads(data)["cells"]
        text = json.dumps([(c["cell_type"], "".join(c["source"])) for c in cells])
    except (ValueError, KeyError, TypeError):  # not a notebook we can read: compare the bytes
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class CopyResult:
    """What :func:`copy_course` did, notebook by notebook (names relative to the folder)."""

    copied: list[str]  # new in the folder
    updated: list[str]  # copied before, untouched by the learner, now replaced by the newer shipped version
    unchanged: list[str]  # already the same as the shipped copy
    kept: list[tuple[str, str]]  # (the learner's changed notebook, where the fresh copy went)

    def lines(self) -> list[str]:
        """One line per kept notebook, and one summary line."""
        out = [f"kept your changed {name}; the fresh copy is {fresh}" for name, fresh in self.kept]
        out.append(f"{len(self.copied)} notebooks copied, {len(self.updated)} updated, {len(self.unchanged)} already up to date, "
                   f"{len(self.kept)} kept as you changed them")
        return out


def fresh_name(name: str) -> str:
    """``05_logits_and_sampling.ipynb`` -> ``05_logits_and_sampling.fresh.ipynb``."""
    return name.removesuffix(".ipynb") + ".fresh.ipynb"


def copy_course(folder: Path, source: Path | None = None) -> CopyResult:
    """Copy every shipped notebook into ``folder`` without ever overwriting one the learner has changed."""
    source = shipped_notebooks() if source is None else Path(source)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path = folder / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    result = CopyResult([], [], [], [])
    for notebook in sorted(source.glob("*.ipynb")):
        target, shipped = folder / notebook.name, notebook.read_bytes()
        shipped_hash = fingerprint(shipped)
        if not target.exists():
            target.write_bytes(shipped)
            result.copied.append(notebook.name)
        elif fingerprint(target.read_bytes()) == shipped_hash:  # the same text (perhaps run, with outputs): leave it
            result.unchanged.append(notebook.name)
        elif fingerprint(target.read_bytes()) == manifest.get(notebook.name):  # our earlier copy, never edited: update it
            target.write_bytes(shipped)
            result.updated.append(notebook.name)
        else:  # the learner's work: keep it, put the fresh copy beside it
            (folder / fresh_name(notebook.name)).write_bytes(shipped)
            result.kept.append((notebook.name, fresh_name(notebook.name)))
            continue  # the manifest keeps what we copied before, not the learner's version
        manifest[notebook.name] = shipped_hash
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return result


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def prepare_lab(folder: Path) -> dict[str, str]:
    """Write the course's JupyterLab defaults and empty its workspace; return the environment JupyterLab runs in.

    The defaults are a ``labconfig/default_setting_overrides.json`` on ``JUPYTER_CONFIG_PATH``: JupyterLab
    reads it as its default settings, below whatever the learner has set themselves.
    """
    lab_dir = Path(folder) / LAB_DIR
    (lab_dir / "labconfig").mkdir(parents=True, exist_ok=True)
    (lab_dir / "labconfig" / "default_setting_overrides.json").write_text(json.dumps(SETTING_DEFAULTS, indent=1) + "\n")
    workspaces = lab_dir / "workspaces"
    workspaces.mkdir(exist_ok=True)
    for old in workspaces.glob("*.jupyterlab-workspace"):  # a fresh start: no tabs from an earlier session
        old.unlink()
    paths = [str(lab_dir)] + ([os.environ["JUPYTER_CONFIG_PATH"]] if os.environ.get("JUPYTER_CONFIG_PATH") else [])
    return dict(os.environ, JUPYTER_CONFIG_PATH=os.pathsep.join(paths))


def jupyterlab_command(folder: Path, port: int, token: str, open_browser: bool) -> list[str]:
    """The JupyterLab command line: 127.0.0.1, this port exactly, this token, the first notebook open (alone,
    in the course's own workspace), no update check."""
    command = [sys.executable, "-m", "jupyterlab", FIRST_NOTEBOOK, f"--ServerApp.root_dir={folder}",
               f"--ServerApp.ip={HOST}", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--LabApp.workspaces_dir={Path(folder) / LAB_DIR / 'workspaces'}",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if not open_browser:
        command.append("--no-browser")
    if os.geteuid() == 0:  # containers, classroom VMs and cloud notebooks often run as root
        command.append("--allow-root")
    return command


def wait_until_serving(base: str, token: str, proc: subprocess.Popen, timeout_s: float = 120) -> bool:
    """True once JupyterLab answers; False if it exited or did not answer within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            return True
        except OSError:
            time.sleep(0.3)
    return False


def stop(proc: subprocess.Popen, timeout_s: float = 20) -> None:
    """Stop JupyterLab (our child, by its PID) and its kernels."""
    if proc.poll() is None:
        proc.terminate()  # JupyterLab shuts its kernels down on SIGTERM
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def interrupt(signum, frame):
    raise KeyboardInterrupt


def parser(prog: str = "gpt2lab course") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Copy the course's notebooks into FOLDER (never overwriting one you "
                                "changed), then open them in JupyterLab on 127.0.0.1.")
    p.add_argument("folder", nargs="?", default=DEFAULT_FOLDER, help=f"where the notebooks go (default: ./{DEFAULT_FOLDER})")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser; open the printed address yourself")
    p.add_argument("--port", type=int, default=None, help=f"JupyterLab's port (default {DEFAULT_PORT}, or a free one if it is taken)")
    p.add_argument("--copy-only", action="store_true", help="copy the notebooks and stop (no JupyterLab)")
    return p


def main(argv: list[str] | None = None, prog: str = "gpt2lab course") -> int:
    from gpt2lab.errors import LabError

    args = parser(prog).parse_args(argv)
    folder = Path(args.folder).resolve()
    try:
        result = copy_course(folder)
    except (LabError, OSError) as error:
        print(f"gpt2lab: {error}", file=sys.stderr)
        return 2
    print(f"gpt2lab: the course is in {folder}")
    for line in result.lines():
        print(f"gpt2lab: {line}")
    if args.copy_only:
        return 0
    if args.port is not None and not port_is_free(args.port):
        print(f"gpt2lab: port {args.port} is taken; choose another with --port, or leave --port out", file=sys.stderr)
        return 2
    port = args.port if args.port is not None else (DEFAULT_PORT if port_is_free(DEFAULT_PORT) else free_port())
    token = secrets.token_hex(24)
    proc = subprocess.Popen(jupyterlab_command(folder, port, token, open_browser=not args.no_browser),
                            cwd=folder, env=prepare_lab(folder), start_new_session=True)  # its own session: Ctrl-C reaches us, and we stop it
    # Ctrl-C (SIGINT) and `kill PID` (SIGTERM) stop JupyterLab; SIGINT set explicitly, because a command started
    # in the background by a script inherits SIGINT ignored, and then Ctrl-C would do nothing
    stopping = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        base = f"http://{HOST}:{port}"
        if not wait_until_serving(base, token, proc):
            print("gpt2lab: JupyterLab did not start (its messages are above)", file=sys.stderr)
            return 1
        print(f"gpt2lab: the course is open at {base}/lab/tree/{FIRST_NOTEBOOK}?token={token}", flush=True)
        print("gpt2lab: press Ctrl-C to stop JupyterLab", flush=True)
        return proc.wait()
    except KeyboardInterrupt:
        print("\ngpt2lab: stopping JupyterLab", file=sys.stderr)
        return 0
    finally:
        stop(proc)
        for sig, handler in stopping.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
