"""Every bad setting of issue 14 is refused at load, naming key, value, source and range.

Each row is given once through a TOML file and once through the environment. The names
that select registered objects are checked against their registries.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zerodte.cli.main import app
from zerodte.config import load_settings
from zerodte.config.fields import key_to_env
from zerodte.config.names import CONTROLLER_NAMES, FEATURE_SET_NAMES
from zerodte.errors import ConfigError

# key, TOML value, environment text, a fragment of the allowed range shown
BAD = [
    ("exits.stop_loss_pct", "inf", "inf", "> 0"),
    ("exits.stop_loss_pct", "true", None, "a number"),
    ("entry.q_min_conf", "5", "5", "<= 1"),
    ("qscorer.feature_set", '"bogus"', "bogus", "'minimal'"),
    ("qscorer.hidden", "[0]", "0", ">= 1"),
    ("qscorer.hidden", "0", None, "a list"),
    ("qscorer.hidden", "[]", "", "at least 1 item"),
    ("qscorer.horizons", "[0, -5]", "0,-5", ">= 1"),
    ("qscorer.embargo_minutes", "-10", "-10", ">= 0"),
    ("options.risk_free_rate", "-5", "-5", ">= -0.05"),
    ("models.tree_horizons", "[0]", "0", ">= 1"),
    ("exits.expiry_exit_minutes", "100000", "100000", "<= 390"),
    ("exits.use_trailing_stop", "1", None, "true/false"),
    ("entry.controller", '"randm"', "randm", "'random'"),
    ("data.symbols", '["../x"]', "../x", "matching"),
    ("store.url", '"not a url"', "not a url", "text"),
    # the structured Q-model's and the live loop's settings
    ("qscorer.model", '"bogus"', "bogus", "'structured'"),
    ("qscorer.feature_set", '"q_stat"', "q_stat", "'q_state'"),
    ("qscorer.cost_columns", "[]", "", "at least 1 item"),
    ("qscorer.cost_columns", '["vix level"]', "vix level", "matching"),
    ("qscorer.direction_terms", "[]", "", "at least 1 item"),
    ("qscorer.direction_terms", '["ret_30m**z30"]', "ret_30m**z30", "matching"),
    ("qscorer.direction_ridge", "-0.1", "-0.1", ">= 0"),
    ("qscorer.direction_ridge", "inf", "inf", ">= 0"),
    ("qscorer.cost_trees", "0", "0", ">= 1"),
    ("qscorer.cost_learning_rate", "0", "0", "> 0"),
    ("qscorer.early_stopping_fraction", "1", "1", "< 1"),
    ("qscorer.calibration_fraction", "-0.1", "-0.1", ">= 0"),
    ("qscorer.refit", "1", None, "true/false"),
    ("live.bar_timeout_s", "nan", "nan", "> 0"),
    ("live.chain_width", "0", "0", ">= 1"),
    ("alignment.fail_fast_stale_pct", "101", "101", "<= 100"),
    ("broker.tradier_base_url", '"sandbox.tradier.com"', "sandbox.tradier.com", "text"),
]


def _section(key: str) -> tuple[str, str]:
    section, leaf = key.rsplit(".", 1)
    return section, leaf


@pytest.mark.parametrize(
    ("key", "toml", "env", "allowed"), BAD, ids=[f"{b[0]}={b[1]}" for b in BAD]
)
def test_bad_value_in_a_file_is_refused(
    tmp_path: Path, key: str, toml: str, env: str | None, allowed: str
) -> None:
    section, leaf = _section(key)
    path = tmp_path / "cfg.toml"
    path.write_text(f"[{section}]\n{leaf} = {toml}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={}, dotenv=None)
    text = str(err.value)
    assert key in text and f"file:{path}" in text and allowed in text, text
    assert re.search(rf"{re.escape(key)}(\[\d+\])? = \S", text), text  # the value seen


@pytest.mark.parametrize(
    ("key", "env", "allowed"),
    [(k, e, a) for k, _t, e, a in BAD if e is not None],
    ids=[f"{b[0]}={b[2]!r}" for b in BAD if b[2] is not None],
)
def test_bad_value_in_the_environment_is_refused(key: str, env: str, allowed: str) -> None:
    name = key_to_env(key)
    with pytest.raises(ConfigError) as err:
        load_settings(env={name: env}, dotenv=None)
    text = str(err.value)
    assert key in text and f"env:{name}" in text and allowed in text, text
    assert re.search(rf"{re.escape(key)}(\[\d+\])? = \S", text), text  # the value seen


CROSS = [
    ("qscorer", "validation_fraction = 0.5\ncalibration_fraction = 0.5", "below 1"),
    ("live", "bar_settle_s = 30", "live.bar_timeout_s"),
    ("alignment", "exact_window_s = 700", "alignment.max_lag_s"),
]


@pytest.mark.parametrize(("section", "body", "fragment"), CROSS, ids=[c[0] for c in CROSS])
def test_settings_that_do_not_fit_together_are_refused(
    tmp_path: Path, section: str, body: str, fragment: str
) -> None:
    path = tmp_path / "cfg.toml"
    path.write_text(f"[{section}]\n{body}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={}, dotenv=None)
    text = str(err.value)
    assert fragment in text and f"file:{path}" in text, text
    for line in body.splitlines():
        assert f"{section}.{line.split(' = ')[0]}" in text, text


def test_names_match_their_registries() -> None:
    from typer.testing import CliRunner

    from zerodte.cli.main import app
    from zerodte.features import FEATURE_SETS
    from zerodte.policy.controllers.registry import available_controllers, register_controller

    # the composition root registers every controller when a command runs (not on import)
    assert CliRunner().invoke(app, ["config", "show", "--changed"]).exit_code == 0

    assert set(FEATURE_SETS) == set(FEATURE_SET_NAMES)
    assert set(available_controllers()) == set(CONTROLLER_NAMES)
    with pytest.raises(ConfigError, match=r"zerodte\.config\.names"):
        register_controller("bandit_v9", lambda settings: None)  # type: ignore[arg-type,return-value]


def test_config_show_refuses_what_a_command_would_choke_on(tmp_path: Path) -> None:
    path = tmp_path / "cfg.toml"
    path.write_text('[qscorer]\nfeature_set = "bogus"\nhidden = []\n')
    res = CliRunner().invoke(app, ["--config", str(path), "config", "show"])
    assert res.exit_code == 2
    assert "qscorer.feature_set" in res.stderr and "qscorer.hidden" in res.stderr
    assert "Traceback" not in res.output


def test_q_pipeline_and_train_refuse_horizon_zero() -> None:
    for command in ("pipeline", "train"):
        res = CliRunner().invoke(app, ["q", command, "--horizon", "0", "--days", "2"])
        assert res.exit_code == 2 and "--horizon" in res.output, res.output
