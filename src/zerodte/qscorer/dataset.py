"""The Q-scorer dataset: logged decisions + ghost rewards + realised trades -> (state, targets).

One row per decision cycle whose state features are known::

    features      the named feature set at bar t (causal), plus an optional predictor
                  embedding block (columns ``emb_*``)
    target_call   Q_call label at horizon H: the ghost reward ``ghost_call_{H}m`` of a
                  held or vetoed cycle, or the realised P&L per contract of a call trade
                  entered at this cycle
    target_put    likewise for puts (a cycle that entered one right has no label for the
                  other; the loss masks it)
    action, prob_hold/call/put, reward
                  the logging policy's action, its propensities and the realised reward of
                  that action (0 for HOLD or a vetoed entry; the trade's P&L per contract),
                  used by off-policy evaluation
    gate_call, gate_put
                  1.0 when the entry gates allowed a call (put) entry at this cycle, 0.0
                  when they vetoed it, NaN when the run did not ask (the logging run of
                  the pipeline asks every cycle: ``run_backtest(probe_gates=True)``)

Every decision that ends without a label is counted in :class:`DatasetReport` with the
reason, so "training matched 0 rows" can never happen silently.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from zerodte.errors import DataError
from zerodte.records import ghost_column
from zerodte.types import Action

logger = logging.getLogger(__name__)

TARGETS: tuple[str, str] = ("target_call", "target_put")


@dataclass(frozen=True)
class UnmatchedGroup:
    """A group of decision rows without a label, and why."""

    reason: str
    rows: int

    def __str__(self) -> str:
        return f"{self.reason}: {self.rows} rows"


@dataclass(frozen=True)
class DatasetReport:
    """Matched and unmatched counts of a dataset build."""

    horizon: int
    decisions: int
    matched: int
    from_ghosts: int
    from_trades: int
    unmatched: tuple[UnmatchedGroup, ...] = ()

    def lines(self) -> list[str]:
        """Human-readable summary, one fact per line."""
        out = [
            f"horizon {self.horizon} min: {self.decisions} decisions, {self.matched} matched "
            f"({self.from_ghosts} ghost labels, {self.from_trades} realised trades)"
        ]
        out += [f"  unmatched - {g}" for g in self.unmatched]
        return out

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "horizon": self.horizon,
            "decisions": self.decisions,
            "matched": self.matched,
            "from_ghosts": self.from_ghosts,
            "from_trades": self.from_trades,
            "unmatched": [{"reason": g.reason, "rows": g.rows} for g in self.unmatched],
        }


@dataclass(frozen=True)
class QDataset:
    """Rows of (state, targets, logged action, propensities, reward), sorted by time."""

    frame: pd.DataFrame
    feature_columns: tuple[str, ...]
    schema_hash: str
    horizon: int
    report: DatasetReport
    data_hash: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def labelled(self) -> pd.DataFrame:
        """Rows with at least one finite target (the training rows)."""
        t = self.frame[list(TARGETS)].to_numpy(np.float64)
        return self.frame.loc[np.isfinite(t).any(axis=1)]

    def features(self, frame: pd.DataFrame | None = None) -> np.ndarray:
        """Feature matrix ``(n, n_features)`` of ``frame`` (default: all rows)."""
        f = self.frame if frame is None else frame
        return f.loc[:, list(self.feature_columns)].to_numpy(np.float64)


def realised_rewards(trades: pd.DataFrame) -> pd.DataFrame:
    """Realised P&L per contract of every position, one row per opening tag.

    Partial exits share their opening tag; their P&L and quantities add up. Returns columns
    ``entry_time, exit_time, right, reward`` (dollars per contract, net of all fees).
    """
    if trades is None or len(trades) == 0:
        return pd.DataFrame(
            {
                "entry_time": pd.Series(dtype="datetime64[ns, America/New_York]"),
                "right": pd.Series(dtype=object),
                "exit_time": pd.Series(dtype="datetime64[ns, America/New_York]"),
                "reward": pd.Series(dtype=float),
            }
        )
    g = trades.groupby("tag", sort=False)
    out = pd.DataFrame(
        {
            "entry_time": pd.to_datetime(g["entry_time"].first()),
            "exit_time": pd.to_datetime(g["exit_time"].max()),
            "right": g["right"].first().astype(str),
            "pnl": g["pnl"].sum().astype(float),
            "qty": g["qty"].sum().astype(float),
        }
    )
    out["reward"] = out["pnl"] / out["qty"]
    cols = ["entry_time", "exit_time", "right", "reward"]
    return out.sort_values("entry_time").reset_index(drop=True)[cols]


def _attach_trades(decisions: pd.DataFrame, trades: pd.DataFrame) -> pd.DataFrame:
    """For each executed entry, the realised reward of the trade it opened (NaN if none)."""
    out = pd.DataFrame(index=decisions.index)
    out["trade_reward"] = np.nan
    out["trade_right"] = None
    out["trade_exit"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns, America/New_York]")
    rew = realised_rewards(trades)
    entries = decisions.loc[decisions["executed_action"] != int(Action.HOLD), ["timestamp"]]
    if len(rew) == 0 or len(entries) == 0:
        return out
    left = rew.sort_values("entry_time")
    right = entries.reset_index().rename(columns={"index": "row"}).sort_values("timestamp")
    right["timestamp"] = pd.to_datetime(right["timestamp"])
    # A trade belongs to the latest executed entry decided strictly before its fill
    # (fills happen at a later bar's open than the decision bar).
    merged = pd.merge_asof(
        left,
        right,
        left_on="entry_time",
        right_on="timestamp",
        direction="backward",
        allow_exact_matches=False,
    )
    merged = merged.dropna(subset=["row"]).drop_duplicates("row", keep="first")
    rows = merged["row"].astype(np.int64).to_numpy()
    out.loc[rows, "trade_reward"] = merged["reward"].to_numpy()
    out.loc[rows, "trade_right"] = merged["right"].to_numpy()
    out.loc[rows, "trade_exit"] = pd.to_datetime(merged["exit_time"]).to_numpy()
    return out


def build_dataset(
    decisions: pd.DataFrame,
    missed: pd.DataFrame,
    trades: pd.DataFrame | None,
    features: pd.DataFrame,
    *,
    feature_columns: Sequence[str],
    schema_hash: str,
    horizon: int,
    guard_minutes: float,
    minutes_to_close: pd.Series | None = None,
    embedding: pd.DataFrame | None = None,
    predictor: pd.DataFrame | None = None,
    data_hash: str = "",
) -> QDataset:
    """Join a run's records into a Q-scorer dataset at ``horizon`` minutes.

    Parameters
    ----------
    decisions, missed, trades
        The run's DecisionRecords, MissedOpportunityRecords and trades.
    features
        State features indexed by bar timestamp (at least ``feature_columns``).
    horizon
        ``H``: the targets are ``ghost_{right}_{H}m``. Records lacking other horizons are
        used as long as ``H`` is present.
    guard_minutes
        The broker's forced-exit guard before the close, used to explain why a horizon is
        unavailable.
    minutes_to_close
        Minutes to the close at each bar start (index: timestamps), for the explanation.
    embedding
        Optional predictor embedding indexed by timestamp; its columns are appended to the
        state (prefixed ``emb_`` when not already).
    predictor
        Optional predictor columns (calibrated outputs, ``emb_*``) indexed by timestamp,
        appended to the state under their own names (the names the engine's context uses).
    """
    col_call, col_put = ghost_column("call", horizon), ghost_column("put", horizon)
    if len(missed) and (col_call not in missed.columns or col_put not in missed.columns):
        have = sorted(c for c in missed.columns if c.startswith("ghost_"))
        raise DataError(
            f"missed-opportunity records have no {col_call}/{col_put}; they hold {have}. "
            f"Train on one of those horizons or regenerate the records with qscorer.horizons "
            f"including {horizon}"
        )
    dec = decisions.reset_index(drop=True).copy()
    dec["timestamp"] = pd.to_datetime(dec["timestamp"])
    feats = features.loc[:, list(feature_columns)]
    cols = list(feature_columns)
    if embedding is not None and len(embedding.columns):
        emb = embedding.rename(columns=lambda c: c if str(c).startswith("emb_") else f"emb_{c}")
        feats = feats.join(emb, how="left")
        cols += list(emb.columns)
    if predictor is not None and len(predictor.columns):
        feats = feats.join(predictor, how="left")
        cols += list(predictor.columns)
    fx = feats.reindex(pd.DatetimeIndex(dec["timestamp"])).to_numpy(np.float64)
    feats_ok = np.isfinite(fx).all(axis=1)

    trade_info = _attach_trades(dec, trades if trades is not None else pd.DataFrame())
    target_call = np.full(len(dec), np.nan)
    target_put = np.full(len(dec), np.nan)
    source = np.full(len(dec), "", dtype=object)
    # Ghost labels of held / vetoed cycles.
    m = missed.copy()
    m["timestamp"] = pd.to_datetime(m["timestamp"])
    pos = pd.Index(dec["timestamp"]).get_indexer(m["timestamp"])
    if (pos < 0).any():
        raise DataError(
            f"{int((pos < 0).sum())} missed-opportunity records have no decision record "
            f"(first at {m['timestamp'][pos < 0].iloc[0]}); records of another run were mixed in"
        )
    in_missed = np.zeros(len(dec), dtype=bool)
    in_missed[pos] = True
    if len(m):
        target_call[pos] = m[col_call].to_numpy(np.float64)
        target_put[pos] = m[col_put].to_numpy(np.float64)
        source[pos] = "ghost"
    # Realised rewards of entries taken.
    tr = trade_info["trade_reward"].to_numpy(np.float64)
    right = trade_info["trade_right"].to_numpy()
    has_trade = np.isfinite(tr)
    is_call = has_trade & (right == "C")
    is_put = has_trade & (right == "P")
    target_call[is_call] = tr[is_call]
    target_put[is_put] = tr[is_put]
    source[has_trade] = "trade"

    label_ok = np.isfinite(target_call) | np.isfinite(target_put)
    matched = label_ok & feats_ok
    unmatched = _explain(
        dec, in_missed, has_trade, label_ok, feats_ok, horizon, guard_minutes, minutes_to_close
    )

    action = dec["action"].to_numpy(np.int64)
    executed = dec["executed_action"].to_numpy(np.int64)
    reward = np.where(executed == int(Action.HOLD), 0.0, tr)
    # When each label is fully known: t + H for ghosts, the exit for realised trades. The
    # walk-forward split keeps every training label ending before validation starts.
    label_end = dec["timestamp"] + pd.Timedelta(minutes=int(horizon))
    label_end = label_end.where(~has_trade, trade_info["trade_exit"])
    frame = pd.DataFrame(
        {
            "cycle": dec["cycle"].to_numpy(np.int64),
            "timestamp": dec["timestamp"],
            "session": dec["session"].to_numpy(),
            "action": action,
            "executed_action": executed,
            "prob_hold": dec["prob_hold"].to_numpy(np.float64),
            "prob_call": dec["prob_call"].to_numpy(np.float64),
            "prob_put": dec["prob_put"].to_numpy(np.float64),
            "reward": reward,
            "gate_call": _column(dec, "gate_call"),
            "gate_put": _column(dec, "gate_put"),
            "target_call": np.where(feats_ok, target_call, np.nan),
            "target_put": np.where(feats_ok, target_put, np.nan),
            "source": source,
            "label_end": label_end,
        }
    )
    frame = pd.concat([frame, pd.DataFrame(fx, columns=cols)], axis=1)
    frame = frame.loc[feats_ok].reset_index(drop=True)
    report = DatasetReport(
        horizon=int(horizon),
        decisions=len(dec),
        matched=int(matched.sum()),
        from_ghosts=int((matched & (source == "ghost")).sum()),
        from_trades=int((matched & (source == "trade")).sum()),
        unmatched=tuple(unmatched),
    )
    for line in report.lines():
        logger.info(line)
    return QDataset(frame, tuple(cols), schema_hash, int(horizon), report, data_hash)


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A float column of ``frame``, all NaN when the records predate it (unknown)."""
    if name in frame.columns:
        return frame[name].to_numpy(np.float64)
    return np.full(len(frame), np.nan)


def _explain(  # noqa: PLR0917 (private helper of build_dataset)
    dec: pd.DataFrame,
    in_missed: np.ndarray,
    has_trade: np.ndarray,
    label_ok: np.ndarray,
    feats_ok: np.ndarray,
    horizon: int,
    guard: float,
    minutes_to_close: pd.Series | None,
) -> list[UnmatchedGroup]:
    groups: list[UnmatchedGroup] = []
    executed = dec["executed_action"].to_numpy(np.int64) != int(Action.HOLD)
    no_record = ~in_missed & ~executed
    if no_record.any():
        groups.append(
            UnmatchedGroup(
                "no missed-opportunity record (excluded by qscorer.label_mode)",
                int(no_record.sum()),
            )
        )
    lost_entry = executed & ~has_trade
    if lost_entry.any():
        groups.append(
            UnmatchedGroup(
                "entry sent but no closed trade (rejected, or still open at the end)",
                int(lost_entry.sum()),
            )
        )
    null_h = in_missed & ~label_ok
    if null_h.any():
        late = np.zeros(len(dec), dtype=bool)
        if minutes_to_close is not None:
            mtc = minutes_to_close.reindex(pd.DatetimeIndex(dec["timestamp"])).to_numpy()
            late = mtc - horizon < guard
        n_late = int((null_h & late).sum())
        n_other = int((null_h & ~late).sum())
        if n_late:
            groups.append(
                UnmatchedGroup(
                    f"horizon {horizon} unavailable (last {horizon + guard:g} minutes of "
                    f"sessions: exit after the {guard:g}-minute expiry guard)",
                    n_late,
                )
            )
        if n_other:
            groups.append(
                UnmatchedGroup(
                    f"horizon {horizon} unavailable (missing bars or no usable quote)",
                    n_other,
                )
            )
    no_feat = label_ok & ~feats_ok
    if no_feat.any():
        groups.append(
            UnmatchedGroup(
                "state features unavailable (warm-up or missing data)", int(no_feat.sum())
            )
        )
    return groups
