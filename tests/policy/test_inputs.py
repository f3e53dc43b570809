"""The hot-path helpers of ``policy/controllers/inputs.py`` equal the numpy functions they
replace, on every kind of float (NaN, +-inf, +-0, subnormal, huge)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from zerodte.policy.controllers.inputs import nan_to_zero, sign0

FLOATS = arrays(np.float64, st.integers(0, 12), elements=st.floats(allow_nan=True))


@given(FLOATS)
def test_nan_to_zero_is_nan_to_num(x: np.ndarray) -> None:
    np.testing.assert_array_equal(nan_to_zero(x), np.nan_to_num(x))


@given(FLOATS)
def test_sign0_is_sign_of_nan_to_num(x: np.ndarray) -> None:
    np.testing.assert_array_equal(sign0(x), np.sign(np.nan_to_num(x)))
