"""gpt2lab's speed against transformers on the same model, in the same run.

    python benchmarks/run.py              # the full table (about 10 minutes on a 2-core laptop)
    python benchmarks/run.py --quick      # a short version, as CI runs it (under a minute)
    python benchmarks/run.py --forward-only   # only the label and forward rows
    python benchmarks/run.py --profile    # torch.profiler tables: where a traced forward's time goes
    python benchmarks/run.py --sizes gpt2-medium,gpt2-large,gpt2-xl --size-notebooks 03,07,10   # other GPT-2 sizes
    python benchmarks/run.py --device cuda   # the same on a GPU: the models are built there, the notebooks run there

Prints a table and writes JSON (``--json``). Every figure is the median of several runs after a
warm-up, with min and max, and torch's thread count set explicitly. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gpt2lab  # noqa: E402
from gpt2lab.loading import GPT2_TOKENIZER_PATH, load_tokenizer  # noqa: E402


@dataclass
class Timing:
    median: float  # seconds
    min: float
    max: float
    runs: int

    @classmethod
    def of(cls, fn, runs: int, warmup: int = 1, sync=lambda: None) -> "Timing":
        for _ in range(warmup):
            fn()
            sync()
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            sync()
            times.append(time.perf_counter() - start)
        return cls(statistics.median(times), min(times), max(times), runs)

    def ms(self) -> str:
        return f"{self.median * 1e3:8.1f} ms  [{self.min * 1e3:.1f}-{self.max * 1e3:.1f}]"


@dataclass
class Row:
    section: str  # which of the benchmark's questions this answers
    case: str  # what was measured
    ours: Timing | None = None  # gpt2lab
    reference: Timing | None = None  # transformers (or the machine's limit)
    target: float | None = None  # the ratio we aim to stay under
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.ours.median / self.reference.median if self.ours and self.reference else None


def small_sized_lab(device, **shape) -> gpt2lab.Lab:
    """A randomly initialised GPT-2-small-sized model (12 layers, 12 heads, 768 wide, 50,257 tokens), built on
    ``device`` ("cpu", "cuda", ...): a GPU model is made on the GPU, never built on the CPU and moved.

    ``shape`` overrides GPT2Config fields (``n_layer=2``, ...), for a quick check of the plumbing.
    """
    from transformers import GPT2Config, GPT2LMHeadModel

    from gpt2lab.lab import pick_device

    device = pick_device(device)
    torch.manual_seed(0)
    with torch.device(device):  # every parameter is created where the Lab will read it
        model = GPT2LMHeadModel(GPT2Config(attn_implementation="eager", **shape)).eval()  # eval: dropout off
    tokenizer = load_tokenizer(GPT2_TOKENIZER_PATH, model.config.vocab_size)
    return gpt2lab.Lab(model, tokenizer, name="gpt2-small-sized (random)", device=device)


def sync_for(device):
    return torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)


ENGLISH_TEXT = ROOT / "gpt2lab" / "assets" / "texts" / "kittiwake_log.txt"  # a long English text shipped with the kit
CJK_EMOJI_TEXT = (  # Chinese, Japanese and Korean prose with emoji: many tokens are pieces of a character
    "今天天气很好，我们去公园散步吧。🌸🌞 小猫在窗台上睡觉，😺💤 孩子们在河边放风筝。🪁\n"
    "吾輩は猫である。名前はまだ無い。🐈 どこで生れたかとんと見当がつかぬ。🤔🍵\n"
    "바다가 보이는 작은 마을에서 우리는 여름을 보냈다. 🌊🏖️ 할머니는 매일 아침 빵을 구우셨다. 🥐👵🏽\n"
    "👨‍👩‍👧‍👦 家族で旅行に行きました。🚄🗻 富士山がとても綺麗でした！✨🎌\n"
)


def text_ids(lab, text: str, T: int) -> torch.Tensor:
    """The first T token ids of ``text`` repeated as often as needed: (T,)."""
    ids = lab.encode(text)
    return torch.tensor((ids * (T // len(ids) + 1))[:T])


def forward_inputs(lab, T: int, quick: bool = False) -> list[tuple[str, torch.Tensor]]:
    """The texts a forward row reads: real English, CJK with emoji (not in --quick), and random ids (T tokens each)."""
    random_ids = torch.randint(0, lab.config.vocab_size, (T,), generator=torch.Generator().manual_seed(T))
    english = ("English text", text_ids(lab, ENGLISH_TEXT.read_text(encoding="utf-8"), T))
    cjk = ("CJK + emoji text", text_ids(lab, CJK_EMOJI_TEXT, T))
    return [english, ("random ids", random_ids)] if quick else [english, cjk, ("random ids", random_ids)]


def timed_together(functions: dict, runs: int, sync=lambda: None) -> dict[str, Timing]:
    """Time several functions in turns (a, b, c, a, b, c, ...), so that a shared machine's slow spells fall
    on all of them alike; one warm-up round first."""
    times = {name: [] for name in functions}
    for round_ in range(runs + 1):
        for name, fn in functions.items():
            start = time.perf_counter()
            fn()
            sync()
            if round_:
                times[name].append(time.perf_counter() - start)
    return {name: Timing(statistics.median(t), min(t), max(t), runs) for name, t in times.items()}


def bench_forward(lab, lengths, runs, quick: bool = False) -> list[Row]:
    """1. The traced forward against transformers' forward, split into the forward pass and the trace's bookkeeping.

    ``forward alone`` is gpt2lab.model.forward with nothing recorded; ``forward + recording`` keeps every
    stage in a dict; ``lab.trace`` adds the rest of a trace's bookkeeping (checking the input, the token
    labels, moving ids, building the Trace). The target is for real text at the longest length.
    """
    from gpt2lab.model.forward import forward
    from gpt2lab.model.names import select_stages

    rows, sync = [], sync_for(lab.device)
    for T in lengths:
        for label, ids in forward_inputs(lab, T, quick):
            on_device = ids.to(lab.device)

            @torch.inference_mode()
            def hf():
                lab.hf_model(on_device[None], use_cache=False)

            @torch.no_grad()
            def forward_alone():
                forward(on_device, lab.weights, lab.config)

            @torch.no_grad()
            def forward_recording():
                kept = {}
                forward(on_device, lab.weights, lab.config, lambda name, t: kept.setdefault(name, t))

            def bookkeeping():  # what lab.trace does besides the forward and the recording, step by step
                lab._token_text.clear()  # cold: every token's text decoded again, as for a new text
                checked = lab.to_ids(ids)
                select_stages(None, lab.config.n_layer)
                context_ids = checked.tolist()
                checked.to(lab.device)
                lab.token_strings(context_ids)
                torch.tensor(context_ids, device=lab.device)

            t = timed_together({"hf": hf, "alone": forward_alone, "recording": forward_recording,
                                "trace": lambda: lab.trace(ids), "trace_none": lambda: lab.trace(ids, keep=[])}, runs, sync)
            book_t = Timing.of(bookkeeping, runs)
            target = 1.10 if T == max(lengths) and "text" in label else None
            case = f"{T} tokens of {label}"
            rows += [
                Row("1 forward", f"{case}: lab.trace, every stage kept", t["trace"], t["hf"], target),
                Row("1 forward", f"{case}: lab.trace, no stage kept", t["trace_none"], t["hf"]),
                Row("1 forward", f"{case}: forward pass alone", t["alone"], t["hf"]),
                Row("1 forward", f"{case}: forward + recording every stage", t["recording"], t["hf"]),
                Row("1 forward", f"{case}: trace bookkeeping alone (input check, labels, ids moved)", book_t, t["hf"]),
            ]
    return rows


LABEL_TEXTS = {  # 1,024 tokens of each: how long the display strings of a trace take to make
    "English": lambda lab: text_ids(lab, ENGLISH_TEXT.read_text(encoding="utf-8"), 1024),
    "CJK": lambda lab: text_ids(lab, "".join(ch for ch in CJK_EMOJI_TEXT if ord(ch) < 0x1F000), 1024),
    "emoji": lambda lab: text_ids(lab, "😀🐈🌸👨‍👩‍👧‍👦🏖️🥐👵🏽✨🎌🚄🗻🪁🤔🍵 ", 1024),
    "random ids": lambda lab: torch.randint(0, lab.config.vocab_size, (1024,), generator=torch.Generator().manual_seed(2)),
}
LABEL_TARGET_S = 0.020  # the display strings of 1,024 tokens of any text in under 20 ms


def bench_labels(lab, runs: int) -> list[Row]:
    """0. lab.token_strings of 1,024 tokens, cold (no token's text remembered), against the 20 ms target."""
    rows, target = [], Timing(LABEL_TARGET_S, LABEL_TARGET_S, LABEL_TARGET_S, 1)
    for name, make in LABEL_TEXTS.items():
        ids = make(lab).tolist()

        def labels():
            lab._token_text.clear()
            lab.token_strings(ids)

        rows.append(Row("0 labels", f"display strings of 1,024 tokens of {name}, cold (vs the 20 ms target)",
                        Timing.of(labels, runs), target, 1.0))
    return rows


def profile_forward(lab, T: int = 1024, row_limit: int = 14) -> None:
    """Print torch.profiler's table of one traced forward and one transformers forward of T tokens of English."""
    from torch.profiler import ProfilerActivity, profile

    ids = text_ids(lab, ENGLISH_TEXT.read_text(encoding="utf-8"), T).to(lab.device)
    lab.trace(ids)  # warm-up
    with torch.inference_mode():
        lab.hf_model(ids[None], use_cache=False)
    for name, fn in [("gpt2lab lab.trace, every stage kept", lambda: lab.trace(ids)),
                     ("transformers GPT2LMHeadModel forward", lambda: lab.hf_model(ids[None], use_cache=False))]:
        with profile(activities=[ProfilerActivity.CPU]) as prof, torch.inference_mode(name.startswith("transformers")):
            fn()
        print(f"\n=== {name}, {T} tokens ===")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=row_limit))


def read_bandwidth(device, mib: int = 512, runs: int = 7) -> float:
    """Bytes per second the machine reads from memory: the faster of a sum and a matrix-vector product
    over a tensor of ``mib`` MiB whose pages are already touched (a fresh copy would time page faults)."""
    n = mib * 2**20 // 4
    big = torch.ones(n, device=device)  # touched: every page is written once here
    matrix = big.view(-1, 4096)
    vector = torch.ones(4096, device=device)
    sync = sync_for(device)
    t_sum = Timing.of(lambda: big.sum(), runs, sync=sync).median
    t_mv = Timing.of(lambda: matrix @ vector, runs, sync=sync).median
    return big.numel() * 4 / min(t_sum, t_mv)


def greedy_decode(lab, prompt_ids, n_new: int, keep) -> list[int]:
    """Greedy decoding on gpt2lab's forward with the KV cache: each step computes one new position."""
    cache = lab.new_cache()
    logits = lab.trace(prompt_ids, cache=cache, keep=["logits"]).logits
    out = []
    for _ in range(n_new):
        next_id = int(logits[-1].argmax())
        out.append(next_id)
        logits = lab.trace([next_id], cache=cache, keep=keep).logits
    return out


def bench_decode(lab, n_new: int, runs: int) -> list[Row]:
    """2. Time per generated token with the KV cache, against transformers' generate and the memory limit."""
    sync = sync_for(lab.device)
    prompt = torch.randint(0, lab.config.vocab_size, (16,), generator=torch.Generator().manual_seed(0))
    pad = lab.tokenizer.eos_token_id

    @torch.inference_mode()
    def hf():
        lab.hf_model.generate(prompt[None].to(lab.device), max_new_tokens=n_new, min_new_tokens=n_new,
                              do_sample=False, pad_token_id=pad, eos_token_id=None)

    text = lab.decode(prompt.tolist())

    def ours_generate(keep):
        result = gpt2lab.generate(lab, text, n_new, temperature=0, keep=keep, distributions=False)
        assert len(result.steps) == n_new  # a random model never stops early on <|endoftext|> here (eos at 50256)

    hf_t = Timing.of(hf, runs, sync=sync)
    ours_logits = Timing.of(lambda: greedy_decode(lab, prompt, n_new, ["logits"]), runs, sync=sync)
    ours_all = Timing.of(lambda: greedy_decode(lab, prompt, n_new, None), runs, sync=sync)
    ours_records = Timing.of(lambda: ours_generate([]), runs, sync=sync)
    ours_patterns = Timing.of(lambda: ours_generate(["blocks.*.attn.pattern"]), runs, sync=sync)
    per = lambda t: Timing(t.median / n_new, t.min / n_new, t.max / n_new, t.runs)  # noqa: E731
    same = greedy_decode(lab, prompt, n_new, ["logits"]) == hf_tokens(lab, prompt, n_new)
    bandwidth = read_bandwidth(lab.device)
    weight_bytes = sum(p.numel() * p.element_size() for p in lab.hf_model.parameters())
    limit = weight_bytes / bandwidth
    limit_t = Timing(limit, limit, limit, 1)
    extra = {"same_tokens_as_transformers": same, "bandwidth_GBps": bandwidth / 1e9, "weight_MB": weight_bytes / 1e6}
    return [
        Row("2 decode", f"per token, {n_new} greedy tokens, logits kept", per(ours_logits), per(hf_t), 1.10, extra),
        Row("2 decode", "per token, every stage kept", per(ours_all), per(hf_t), None),
        Row("2 decode", "per token, gpt2lab.generate with step records", per(ours_records), per(hf_t), 1.10),
        Row("2 decode", "per token, gpt2lab.generate, records + attention patterns", per(ours_patterns), per(hf_t), None),
        Row("2 decode", "per token vs the memory-bandwidth limit (weights read once per token)", per(ours_logits), limit_t, 1.5, extra),
    ]


@torch.inference_mode()
def hf_tokens(lab, prompt, n_new):
    out = lab.hf_model.generate(prompt[None].to(lab.device), max_new_tokens=n_new, min_new_tokens=n_new, do_sample=False,
                                pad_token_id=lab.tokenizer.eos_token_id, eos_token_id=None)
    return out[0, len(prompt):].tolist()


def bench_memory(lab, T: int) -> list[Row]:
    """4. Memory held by a trace of T tokens, everything kept and with ``keep``."""
    ids = torch.randint(0, lab.config.vocab_size, (T,), generator=torch.Generator().manual_seed(1))
    rows = []
    for label, keep in [("every stage", None), ("attention patterns only", ["blocks.*.attn.pattern"]),
                        ("residual stream + logits", ["blocks.*.resid_post", "logits"]), ("logits only", ["logits"])]:
        rows.append(Row("4 memory", f"{T} tokens, {label}", extra={"MiB": lab.trace(ids, keep=keep).nbytes() / 2**20}))
    return rows


def bench_stepper(lab, runs: int) -> list[Row]:
    """3. One step of the generation stepper widget: sample, trace the new position, redraw the chart."""
    from gpt2lab.widgets.stepper_widget import GenerationStepperWidget

    widget = GenerationStepperWidget(lab, "It is a truth universally acknowledged")

    def step():
        if widget.stepper.stop_reason is not None:
            widget.reset_button.click()
        widget.step_button.click()

    t = Timing.of(step, runs, warmup=2)
    target_s = 0.150 if lab.name == "tiny" else 0.400
    return [Row("3 stepper", f"one step on {lab.name}", t, None, None, {"target_ms": target_s * 1e3, "met": t.median < target_s})]


def notebook_env(threads: int, model: str, device: str = "cpu") -> dict[str, str]:
    """The environment a notebook kernel of a benchmark starts with: the model, its device, the CPU threads."""
    env = {"OMP_NUM_THREADS": str(threads), "GPT2LAB_MODEL": model}
    if torch.device(device).type != "cpu":
        env["GPT2LAB_DEVICE"] = str(device)  # the whole course on the GPU, as a lecturer would set it
    return env


def bench_notebooks(threads: int, model: str | None = None, label: str = "the embedded model",
                    target_s: float = 180, device: str = "cpu") -> list[Row]:
    """5. Every notebook executed top to bottom (nbclient), on the embedded model or through GPT2LAB_MODEL."""
    sys.path.insert(0, str(ROOT / "tests"))
    from standin import execute_notebook

    env = notebook_env(threads, model or "tiny", device)
    rows, total = [], 0.0
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        seconds = execute_notebook(path, **env)
        total += seconds
        rows.append(Row("5 notebooks", f"{path.name} on {label}", Timing(seconds, seconds, seconds, 1)))
    rows.append(Row("5 notebooks", f"whole course on {label}", Timing(total, total, total, 1),
                    extra={"target_s": target_s, "met": total < target_s}))
    return rows


def bench_course_on_standin(threads: int, device: str = "cpu") -> list[Row]:
    """6. The whole course on a random-weight stand-in with GPT-2 small's exact shapes (12 x 12 x 768, 50,257 tokens)."""
    import tempfile

    from standin import build_standin

    with tempfile.TemporaryDirectory() as tmp:
        folder = build_standin(Path(tmp) / "gpt2-small-standin")
        return [Row("6 course", r.case, r.ours, None, None, r.extra)
                for r in bench_notebooks(threads, str(folder), "the GPT-2-small stand-in", target_s=600, device=device)]


SIZE_SECTION = "7 sizes"


def bench_sizes(threads: int, sizes: list[str], prefixes: list[str] | None = None, time_box_s: int = 900,
                device: str = "cpu", workdir: str | None = None) -> list[Row]:
    """7. The course at other GPT-2 sizes: each notebook's seconds and its kernel's peak memory, on a random-weight
    stand-in of the size's exact shape (tests/standin.py), built in a child process and deleted after; one size at
    a time. ``prefixes`` picks notebooks by number ("03"); each cell is time-boxed to ``time_box_s`` seconds."""
    import tempfile

    sys.path.insert(0, str(ROOT / "tests"))
    from standin import build_standin_apart, run_notebook

    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if prefixes:
        notebooks = [p for p in notebooks if p.name[:2] in prefixes]
    rows = []
    for size in sizes:
        with tempfile.TemporaryDirectory(dir=workdir) as tmp:
            start = time.perf_counter()
            folder = build_standin_apart(Path(tmp) / size, size)
            built = time.perf_counter() - start
            rows.append(Row(SIZE_SECTION, f"{size}: build and save the random-weight stand-in", Timing(built, built, built, 1)))
            for path in notebooks:
                case = f"{path.name} on {size} ({device})"
                try:
                    run = run_notebook(path, timeout=time_box_s, **notebook_env(threads, str(folder), device))
                except Exception as error:  # a failed or time-boxed cell is a row too, with its first line
                    rows.append(Row(SIZE_SECTION, case, extra={"failed": str(error).strip().splitlines()[-1][:160]}))
                    continue
                extra = {"peak_MiB": round(run.peak_bytes / 2**20)}
                plans = [line for line in run.printed.splitlines() if line.startswith(("Training ", "Fine-tuning every"))]
                if plans:  # what a training notebook trained in the memory it had (notebook 10)
                    extra["plans"] = " / ".join(plans)
                rows.append(Row(SIZE_SECTION, case, Timing(run.seconds, run.seconds, run.seconds, 1), extra=extra))
    return rows


def print_table(rows: list[Row]) -> None:
    for r in rows:
        ours = r.ours.ms() if r.ours else ""
        ref = r.reference.ms() if r.reference else ""
        ratio = f"{r.ratio:5.2f}x" if r.ratio else ""
        target = f"(target <= {r.target:.2f}x) {'met' if r.ratio is not None and r.ratio <= r.target else 'NOT met'}" if r.target else ""
        extra = "  " + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.extra.items()) if r.extra else ""
        print(f"{r.section:12} {r.case:62} {ours:32} {ref:32} {ratio:7} {target}{extra}")


def markdown_table(rows: list[Row]) -> str:
    """The same table in Markdown, for benchmarks/README.md."""
    lines = ["| section | case | gpt2lab median [min-max] | reference median [min-max] | ratio | target |", "|---|---|---|---|---|---|"]
    for r in rows:
        ours = r.ours.ms().strip() if r.ours else ""
        ref = r.reference.ms().strip() if r.reference else ""
        ratio = f"{r.ratio:.2f}x" if r.ratio else ""
        if r.target:
            target = f"<= {r.target:.2f}x: {'met' if r.ratio is not None and r.ratio <= r.target else '**not met**'}"
        else:
            target = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in r.extra.items())
        lines.append(f"| {r.section} | {r.case} | {ours} | {ref} | {ratio} | {target} |")
    return "\n".join(lines)


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    return {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "python": platform.python_version(),
            "threads": torch.get_num_threads(), "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run: small inputs, few repeats (CI)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--markdown", default=None, help="also write the table in Markdown here")
    parser.add_argument("--skip-notebooks", action="store_true")
    parser.add_argument("--course-only", action="store_true", help="only the whole-course rows (embedded model and stand-in)")
    parser.add_argument("--forward-only", action="store_true", help="only the label and forward rows")
    parser.add_argument("--lengths", default=None, help="forward lengths, comma-separated (default 64,256,1024; 64 with --quick)")
    parser.add_argument("--runs", type=int, default=None, help="timed runs per forward row (default 5; 2 with --quick)")
    parser.add_argument("--profile", action="store_true", help="print torch.profiler tables of one traced and one transformers forward, then stop")
    parser.add_argument("--sizes", default=None, help="only the other-sizes rows, for these sizes (gpt2-medium,gpt2-large,gpt2-xl)")
    parser.add_argument("--size-notebooks", default=None, help="with --sizes: notebook numbers, comma-separated (default all)")
    parser.add_argument("--time-box", type=int, default=900, help="with --sizes: seconds a cell may take before its row says so")
    parser.add_argument("--workdir", default=None, help="with --sizes: where the stand-ins are written (6.2 GB for gpt2-xl)")
    args = parser.parse_args(argv)
    try:
        gpt2lab.lab.pick_device(args.device)  # a device this machine lacks is one line, before any work
    except gpt2lab.LabError as error:
        parser.error(str(error))
    torch.set_num_threads(args.threads)
    rows = []
    if args.profile:
        profile_forward(small_sized_lab(args.device), 256 if args.quick else 1024)
        return
    if args.sizes:
        prefixes = args.size_notebooks.split(",") if args.size_notebooks else None
        rows += bench_sizes(args.threads, args.sizes.split(","), prefixes, args.time_box, args.device, args.workdir)
    if not (args.course_only or args.sizes):
        lab = small_sized_lab(args.device)
        runs = 3 if args.quick else 7
        rows += bench_labels(lab, runs)
        lengths = [int(n) for n in args.lengths.split(",")] if args.lengths else [64] if args.quick else [64, 256, 1024]
        rows += bench_forward(lab, lengths, args.runs or (2 if args.quick else 5), args.quick)
    if not (args.course_only or args.forward_only or args.sizes):
        tiny = gpt2lab.load("tiny", device=args.device)
        rows += bench_decode(lab, 8 if args.quick else 32, runs)
        rows += bench_stepper(tiny, 5 if args.quick else 20) + bench_stepper(lab, 3 if args.quick else 10)
        rows += bench_memory(lab, 64 if args.quick else 1024)
    if args.course_only or not (args.quick or args.skip_notebooks or args.forward_only or args.sizes):
        rows += bench_notebooks(args.threads, device=args.device) + bench_course_on_standin(args.threads, args.device)
    info = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "quick": args.quick, "device": args.device}
    print(json.dumps(info))
    print_table(rows)
    if args.markdown:
        Path(args.markdown).write_text(markdown_table(rows) + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps({"info": info, "rows": [dict(asdict(r), ratio=r.ratio) for r in rows]}, indent=1))


if __name__ == "__main__":
    main()
