"""`matcalc report`'s PDF: pdflatex on a plain job name in a temporary folder, copied back.

pdflatex rejects job names with `%`, `\\`, `~` or a leading `-` or `.`, and leaves `.aux`,
`.log` (and `texput.log` when it rejects the name) in its working folder; so the document is
compiled as `report.tex` in a folder of its own and only the PDF comes back (written as every
file matcalc writes is, core/files.py), or, when pdflatex fails, its log beside the .tex, the
one file the message points to.
"""
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..core.errors import MatcalcError
from ..core.files import WriteError, write_file

TIMEOUT = 600      # seconds; a report compiles in about one


def paths(output):
    """(the .tex, the .pdf) that `-o output` names: `-o r.pdf` asks for r.pdf, its LaTeX
    goes to r.tex; any other name is the LaTeX, its PDF beside it."""
    out = Path(output)
    if out.suffix.lower() == ".pdf":
        return out.with_suffix(".tex"), out
    return out, out.with_suffix(".pdf")


def compile_pdf(tex, source, pdf):
    """Compile `source` (the text of the .tex file `tex`) into `pdf`; MatcalcError naming the
    log (written beside `tex`) when pdflatex fails or runs past TIMEOUT."""
    with tempfile.TemporaryDirectory(prefix="matcalc-report-") as tmp:
        job = Path(tmp) / "report.tex"
        job.write_text(source)
        try:
            run = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode",
                                  "-no-shell-escape", job.name], cwd=tmp, capture_output=True,
                                 text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
            failed = run.returncode != 0 or not job.with_suffix(".pdf").is_file()
            why = "failed"
        except subprocess.TimeoutExpired:
            failed, why = True, f"ran past {TIMEOUT} s"
        try:
            if not failed:
                write_file(pdf, job.with_suffix(".pdf").read_bytes(), "the PDF")
                return
            log = tex.with_suffix(".log")
            made = job.with_suffix(".log")
            if made.is_file():
                write_file(log, made.read_bytes(), "pdflatex's log")
            else:
                log = None
        except WriteError as e:
            raise MatcalcError(str(e)) from None
    raise MatcalcError(f"pdflatex {why} on {tex}" + (f"; see {log}" if log else ""))


def pdflatex_installed():
    return shutil.which("pdflatex") is not None
