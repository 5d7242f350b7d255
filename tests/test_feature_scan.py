"""The feature scan's AUC against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from dwh.bench.feature_scan import auc


@pytest.mark.parametrize(
    ("scores", "labels", "expected"),
    [
        ([1, 2, 3, 4], [0, 0, 1, 1], 1.0),  # perfectly separated
        ([4, 3, 2, 1], [0, 0, 1, 1], 0.0),  # perfectly reversed
        ([1, 1, 1, 1], [0, 1, 0, 1], 0.5),  # all tied
        # pairs (pos, neg): (2,1) win, (2,3) lose, (4,1) win, (4,3) win -> 3 of 4
        ([1, 2, 3, 4], [0, 1, 0, 1], 0.75),
        # a tie between a positive and a negative counts a half: (2,2) half, (2,1) win -> 1.5 of 2
        ([1, 2, 2], [0, 0, 1], 0.75),
    ],
)
def test_auc_by_hand(scores, labels, expected):
    assert auc(np.array(scores, dtype=float), np.array(labels)) == pytest.approx(expected)
