"""Benchmark: the LaTeX document of the whole corpus (proofs/), against proving the corpus without it.

What it measures, each in fresh processes (interpreter start, imports and parsing included where said):

1. ``python -m symconv prove proofs/`` (the alternative: the same verdicts, no document) and
   ``python -m symconv prove proofs/ --latex FILE`` (verdicts, checked derivations, the document): wall time,
   median over the runs; the ratio is what the document costs on top of the proofs.
2. Inside one fresh process, after the corpus is loaded and proved: the time to generate the document alone
   (every derivation built and each of its steps proved, every statement and table row printed). The issue's
   target is at most 3 s for generating the full corpus document (without pdflatex); the script exits 1 when the
   median misses it.
3. pdflatex on the generated document (when installed), for scale: what compiling it costs.

Run from the repository root: ``python benchmarks/latex.py`` (``--runs N``, default 5; ``--quick``: 1 run).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 3.0

_DOCUMENT_ONLY = """
import sys, time
from symconv.export.document import corpus_document
from symconv.logic.theorem import load
corpus = load(sys.argv[1])
results = [theorem.check() for theorem in corpus]
start = time.perf_counter()
text = corpus_document(list(zip(corpus, results)))
print(time.perf_counter() - start, len(text), len(corpus))
"""


def _wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one run of each")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    corpus = str(ROOT / "proofs")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "corpus.tex"
        plain = [_wall([sys.executable, "-m", "symconv", "prove", corpus]) for _ in range(runs)]
        with_doc = [
            _wall([sys.executable, "-m", "symconv", "prove", corpus, "--latex", str(out)])
            for _ in range(runs)
        ]
        alone, size, count = [], 0, 0
        for _ in range(runs):
            line = subprocess.run(
                [sys.executable, "-c", _DOCUMENT_ONLY, corpus],
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
            alone.append(float(line[0]))
            size, count = int(line[1]), int(line[2])
        compile_seconds = None
        pdflatex = shutil.which("pdflatex")
        if pdflatex:
            start = time.perf_counter()
            subprocess.run(
                [pdflatex, "-interaction=nonstopmode", "-halt-on-error", out.name],
                cwd=tmp,
                check=True,
                capture_output=True,
            )
            compile_seconds = time.perf_counter() - start
    p, d, a = statistics.median(plain), statistics.median(with_doc), statistics.median(alone)
    print(f"corpus: {count} theorems, document {size:,} characters; medians over {runs} run(s)")
    print(f"  symconv prove proofs/                 {p:7.2f} s   (the alternative: verdicts only)")
    print(f"  symconv prove proofs/ --latex FILE    {d:7.2f} s   ({d / p:.2f}x the proofs alone)")
    print(
        f"  document generation alone            {a:7.2f} s   (target {TARGET_SECONDS:.0f} s: {'met' if a <= TARGET_SECONDS else 'MISSED'})"
    )
    if compile_seconds is not None:
        print(
            f"  pdflatex on the document (one pass)  {compile_seconds:7.2f} s   (for scale; not part of the target)"
        )
    else:
        print("  pdflatex: not installed, compile time not measured")
    return 0 if a <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
