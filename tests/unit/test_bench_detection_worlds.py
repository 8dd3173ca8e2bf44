"""The mixed world of scripts/bench_detection.py: a commune's raters are the share of
returning people it was drawn with, and communes lie on both sides of within_share."""

import numpy as np

from tests.scripts import script


def bench():
    return script("bench_detection")


def test_a_mixed_commune_has_the_share_of_returning_raters_it_was_drawn_with():
    b = bench()
    n, share = 400, 0.5
    raters = np.random.default_rng(1).uniform(5, 40, n)
    mu, change = np.full(n, 3.5), np.full(n, 10**6)
    drawn = b.return_shares(np.random.default_rng(7), n, share)
    level = b.Level(mu, change, 0.0)
    ratings, person = b.mixed_ratings(np.random.default_rng(7), raters, level, 0.0, share)
    commune = ratings[0]
    answered = np.bincount(person)
    returning = answered[person] > 1  # answers of people who answer more than once
    seen = np.bincount(commune, returning, n) / np.bincount(commune, minlength=n)
    assert abs(seen.mean() - share) < 0.03
    assert np.corrcoef(seen, drawn)[0, 1] > 0.9
    assert (drawn < 0.4).mean() > 0.3 and (drawn > 0.6).mean() > 0.3
    assert len(np.unique(person)) == len(person) - (returning.sum() - (answered > 1).sum())


def test_the_return_share_is_the_mean_of_the_communes_shares():
    b = bench()
    for share in (0.2, 0.5, 0.8):
        drawn = b.return_shares(np.random.default_rng(3), 5000, share)
        assert abs(drawn.mean() - share) < 0.02
        assert drawn.min() >= 0 and drawn.max() <= 1
