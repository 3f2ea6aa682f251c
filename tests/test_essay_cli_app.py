"""The essay generator: its text rules, the command line, and the optional gradio app (offline, 127.0.0.1)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import byte_level_tokenizer, random_hf_model, random_lab

import gpt2lab.generation.loop as generation_module
from gpt2lab import LabError
from gpt2lab.apps.cli import main
from gpt2lab.apps.essay import PARAGRAPHS, count_paragraph_breaks, cut_at_sentence_end, split_paragraphs, write_essay
from gpt2lab.generation.loop import take_step
from gpt2lab.generation.stopping import STOPPED_AT_CONTEXT_FULL, STOPPED_AT_END_OF_TEXT, STOPPED_AT_LENGTH
from gpt2lab.loading import EMBEDDED_PATH

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def lab():
    return random_lab((2, 4, 32, 64, 512), seed=1)


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    """A random GPT-2 saved like a real checkpoint, for the command line and the app."""
    folder = tmp_path_factory.mktemp("model")
    random_hf_model(2, 4, 32, 256, 512, seed=1).save_pretrained(folder)
    byte_level_tokenizer(400).save_pretrained(folder)
    return folder


def scripted(monkeypatch, lab, text):
    """Make the generation loop the essay runs write ``text`` (forced token by token through the real take_step),
    then <|endoftext|>."""
    script = iter(lab.encode(text) + [lab.tokenizer.eos_token_id])

    def forced_step(lab_, cache, ids, settings, generator, token_id=None, **kwargs):
        return take_step(lab_, cache, ids, settings, generator, next(script), **kwargs)

    monkeypatch.setattr(generation_module, "take_step", forced_step)


def test_text_rules():
    assert cut_at_sentence_end("It rained. We stayed in. Then the") == ("It rained. We stayed in.", True)
    assert cut_at_sentence_end('"Stop!" she said. And') == ('"Stop!" she said.', True)
    assert cut_at_sentence_end('He asked, "Why?" Then') == ('He asked, "Why?"', True)
    assert cut_at_sentence_end("Mr. Darcy") == ("Mr.", True)  # a known limit of the simple rule
    assert cut_at_sentence_end("no end here ") == ("no end here", False)
    assert cut_at_sentence_end("Done. more", start=5) == ("Done. more", False)
    assert count_paragraph_breaks("a\n\nb\n \n\nc\nd") == 3
    assert split_paragraphs("One.\n\n Two.\n\n\nThree.\n") == ["One.", "Two.", "Three."]


def test_essay_stops_after_the_paragraphs_at_a_sentence_end(lab, monkeypatch):
    scripted(monkeypatch, lab, " He came. She left.\n\n\nThey met again. Then\nMore text follows here.")
    essay = write_essay(lab, "Once,", paragraphs=2, max_new_tokens=200)
    assert essay.stop_reason == PARAGRAPHS and essay.clean_end
    assert essay.text == "Once, He came. She left.\n\nThey met again."
    assert essay.paragraphs == ["Once, He came. She left.", "They met again."]
    assert str(essay) == essay.text and len(essay.steps) == len(lab.encode(" He came. She left.\n\n\nThey met again. Then\n"))


def test_essay_length_and_end_of_text(lab, monkeypatch):
    n = len(lab.encode(" One. Two. Three"))
    scripted(monkeypatch, lab, " One. Two. Three four five six seven eight")
    essay = write_essay(lab, "Start:", paragraphs=1, max_new_tokens=n)  # one paragraph: its share is the whole budget
    assert essay.stop_reason == STOPPED_AT_LENGTH and essay.text == "Start: One. Two." and len(essay.steps) == n
    assert essay.clean_end
    scripted(monkeypatch, lab, " All done.")
    essay = write_essay(lab, "Start:", max_new_tokens=100)
    assert essay.stop_reason == STOPPED_AT_END_OF_TEXT and essay.text == "Start: All done."
    # each record is light: candidates, but no (vocab,) tensors and no trace stages
    assert essay.steps[0].probs is None and essay.steps[1].trace.names == [] and essay.steps[1].candidates


def test_essay_from_a_random_model(lab):
    essay = write_essay(lab, "The cat sat", paragraphs=2, max_new_tokens=30, seed=5)
    assert essay.text.startswith("The cat sat") and essay.stop_reason in (PARAGRAPHS, STOPPED_AT_LENGTH, STOPPED_AT_END_OF_TEXT, STOPPED_AT_CONTEXT_FULL)
    assert len(essay.steps) <= 30
    assert essay.text == write_essay(lab, "The cat sat", paragraphs=2, max_new_tokens=30, seed=5).text
    with pytest.raises(LabError, match="paragraphs must be"):
        write_essay(lab, "x", paragraphs=0)
    with pytest.raises(LabError, match="The prompt is empty"):
        write_essay(lab, "")
    with pytest.raises(LabError, match="The prompt is only spaces"):  # a model could continue it; nobody means it
        write_essay(lab, " \n\t ")


# --- the command line ------------------------------------------------------------------------------------


def test_cli_in_process(model_folder, capsys):
    assert main(["The cat sat", "--model", str(model_folder), "--max-new-tokens", "12", "--steps", "3", "--seed", "2"]) == 0
    out = capsys.readouterr()
    text, table = out.out.split("\n\n  pos")[0], out.out.split("\n\n  pos")[1]
    assert text.startswith("The cat sat")
    assert len(table.strip().splitlines()) == 1 + 12 or "end" in out.out  # a header row, then one row per step
    assert "parameters" in out.err and "tokens written with temperature 0.8, top-k 40, seed 2; stopped:" in out.err
    assert main(["The cat sat", "--model", str(model_folder), "--max-new-tokens", "12", "--seed", "2"]) == 0
    assert capsys.readouterr().out.strip() == text.strip()  # the same seed, the same essay


@pytest.mark.parametrize("args,words", [
    (["", "--max-new-tokens", "5"], "The prompt is empty"),
    (["   ", "--max-new-tokens", "5"], "The prompt is only spaces"),
    (["essay", "\n \t"], "The prompt is only spaces"),
    (["Hi", "--top-k", "0"], "top_k must be"),
    (["Hi", "--top-p", "1.5"], "top_p must be"),
    (["Hi", "--temperature", "-1"], "temperature must be"),
    (["Hi", "--max-new-tokens", "0"], "max_new_tokens must be"),
    (["Hi", "--paragraphs", "0"], "paragraphs must be"),
])
def test_cli_bad_input_one_line_exit_2(model_folder, capsys, args, words):
    assert main(args + ["--model", str(model_folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [err[0]] and err[0].startswith(f"gpt2lab: {words}")  # one sentence, before any model is loaded


def test_cli_unknown_model_and_bad_flag(capsys):
    assert main(["Hi", "--model", "gpt5"]) == 2
    assert "There is no model called 'gpt5'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["Hi", "--top-k", "many"])
    assert info.value.code == 2


@pytest.mark.parametrize("sub", ["course", "essay", "app", "train", "evaluate"])
def test_every_subcommand_has_help(sub, capsys):
    with pytest.raises(SystemExit) as info:
        main([sub, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage:") and "--help" in out
    expected = {"course": ["--no-browser", "--port", "--copy-only", "folder"], "essay": ["prompt", "--steps", "--top-k"],
                "app": ["--port", "--share", "--model"], "train": ["--minutes", "--out", "--lr"], "evaluate": ["folder", "--subset"]}
    assert all(flag in out for flag in expected[sub]), out


def test_the_overview_lists_every_subcommand(capsys):
    from gpt2lab.apps.cli import SUBCOMMANDS

    for argv in ([], ["--help"], ["-h"]):
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert out.startswith("usage: gpt2lab COMMAND") and all(f"\n  {name} " in out for name in SUBCOMMANDS)
    assert list(SUBCOMMANDS) == ["course", "essay", "app", "train", "evaluate"]


def test_essay_subcommand_equals_the_default(model_folder, capsys):
    """`gpt2lab essay "prompt"` and `gpt2lab "prompt"` write the same essay; a prompt that is a word like "course"
    needs the sub-command."""
    args = ["--model", str(model_folder), "--max-new-tokens", "8", "--seed", "4"]
    assert main(["essay", "The cat sat"] + args) == 0
    with_sub = capsys.readouterr().out
    assert main(["The cat sat"] + args) == 0
    assert capsys.readouterr().out == with_sub and with_sub.startswith("The cat sat")
    assert main(["essay", "course"] + args) == 0
    assert capsys.readouterr().out.startswith("course")


def _env():
    return dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", GRADIO_ANALYTICS_ENABLED="False",
                PYTHONPATH=str(REPO))


def test_cli_subprocess_with_the_embedded_model():
    run = subprocess.run([sys.executable, "-m", "gpt2lab", "It is a truth universally acknowledged", "--model", "tiny",
                          "--max-new-tokens", "60", "--steps", "3"], capture_output=True, text=True, env=_env(), timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("It is a truth universally acknowledged") and "pos" in run.stdout
    assert "Loading weights" not in run.stderr and "stopped:" in run.stderr
    # (bad input exits with code 2: main() returns it, tested in process above; the process only adds sys.exit)


# --- the gradio app ----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_gradio_app_serves_an_essay_on_localhost(model_folder):
    pytest.importorskip("gradio")
    model = "tiny"
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gpt2lab.apps.web", "--model", model, "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env())
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 90
        while True:
            try:
                page = urllib.request.urlopen(base + "/", timeout=5).read().decode()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    pytest.fail(f"the app did not start: {proc.stdout.read() if proc.poll() is not None else 'timeout'}")
                time.sleep(0.5)
        assert "gradio" in page.lower()
        assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only, not 0.0.0.0
        # call the API endpoint: POST the inputs, then read the event stream for the result
        data = {"data": ["The cat sat", 1, 0.8, 40, 1.0, 20, 0]}
        request = urllib.request.Request(base + "/gradio_api/call/essay", json.dumps(data).encode(),
                                         {"Content-Type": "application/json"})
        event_id = json.loads(urllib.request.urlopen(request, timeout=30).read())["event_id"]
        stream = urllib.request.urlopen(f"{base}/gradio_api/call/essay/{event_id}", timeout=60).read().decode()
        lines = stream.splitlines()
        assert "event: complete" in lines, stream
        reply = json.loads(lines[lines.index("event: complete") + 1].removeprefix("data: "))
        essay = reply[0]
        assert essay.startswith("The cat sat")
        assert reply[1].startswith("Stopped after ") and " of 1 paragraphs" in reply[1]  # the page says why it stopped
        # a bad setting comes back as the one sentence
        bad = {"data": ["", 1, 0.8, 40, 1.0, 20, 0]}
        request = urllib.request.Request(base + "/gradio_api/call/essay", json.dumps(bad).encode(),
                                         {"Content-Type": "application/json"})
        event_id = json.loads(urllib.request.urlopen(request, timeout=30).read())["event_id"]
        stream = urllib.request.urlopen(f"{base}/gradio_api/call/essay/{event_id}", timeout=60).read().decode()
        assert "event: error" in stream and "The prompt is empty" in stream
    finally:
        proc.terminate()  # stopped by its PID
        try:
            output = proc.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0]
    assert "gradio.live" not in output  # no public share link unless asked


# --- the essay keeps its word: N paragraphs, or it says why not ---------------------------------------------


def test_a_paragraph_past_its_share_ends_at_its_next_sentence_end(lab, monkeypatch):
    # no line break at all: the breaks are put in at the first sentence end after each share of tokens
    text = " A b. C d. E f. G h. I j."
    scripted(monkeypatch, lab, text)
    n = len(lab.encode(text)) + 1
    essay = write_essay(lab, "Go:", paragraphs=3, max_new_tokens=n)
    share = n // 3  # 8 tokens: each paragraph ends at the first sentence end after 8 of its own tokens
    assert essay.paragraphs == ["Go: A b. C d.", "E f. G h.", "I j."]
    assert essay.text == "Go: A b. C d.\n\nE f. G h.\n\nI j." and essay.inserted_breaks == 2
    assert len(lab.encode(" A b. C d.")) >= share > len(lab.encode(" A b."))
    assert "3 of 3 paragraphs, as asked" in essay.stop_explanation


def test_fewer_paragraphs_say_why(lab, monkeypatch):
    scripted(monkeypatch, lab, " All done.")
    essay = write_essay(lab, "Start:", paragraphs=3, max_new_tokens=100)
    assert len(essay.paragraphs) == 1 and essay.stop_reason == STOPPED_AT_END_OF_TEXT
    assert essay.stop_explanation == ("Stopped after 1 of 3 paragraphs because the model wrote <|endoftext|>, "
                                      "its end-of-document token.")
    scripted(monkeypatch, lab, " one long sentence that never ends and goes on and on")
    essay = write_essay(lab, "Start:", paragraphs=2, max_new_tokens=20)
    assert essay.stop_reason == STOPPED_AT_LENGTH and not essay.clean_end
    assert "1 of 2 paragraphs because the requested number of new tokens has been written" in essay.stop_explanation
    assert "mid-sentence" in essay.stop_explanation


@pytest.mark.parametrize("paragraphs", [1, 2, 3, 4])
def test_the_embedded_model_writes_the_paragraphs_asked_for(paragraphs):
    import gpt2lab

    tiny = gpt2lab.load("tiny")
    essay = write_essay(tiny, "The lighthouse keeper wrote in his diary", paragraphs=paragraphs, max_new_tokens=300)
    if len(essay.paragraphs) != paragraphs:
        assert essay.stop_reason != PARAGRAPHS and "because" in essay.stop_explanation
    else:
        assert f"{paragraphs} of {paragraphs} paragraphs" in essay.stop_explanation
    assert len(essay.paragraphs) >= min(paragraphs, 2)  # the rule put breaks in: Austen's model rarely writes one
