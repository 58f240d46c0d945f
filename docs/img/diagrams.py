"""Draws docs/img/layers.svg and docs/img/claim-flow.svg (the pictures of docs/architecture.md).

Run `python docs/img/diagrams.py docs/img` after changing a box; the SVGs are committed (glyphs as paths,
so they look the same in every browser), with a PNG beside each to look at (not committed).
"""
import sys
from pathlib import Path
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch, FancyArrowPatch

class Canvas:
    def __init__(self, w, h):
        self.fig = plt.figure(figsize=(w / 100, h / 100), dpi=100)
        self.ax = self.fig.add_axes([0, 0, 1, 1]); self.ax.set_xlim(0, w); self.ax.set_ylim(h, 0); self.ax.axis("off")
    def box(self, x, y, w, h, lines, fill, stroke="#455a64", bold_first=True, size=13):
        self.ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=6", fc=fill, ec=stroke, lw=1.0))
        lh = size + 4
        top = y + h / 2 - (len(lines) - 1) * lh / 2
        for i, line in enumerate(lines):
            mono = line.startswith("`")
            self.ax.text(x + w / 2, top + i * lh, line.replace("`", ""), ha="center", va="center",
                         fontsize=(size if i == 0 else size - 1) * 0.75, fontweight="bold" if (i == 0 and bold_first) else "normal",
                         family="DejaVu Sans Mono" if mono else "DejaVu Sans")
    def arrow(self, x1, y1, x2, y2):
        self.ax.add_patch(FancyArrowPatch((x1, y1), (x2, y2), arrowstyle="-|>", mutation_scale=12, color="#37474f", lw=1.3, shrinkA=0, shrinkB=0))
    def text(self, x, y, s, size=11, color="#37474f", ha="left", rotation=0, va="center"):
        self.ax.text(x, y, s, fontsize=size * 0.75, color=color, ha=ha, va=va, rotation=rotation)
    def path(self, pts):
        xs, ys = zip(*pts[:-1]); self.ax.plot(xs + (pts[-2][0],), ys + (pts[-2][1],), color="#37474f", lw=1.3)
        self.arrow(*pts[-2], *pts[-1])
    def save(self, stem):
        matplotlib.rcParams["svg.hashsalt"] = "tiltproof"
        self.fig.savefig(stem + ".svg", metadata={"Date": None})
        if "--png" in sys.argv:
            self.fig.savefig(stem + ".png", dpi=100)
        plt.close(self.fig)

def layers(c):
    L = 30
    def lab(y, h, t): c.text(14, y + h / 2, t, size=10.5, color="#607d8b", ha="center", rotation=90)
    y, h = 12, 62; lab(y, h, "entry points")
    c.box(L, y, 380, h, ["command line", "`tiltproof/cli.py`, *_command.py, sweep.py", "check · list · mutants · sweep · verify · proof · report · new"], "#e3f2fd")
    c.box(L + 390, y, 250, h, ["pytest --claims", "`tiltproof/pytest_plugin.py`"], "#e3f2fd")
    c.box(L + 650, y, 310, h, ["Python, pytest asserts", "`tiltproof.byo`, `tiltproof.testing`"], "#e3f2fd")
    y, h = 100, 72; lab(y, h + 42, "theorems")
    c.box(L, y, 330, h, ["built-in theorem modules", "`theorems/*.py`", "claims() · mutants() · proofs()"], "#fff3e0")
    c.box(L + 340, y, 240, h, ["proofs as data", "`theorems/proofs/*.py`", "Proof · Step · WrongStep"], "#fff3e0")
    c.box(L + 590, y, 370, h, ["theorem packages from outside", "entry point `tiltproof.theorems`,", "--theorems MODULE, [tool.tiltproof] theorems"], "#fff3e0")
    c.box(L, y + h + 8, 960, 32, ["tiltproof/api.py — the one public module a theorem imports: claim types, evidence builders, bounds, designs"], "#ffe0b2", bold_first=False)
    y, h = 232, 112; lab(y, h, "framework")
    c.box(L, y, 420, h, ["claim framework: tiltproof/core/", "framework.py: Claim, Evidence, Record, run_claim", "evidence.py: verdict rules and margins",
                          "registry.py (+ tiltproof/plugins.py) · suite.py: levels", "sampling.py · mutants.py · symbols.py · shared checks"], "#e8f5e9")
    c.box(L + 430, y, 160, h, ["proof engine", "`tiltproof/proofs/`", "engine · checkers", "intervals · lemmas"], "#e8f5e9")
    c.box(L + 600, y, 180, h, ["bring your own", "`tiltproof/byo/`", "check_sampler,", "check_chain_sampler,", "tilt · kl · prox"], "#e8f5e9")
    c.box(L + 790, y, 170, h, ["instances", "`tiltproof/instances/`", "single_step · chain", "tractability"], "#e8f5e9")
    y, h = 358, 64; lab(y, h, "exact side")
    c.box(L, y, 960, h, ["estimators/", "exact laws (log space) · confidence bounds · tests beside their design functions (n for a gap, gap for an n) · exact chain laws"], "#f3e5f5")
    y, h = 432, 64; lab(y, h, "under test")
    c.box(L, y, 960, h, ["primitives/", "base laws and rewards · rejection samplers · diffusion and masked chains (ChainKernel) · tilt oracle, KL aligner, prox · peers"], "#eceff1")
    y, h = 508, 64; lab(y, h, "outputs")
    c.box(L, y, 300, h, ["records", "`tiltproof/records_io.py`, `stamp.py`", "results JSON, atomic, --resume"], "#fce4ec")
    c.box(L + 310, y, 300, h, ["worker processes", "`tiltproof/parallel.py`", "--workers N; Ray for sweeps"], "#fce4ec")
    c.box(L + 620, y, 340, h, ["report", "`reports/`: build, latex, summary, figures", "report.tex → report.pdf, verdicts.tex"], "#fce4ec")

def flow(c):
    bw, bh, gap = 176, 96, 20
    row1 = [(["1 · register", "a theorem module's", "claims() → [Claim]", "`core/registry.py`"], "#fff3e0"),
            (["2 · select", "--only REGEX", "select_claims", "`core/registry.py`"], "#e3f2fd"),
            (["3 · plan α", "Claim.level (4e-9)", "sum ≤ cap 1e-6", "`core/suite.py`"], "#e3f2fd"),
            (["4 · run", "CheckContext: α, β,", "claim_seed, device", "`core/framework.py`"], "#e8f5e9"),
            (["5 · check", "sampler draws, exact", "side, designed n", "`theorems/ estimators/`"], "#f3e5f5")]
    row2 = [(["6 · evidence", "bound, exact, empirical,", "conf. bound, margin, n", "`core/evidence.py`"], "#e8f5e9"),
            (["7 · record", "pass / fail, or error", "(hypothesis, exception)", "Record.to_json"], "#e8f5e9"),
            (["8 · write", "atomic rewrite per record", "meta: stamp, α spent", "`records_io.py`"], "#fce4ec"),
            (["9 · print", "table: value, CB, rel.,", "bound, margin, n, verdict", "`cli.py`"], "#e3f2fd"),
            (["10 · report", "tiltproof report", "LaTeX, figures, PDF", "`reports/build.py`"], "#fce4ec")]
    x0, y1, y2 = 12, 40, 200
    c.text(12, 20, "tiltproof check --json results.json      then      tiltproof report --results results.json --out report/", size=13)
    for row, y in ((row1, y1), (row2, y2)):
        for i, (lines, fill) in enumerate(row):
            x = x0 + i * (bw + gap); c.box(x, y, bw, bh, lines, fill)
            if i < len(row) - 1: c.arrow(x + bw, y + bh / 2, x + bw + gap, y + bh / 2)
    x5 = x0 + 4 * (bw + gap) + bw / 2; xs = x0 + bw / 2
    c.path([(x5, y1 + bh), (x5, y1 + bh + 30), (xs, y1 + bh + 30), (xs, y2)])
    c.text((x5 + xs) / 2, y1 + bh + 22, "the check returns Evidence (a wrong variant takes the same path and must end in fail)", ha="center")
    c.text(12, y2 + bh + 22, "With --workers N, steps 4–7 run in worker processes that rebuild the registry and receive only claim ids (tiltproof/parallel.py);", color="#607d8b")
    c.text(12, y2 + bh + 38, "a record is a pure function of (claim id, α, seed, device), so the file is the same with any number of workers.", color="#607d8b")

out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
c = Canvas(1000, 584); layers(c); c.save(str(out / "layers"))
c = Canvas(1000, 360); flow(c); c.save(str(out / "claim-flow"))
