"""An upper bound on how often any trust detector can see a fall in 4 weeks (issue 14).

`scripts/bench_detection.py` scores a detector by the share of changed communes with an
alert opened in the 4 weekly evaluations from the change on (weeks c..c+3, so on the
answers up to the end of week c+3) at a false-alarm rate FA (alerts opened per 100
commune-weeks of a world without change). Whatever a detector does, "an alert opened in
weeks c..c+3" is a test of H0 (no change) against H1 (a fall of `shift` from week c)
on the data up to the end of week c+3, and its size under H0 is at most the expected
number of openings in 4 weeks, a = 4·FA/100 (0.0228 at FA 0.57). By Neyman–Pearson, no
test of size a has more power than the likelihood-ratio test of the same size on the
same data and more: here an oracle that also knows each commune's true level mu_c, the
change week c and the shift, and the model that draws the answers (bench_detection:
x = clip(round(mu_c + tendency + noise), 1, 5), tendency N(0, 0.7) per person, noise
N(0, 0.8) per answer). Its likelihood ratio, per person with answers in weeks c..c+3,
is

    LR_p = ∫ Π_i P(x_i | mu_c + τ + shift·[after c]) φ(τ) dτ / ∫ Π_i P(x_i | mu_c + τ) φ(τ) dτ

over all of the person's answers to the end of week c+3 (their earlier answers tell
what the tendency τ is: integrated on a grid), LR_c = Π_p LR_p. Communes are drawn
from one population, so the most powerful test of mean size a across communes rejects
where log LR_c > λ, one λ for all (and only where the privacy gate lets any rule fire:
5 distinct raters in the 28 days before one of the 4 evaluations; the raters' counts do
not depend on the shift). Its power is the bound: no detector, on the kept cells or on
the raw answers, at the same FA, sees more.

The communes (who answers when, the change weeks, mu_c) are the bench's own
(`make_world`, the "trust -0.5" world of the seed); the answers are redrawn `--reps`
times under H0 and under H1 from the model, so size and power are estimated over
reps × communes draws. Also printed, "tendency known": an oracle that knows as well the
tendency of every person with more than one answer (a looser bound, what the issue
asked for; with strangers only it equals the first). The row "bench values" is the
LR test on the bench's own drawn answers (one draw, the null world's communes for the
size): a check that the redrawn answers are the bench's.

With `--realtime R2`, also a real-time oracle at the bench's cadence and lifecycle: each
answer's exact log LR (level known, and the tendency of every person who answers more
than once; a stranger's answer against the marginal), summed by week into a CUSUM
restarted after each alarm, or over the last 4 weeks, behind the 28-day gate, scored
by the bench's `openings` and `score` on R2 redraws of every answer, one limit for all
communes interpolated to each FA. Not a bound (no sequential test is proved best for
"within 4 weeks"), but what a detector that knew the level would see, week by week.

    .venv/bin/python scripts/bench_trust_bound.py --seed 14 --world mixed --reps 30 --realtime 3
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.special import logsumexp, ndtr

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_detection as bench

TENDENCY, NOISE = 0.7, 0.8  # the model's spreads (bench_detection's generators)
GRID = np.linspace(-4 * TENDENCY, 4 * TENDENCY, 81)  # τ, step 0.07 (a posterior's sd >= 0.17)
LOG_PRIOR = -0.5 * (GRID / TENDENCY) ** 2
LOG_PRIOR -= logsumexp(LOG_PRIOR)


def log_p(x: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """log P(clip(round(centre + N(0, NOISE)), 1, 5) = x), elementwise."""
    up = np.where(x >= 5, np.inf, x + 0.5)
    down = np.where(x <= 1, -np.inf, x - 0.5)
    return np.log(np.maximum(ndtr((up - centre) / NOISE) - ndtr((down - centre) / NOISE), 1e-300))


class Layout:
    """Who answered when, up to the end of week c+3 of their commune: the answers of the
    people with at least one answer in weeks c..c+3."""

    def __init__(self, w: bench.World) -> None:
        assert w.level is not None and w.person is not None
        commune, day, _, value = w.ratings
        start = w.level.change_day[commune]
        kept = day < start + 28
        after = (day >= start) & kept
        people = np.unique(w.person[after])
        kept &= np.isin(w.person, people)
        self.commune, self.after = commune[kept], after[kept].astype(int)
        self.value = value[kept]
        _, self.person = np.unique(w.person[kept], return_inverse=True)
        self.count = self.person.max() + 1
        self.person_commune = np.zeros(self.count, int)
        self.person_commune[self.person] = self.commune
        self.answers = np.bincount(self.person, minlength=self.count)
        self.mu = w.level.mu
        self.communes = len(self.mu)
        self.tables: dict[float, np.ndarray] = {}
        # The gate: 5 distinct raters in the 28 days before one of the 4 evaluations.
        distinct = bench.window_sums(w, 28, 0)[0]
        t = bench.HISTORY + w.change[:, None] + np.arange(1, 5)[None, :]
        self.gate = (np.take_along_axis(distinct, t, axis=1) >= 5).any(axis=1)

    def draw(self, rng: np.random.Generator, shift: float) -> tuple[np.ndarray, np.ndarray]:
        """Answers redrawn from the model, and each person's tendency."""
        tau = rng.normal(0, TENDENCY, self.count)
        centre = self.mu[self.commune] + tau[self.person] + shift * self.after
        noise = rng.normal(0, NOISE, len(centre))
        return np.clip(np.rint(centre + noise), 1, 5).astype(int), tau

    def llr(
        self,
        value: np.ndarray,
        shift: float,
        tau: np.ndarray | None = None,
        integrated: np.ndarray | None = None,
    ) -> np.ndarray:
        """log LR of each person (tendencies integrated; with `tau`, known for people
        with more than one answer, the others taken from `integrated`), summed by
        commune."""
        if tau is not None and integrated is not None:
            per_person = integrated.copy()
            known = self.answers > 1
            per_person[known] = self._known(value, shift, tau)[known]
            return per_person
        # counts[p, x - 1, after]: a person's answers by value and side of the change.
        counts = np.zeros((self.count, 5, 2))
        np.add.at(counts, (self.person, value - 1, self.after), 1)
        base, moved = self._table(0.0), self._table(shift)
        h0 = np.zeros((self.count, len(GRID)))
        h1 = np.zeros((self.count, len(GRID)))
        c = self.person_commune
        for x in range(5):
            before, after = counts[:, x, 0][:, None], counts[:, x, 1][:, None]
            h0 += (before + after) * base[c, x]
            h1 += before * base[c, x] + after * moved[c, x]
        return logsumexp(h1 + LOG_PRIOR, axis=1) - logsumexp(h0 + LOG_PRIOR, axis=1)

    def by_commune(self, per_person: np.ndarray) -> np.ndarray:
        return np.bincount(self.person_commune, per_person, minlength=self.communes)

    def _table(self, shift: float) -> np.ndarray:
        """log P(x | mu_c + τ + shift) for every commune, value and τ of the grid."""
        if shift not in self.tables:
            centre = self.mu[:, None, None] + GRID[None, None, :] + shift
            x = np.arange(1, 6)[None, :, None]
            self.tables[shift] = log_p(x, centre)
        return self.tables[shift]

    def _known(self, value: np.ndarray, shift: float, tau: np.ndarray) -> np.ndarray:
        centre = self.mu[self.commune] + tau[self.person]
        term = log_p(value, centre + shift * self.after) - log_p(value, centre)
        return np.bincount(self.person, term, minlength=self.count)


def answer_llr(w: bench.World, rng: np.random.Generator, shift: float, hyp: float) -> np.ndarray:
    """Every answer of the world redrawn from the model (a fall of `hyp` from each
    commune's change day), and its log LR for a fall of `shift` as an oracle sees it
    that knows the level and the tendency of each person who answers more than once
    (a stranger's answer against the marginal, tendency and noise together)."""
    assert w.level is not None and w.person is not None
    commune, day, _, _ = w.ratings
    _, person = np.unique(w.person, return_inverse=True)
    tau = rng.normal(0, TENDENCY, person.max() + 1)[person]
    after = day >= w.level.change_day[commune]
    centre = w.level.mu[commune] + hyp * after
    value = np.clip(np.rint(centre + tau + rng.normal(0, NOISE, len(day))), 1, 5)
    once = np.bincount(person)[person] == 1
    known = log_p(value, w.level.mu[commune] + tau + shift) - log_p(
        value, w.level.mu[commune] + tau
    )
    spread = np.hypot(TENDENCY, NOISE) / NOISE  # log_p's noise scaled to the marginal's
    mu = w.level.mu[commune] / spread
    alone = log_p_spread(value, mu + shift / spread, spread) - log_p_spread(value, mu, spread)
    return np.where(once, alone, known)


def log_p_spread(x: np.ndarray, centre: np.ndarray, spread: float) -> np.ndarray:
    """log P(clip(round(N(centre·spread, NOISE·spread)), 1, 5) = x)."""
    up = np.where(x >= 5, np.inf, x + 0.5) / spread
    down = np.where(x <= 1, -np.inf, x - 0.5) / spread
    return np.log(np.maximum(ndtr((up - centre) / NOISE) - ndtr((down - centre) / NOISE), 1e-300))


def weekly_llr(w: bench.World, llr: np.ndarray) -> np.ndarray:
    """(n, TOTAL) sums of the answers' log LR by commune and week."""
    out = np.zeros((len(w.change), bench.TOTAL))
    np.add.at(out, (w.ratings[0], w.ratings[1] // 7), llr)
    return out


def gate_open(w: bench.World) -> np.ndarray:
    """(n, WEEKS): 5 distinct raters in the 28 days before each evaluation."""
    distinct = bench.window_sums(w, 28, 0)[0]
    return distinct[:, bench.HISTORY + 1 : bench.HISTORY + bench.WEEKS + 1] >= 5


def sequential_hits(weeks: np.ndarray, gate: np.ndarray, limit: float, window: int) -> np.ndarray:
    """(n, WEEKS) evaluations that fire: the CUSUM of the weekly log LR (window 0,
    restarted after an alarm, from 26 weeks before the first evaluation) or the sum of
    the last `window` weeks' log LR, over `limit`, where the gate is open."""
    n = weeks.shape[0]
    hits = np.zeros((n, bench.WEEKS), dtype=bool)
    if window:
        csum = np.concatenate([np.zeros((n, 1)), np.cumsum(weeks, axis=1)], axis=1)
        for i in range(bench.WEEKS):
            t = bench.HISTORY + i + 1
            hits[:, i] = csum[:, t] - csum[:, t - window] > limit
        return hits & gate
    s = np.zeros(n)
    for t in range(bench.HISTORY - 26, bench.HISTORY + bench.WEEKS):
        s = np.maximum(0.0, s + weeks[:, t])
        i = t - bench.HISTORY
        if i >= 0:
            hits[:, i] = (s > limit) & gate[:, i]
            s = np.where(hits[:, i], 0.0, s)
    return hits


def realtime(worlds: dict[str, bench.World], reps: int, seed: int, fas: list[float]) -> None:
    """The oracle at the bench's cadence and lifecycle (`bench.openings`, `bench.score`):
    sensitivity at each FA, the limit interpolated between a grid's points."""
    rng = np.random.default_rng(seed)
    null, gate0 = worlds["null"], gate_open(worlds["null"])
    for name in ("trust -0.5", "trust -1.0"):
        w, shift = worlds[name], bench.SCENARIOS[name][1]
        gate1 = gate_open(w)
        w0 = [weekly_llr(null, answer_llr(null, rng, shift, 0.0)) for _ in range(reps)]
        w1 = [weekly_llr(w, answer_llr(w, rng, shift, shift)) for _ in range(reps)]
        for window, label in ((0, "CUSUM"), (4, "4 weeks")):
            curve = []
            for limit in np.arange(1.5, 8.01, 0.5):
                fa = np.mean(
                    [
                        100
                        * sum(
                            map(len, bench.openings(sequential_hits(x, gate0, limit, window), 14))
                        )
                        / x.size
                        * x.shape[1]
                        / bench.WEEKS
                        for x in w0
                    ]
                )
                sens = np.mean(
                    [
                        bench.score(
                            bench.openings(sequential_hits(x, gate1, limit, window), 14), w.change
                        )[0]
                        for x in w1
                    ]
                )
                curve.append((fa, sens))
            fa_grid, sens_grid = np.array(curve).T
            row = [f"{np.interp(fa, fa_grid[::-1], sens_grid[::-1]):.3f}" for fa in fas]
            print(
                f"| {shift:g} | real time, {label}, level and returning tendencies known | "
                + " | ".join(row)
                + " |"
            )


def power_at(null: np.ndarray, alt: np.ndarray, size: float) -> float:
    """Power of "reject where log LR > λ" with λ set so that the share of `null` above
    it is `size` (gate-closed communes carry -inf)."""
    lam = np.quantile(null, 1 - size)
    return float((alt > lam).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--communes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--world", choices=("fresh", "panel", "mixed"), default="panel")
    parser.add_argument("--return-share", type=float, default=0.5)
    parser.add_argument("--tenure-days", type=float, default=0.0)
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--realtime", type=int, default=0, help="redraws for the real-time oracle")
    parser.add_argument("--fa", type=float, action="append", help="FA per 100 commune-weeks")
    args = parser.parse_args()
    fas = args.fa or [0.57]
    started = time.monotonic()
    rng = np.random.default_rng(args.seed)
    worlds = {}
    for name, (factor, shift) in bench.SCENARIOS.items():
        worlds[name] = bench.make_world(
            rng, args.communes, factor, shift, args.world, args.tenure_days, args.return_share
        )
        if name == "trust -1.0":
            break
    tenure = f", tenure {args.tenure_days:g} days" if args.tenure_days else ""
    print(
        f"# bench_trust_bound: {args.world} world{tenure}, {args.communes} communes, "
        f"seed {args.seed}, {args.reps} redraws; worlds drawn in {time.monotonic() - started:.0f} s"
    )
    layout = {name: Layout(worlds[name]) for name in ("null", "trust -0.5", "trust -1.0")}
    gate = layout["trust -0.5"].gate
    print(f"# gate open in weeks c..c+3: {gate.mean():.3f} of the communes")
    draws = np.random.default_rng(args.seed + 1000)
    header = "| shift | oracle | " + " | ".join(f"FA {fa:g} (a {4 * fa / 100:.4f})" for fa in fas)
    print()
    print(header + " |")
    print("|---|---|" + "---|" * len(fas))
    for name in ("trust -0.5", "trust -1.0"):
        lay, shift = layout[name], bench.SCENARIOS[name][1]
        found: dict[bool, tuple[list[np.ndarray], list[np.ndarray]]] = {
            False: ([], []),
            True: ([], []),
        }
        for _ in range(args.reps):
            for side, hyp in ((0, 0.0), (1, shift)):
                value, tau = lay.draw(draws, hyp)
                integrated = lay.llr(value, shift)
                known = lay.llr(value, shift, tau, integrated)
                for flag, llr in ((False, integrated), (True, known)):
                    found[flag][side].append(np.where(lay.gate, lay.by_commune(llr), -np.inf))
        for flag, label in ((False, "level known"), (True, "level, tendency known")):
            n0, n1 = (np.concatenate(x) for x in found[flag])
            row = [f"{power_at(n0, n1, 4 * fa / 100):.3f}" for fa in fas]
            print(f"| {shift:g} | {label} | " + " | ".join(row) + " |")
        # The bench's own answers: H1 from this world, H0 from the null world's communes.
        nl = layout["null"]
        own0 = np.where(nl.gate, nl.by_commune(nl.llr(nl.value, shift)), -np.inf)
        own1 = np.where(lay.gate, lay.by_commune(lay.llr(lay.value, shift)), -np.inf)
        row = [f"{power_at(own0, own1, 4 * fa / 100):.3f}" for fa in fas]
        print(f"| {shift:g} | level known, bench values | " + " | ".join(row) + " |")
    if args.realtime:
        realtime(worlds, args.realtime, args.seed + 2000, fas)
    print(f"# {time.monotonic() - started:.0f} s in all")


if __name__ == "__main__":
    main()
