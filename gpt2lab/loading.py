"""Loading a GPT-2: real checkpoints through Hugging Face, or the embedded model that ships with the kit.

``load()`` never waits long for a network: it looks in the local Hugging Face cache first, then asks the
hub for at most a few seconds, and otherwise loads the embedded model, saying so in one line.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from pathlib import Path
from urllib.parse import urlparse

from transformers import GPT2LMHeadModel, GPT2TokenizerFast  # imported with the kit: load() itself stays quick

from gpt2lab.errors import LabError
from gpt2lab.inputs import first_line
from gpt2lab.lab import Lab, pick_device

# Real GPT-2 checkpoints on the Hugging Face hub, by the names the course uses.
HF_NAMES = ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl", "distilgpt2")
HUB_REPOS = {
    "gpt2": "openai-community/gpt2",
    "gpt2-medium": "openai-community/gpt2-medium",
    "gpt2-large": "openai-community/gpt2-large",
    "gpt2-xl": "openai-community/gpt2-xl",
    "distilgpt2": "distilbert/distilgpt2",
}
EMBEDDED_NAME = "tiny"  # the small GPT-2 trained for this kit, shipped inside the package
ASSETS = Path(__file__).parent / "assets"  # everything the kit ships: the embedded model, GPT-2's tokenizer, texts
EMBEDDED_PATH = ASSETS / "tiny"
GPT2_TOKENIZER_PATH = ASSETS / "gpt2_tokenizer"  # GPT-2's own 50,257-token tokenizer, offline
HUB_TIMEOUT_S = 3.0  # how long "auto" waits for the hub before using the embedded model
MODEL_ENV = "GPT2LAB_MODEL"  # the environment variable that chooses the model for the whole course


def load(name_or_path: str | os.PathLike | None = None, *, device=None) -> Lab:
    """Load a GPT-2 into a :class:`Lab`.

    ``name_or_path``: ``None`` (the model named by ``$GPT2LAB_MODEL`` if it is set, else ``"auto"``),
    ``"auto"`` (real ``gpt2`` if it is cached or the hub answers within seconds, else the embedded model),
    ``"tiny"`` (the embedded model, always offline), one of ``gpt2``, ``gpt2-medium``, ``gpt2-large``,
    ``gpt2-xl``, ``distilgpt2``, or a folder written by ``save_pretrained``.
    ``device``: ``"cpu"`` or ``"cuda"``; ``None`` means ``$GPT2LAB_DEVICE``, else the CPU (see
    :func:`~gpt2lab.lab.pick_device`).

    ``lab.choice`` says in one line which model was loaded and why (the course's notebooks print it).
    """
    if name_or_path is not None and not isinstance(name_or_path, (str, os.PathLike)):
        raise LabError(f"Give the model's name or folder as a text, like gpt2lab.load('tiny'), not {type(name_or_path).__name__}.")
    from_env = name_or_path is None and os.environ.get(MODEL_ENV, "").strip() != ""
    if from_env:
        name_or_path = os.environ[MODEL_ENV].strip()
    lab = _load_named(name_or_path, device)
    if from_env:
        lab.why = f"{MODEL_ENV} is set to {str(name_or_path)!r}" + (f", and {lab.why}" if lab.why else "")
    return lab


def _load_named(name_or_path, device) -> Lab:
    if name_or_path is None or name_or_path == "auto":
        return _load_auto(device)
    if name_or_path == EMBEDDED_NAME:
        return load_folder(EMBEDDED_PATH, name=EMBEDDED_NAME, device=device, source="embedded in gpt2lab (offline)")
    if name_or_path in HF_NAMES:
        return _load_hub(str(name_or_path), device)
    if Path(name_or_path).is_dir():
        return load_folder(Path(name_or_path), device=device)
    valid = ", ".join(repr(n) for n in ("auto", EMBEDDED_NAME, *HF_NAMES))
    raise LabError(f"There is no model called {str(name_or_path)!r}: use one of {valid}, or the path of a folder saved with save_pretrained.")


PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json", "model.ckpt", "model.pt", "model.pth")  # never unpickled
SAFETENSORS_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")  # one file, or the index of shards


def load_folder(path: Path, *, name: str | None = None, device=None, source: str | None = None) -> Lab:
    """Load a model folder in Hugging Face format (config.json, model.safetensors, tokenizer files).

    Weights are read from safetensors only: a pickle file (``pytorch_model.bin``) can run code when it is
    opened, so gpt2lab never opens one. Each problem with the folder is one sentence saying what to fix.
    """
    path = Path(path)
    check_model_folder(path)
    try:
        with quiet_transformers():
            model = GPT2LMHeadModel.from_pretrained(path, local_files_only=True, attn_implementation="eager", use_safetensors=True)
    except Exception as error:  # transformers and huggingface_hub raise many kinds; the learner needs one sentence
        raise LabError(f"transformers could not load the model in {path} ({first_line(error)}); save it again with save_pretrained.") from None
    model = model.float().to(pick_device(device)).eval()  # the embedded model ships in fp16; the lessons compute in fp32
    return Lab(model, load_tokenizer(path, model.config.vocab_size), name=name or str(path), source=source or f"local folder {path}")


def check_model_folder(path: Path) -> None:
    """A GPT-2 folder: a config.json that is a GPT-2's, and safetensors weights (never pickle files)."""
    config_file = path / "config.json"
    if not config_file.is_file():
        raise LabError(f"The folder {path} holds no config.json; give a folder written by save_pretrained.")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise LabError(f"The config.json in {path} is not valid JSON ({first_line(error)}); fix it or save the model again with save_pretrained.") from None
    if not isinstance(config, dict):
        raise LabError(f"The config.json in {path} is not a JSON object of settings; save the model again with save_pretrained.")
    model_type = config.get("model_type", "gpt2")
    if model_type != "gpt2":
        raise LabError(f"The folder {path} holds a {model_type!r} model, not a GPT-2 (model_type 'gpt2'); give a GPT-2 folder.")
    if not any((path / f).is_file() for f in SAFETENSORS_WEIGHTS):
        pickles = [f for f in PICKLE_WEIGHTS if (path / f).is_file()]
        if pickles:
            raise LabError(
                f"The folder {path} holds only pickle weights ({pickles[0]}), which gpt2lab never opens because unpickling can run code; "
                f"if you trust the file, convert it with transformers' model.save_pretrained(folder, safe_serialization=True)."
            )
        raise LabError(f"The folder {path} holds no model.safetensors; save the model into it with save_pretrained.")


def load_tokenizer(path: Path, vocab_size: int):
    """The folder's tokenizer, or GPT-2's own (shipped with the kit) for a folder without one."""
    has_files = (path / "tokenizer.json").exists() or (path / "vocab.json").exists()
    if not has_files:
        if vocab_size != 50257:
            raise LabError(f"The folder {path} has no tokenizer files and its vocabulary ({vocab_size}) is not GPT-2's; save the tokenizer with the model.")
        path = GPT2_TOKENIZER_PATH
    try:
        with quiet_transformers():
            tokenizer = GPT2TokenizerFast.from_pretrained(path, local_files_only=True)
    except Exception as error:  # tokenizers raises its own Exception subclass for a broken tokenizer.json
        raise LabError(f"The tokenizer files in {path} could not be read ({first_line(error)}); save the tokenizer again with save_pretrained.") from None
    # transformers 5 can build an empty tokenizer without a word of warning: refuse it.
    if len(tokenizer) <= 1:
        raise LabError(f"The tokenizer in {path} loaded empty; check its vocab.json/merges.txt or tokenizer.json.")
    return tokenizer


def _load_hub(name: str, device) -> Lab:
    repo = HUB_REPOS[name]
    cached = _in_local_cache(repo)
    if not cached and not hub_reachable():
        raise LabError(
            f"{name} is not in the local Hugging Face cache and the hub cannot be reached; connect to the internet, "
            f"or use gpt2lab.load('{EMBEDDED_NAME}') for the embedded model."
        )
    with quiet_transformers():
        model = GPT2LMHeadModel.from_pretrained(repo, local_files_only=cached, attn_implementation="eager", use_safetensors=True)
    tokenizer = load_tokenizer(GPT2_TOKENIZER_PATH, model.config.vocab_size)  # GPT-2's, identical to the hub's
    source = "from the local Hugging Face cache" if cached else "downloaded from the Hugging Face hub"
    return Lab(model.to(pick_device(device)).eval(), tokenizer, name=name, source=source)


def _load_auto(device) -> Lab:
    repo = HUB_REPOS["gpt2"]
    if _in_local_cache(repo):
        lab, why = _load_hub("gpt2", device), "it is in the local Hugging Face cache"
    elif hub_reachable():
        lab, why = _load_hub("gpt2", device), "the Hugging Face hub answered"
    else:
        lab = _load_named(EMBEDDED_NAME, device)
        why = f"real GPT-2 is not in the local cache and the Hugging Face hub did not answer within {HUB_TIMEOUT_S:.0f} s"
    lab.why = why
    return lab


@contextlib.contextmanager
def quiet_transformers():
    """No "Loading weights" progress bar under every load: a notebook cell shows one line, not noise."""
    from transformers.utils import logging

    was_enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            logging.enable_progress_bar()


def _in_local_cache(repo: str) -> bool:
    """True if the checkpoint's config and safetensors weights are in the local Hugging Face cache."""
    from huggingface_hub import try_to_load_from_cache

    found = [try_to_load_from_cache(repo, f) for f in ("config.json", "model.safetensors")]
    return all(isinstance(f, str) for f in found)


def hub_reachable(timeout: float = HUB_TIMEOUT_S) -> bool:
    """Can we open a connection to the Hugging Face hub within ``timeout`` seconds?

    ``HF_HUB_OFFLINE=1`` means no. The probe runs in a thread, so even a stuck name lookup cannot hold
    the caller longer than ``timeout``.
    """
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE"):
        return False
    url = urlparse(constants.ENDPOINT)
    host, port = url.hostname, url.port or (443 if url.scheme == "https" else 80)
    answered = threading.Event()

    def probe():
        try:
            with socket.create_connection((host, port), timeout=timeout):
                answered.set()
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return answered.is_set()
