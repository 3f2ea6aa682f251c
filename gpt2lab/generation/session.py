"""Stepper sessions a lecturer can save, load back and hand out.

A session is small: the model's name, the prompt, the settings, the seed the draws started from, and the
list of actions taken (each step with the settings in force and the token it chose, each back, each
goto). Loading REPLAYS those actions on the same model: the draws come from the same seeded generator,
so the stepper ends in the same state, with the same text and the same branch tree, and stepping on
draws the same next tokens the original would have.

    stepper.save("lesson.json")
    again = Stepper.load("lesson.json", lab)          # replays the actions (Stepper.replay)
    stepper.save_html("lesson.html")                  # one offline page: text, candidates, branch tree
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from gpt2lab.errors import LabError
from gpt2lab.generation.stopping import STOP_REASONS
from gpt2lab.viz.labels import token_label

FORMAT = "gpt2lab-stepper-session"  # what a session file says it is
VERSION = 1
HTML_CANDIDATES = 8  # candidates listed per step on the handout page


def session_dict(stepper) -> dict:
    """The session as plain JSON values."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "model": stepper.model.name,
        "prompt": stepper.prompt,
        "settings": stepper.actions[0]["settings"] if stepper.actions and "settings" in stepper.actions[0]
        else stepper.settings.to_dict(),
        "current_settings": stepper.settings.to_dict(),
        "seed": stepper.seed_used,
        "actions": list(stepper.actions),
        "branches": [list(b) for b in stepper.branches()],  # for a reader; loading checks them
        "current": stepper.new_ids,
    }


def save_session(stepper, path) -> None:
    """Write ``stepper``'s session to ``path`` as JSON."""
    try:
        Path(path).write_text(json.dumps(session_dict(stepper), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as err:
        raise LabError(f"Could not write the session to {str(path)!r} ({err.strerror}); choose another file name.") from None


def read_session(path) -> dict:
    """A session file's contents, checked to be a gpt2lab stepper session."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabError(f"There is no session file {str(path)!r}; check the name (a session ends in .json).") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise LabError(f"{str(path)!r} is not a saved stepper session (it is not readable JSON).") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise LabError(f"{str(path)!r} is not a saved stepper session; save one with stepper.save(path).")
    return data


# --- the handout page ---------------------------------------------------------------------------------------

PAGE_STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
.text{font-size:1.15rem;line-height:1.6;border:1px solid #ccc;border-radius:6px;padding:.8rem;background:#fafafa}
.prompt{color:#555}.new{background:#e3f0ff}.forced{background:#fff2cc}
table{border-collapse:collapse;margin:.3rem 0 1rem}td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left}
.chosen{font-weight:bold;background:#e3f0ff}.bar{display:inline-block;height:.7em;background:#4a7bd0}
ul.tree{list-style:none;padding-left:1.2rem;border-left:1px dotted #999}code{background:#f3f3f3;padding:0 3px}
"""


def _tree_html(node) -> str:
    if not node.children:
        return ""
    items = []
    for token_id, child in node.children.items():
        step = child.step
        how = "forced" if step.forced else f"p={step.prob:.3f}"
        items.append(f"<li><code>{escape(token_label(step.token))}</code> <small>({how})</small>{_tree_html(child)}</li>")
    return '<ul class="tree">' + "".join(items) + "</ul>"


def session_html(stepper) -> str:
    """The session as one self-contained HTML page (no script, no link, no image from elsewhere)."""
    model, steps = stepper.model, stepper.steps
    pieces = [f'<span class="prompt">{escape(stepper.prompt)}</span>']
    for step in steps:
        cls = "new forced" if step.forced else "new"
        pieces.append(f'<span class="{cls}" title="p={step.prob:.3f}, rank {step.rank}">{escape(model.decode([step.token_id]))}</span>')
    rows = []
    for i, step in enumerate(steps, 1):
        cands = "".join(
            f'<tr class="{"chosen" if c.id == step.token_id else ""}"><td><code>{escape(token_label(c.token))}</code></td>'
            f'<td>{c.prob:.3f}</td><td><span class="bar" style="width:{max(1, round(120 * c.prob))}px"></span></td></tr>'
            for c in step.candidates[:HTML_CANDIDATES])
        how = "chosen by the learner" if step.forced else f"drawn with p={step.prob:.3f} (rank {step.rank})"
        rows.append(f"<h3>Step {i}: <code>{escape(token_label(step.token))}</code> — {how}</h3>"
                    f"<p>{step.n_kept:,} tokens kept under {escape(step.settings.describe())}.</p>"
                    f"<table><tr><th>candidate</th><th>p</th><th></th></tr>{cands}</table>")
    reason = stepper.stop_reason
    stop = f"<p>Stopped: {escape(STOP_REASONS[reason])}.</p>" if reason else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>gpt2lab session: {escape(stepper.prompt[:60])}</title><style>{PAGE_STYLE}</style></head><body>"
        f"<h1>How the model wrote this</h1><p>Model <code>{escape(model.name)}</code>, seed {stepper.seed_used}, "
        f"{escape(stepper.settings.describe())}. Blue: tokens the model chose; yellow: tokens the learner chose.</p>"
        f'<div class="text">{"".join(pieces)}</div>{stop}'
        f"<h2>Each step's candidates</h2>{''.join(rows) or '<p>No step taken yet.</p>'}"
        f"<h2>Every branch tried</h2><p><code>{escape(stepper.prompt)}</code></p>{_tree_html(stepper.tree.root)}"
        "</body></html>\n"
    )
