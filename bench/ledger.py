"""The answer ledger: what the server acknowledged must be exactly what it stored.

For every (attempt, position) the generator remembers the highest ``seq`` the
server answered 200 "saved" for, with the tokens sent. After a run the database
row must hold that seq and the options those tokens stand for. A row that is
*ahead* is fine only when its seq belongs to a save whose fate the client never
learnt (timeout, dropped connection) or that was refused as stale; anything
else is a lost or invented answer.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from quiz.models import AttemptItem

Key = tuple[int, int]  # (attempt_id, position)


@dataclass
class SeqClock:
    """Per-question sequence numbers as the page makes them: max(last + 1, Date.now()).

    ``busy`` holds the questions with a save in flight: a page sends one save at a
    time, so the generator never overlaps two saves of one question either.
    """

    last: dict[Key, int] = field(default_factory=dict)
    busy: set[Key] = field(default_factory=set)

    def next(self, key: Key) -> int:
        seq = max(self.last.get(key, 0) + 1, int(time.time() * 1000))
        self.last[key] = seq
        return seq


@dataclass
class Ledger:
    acked: dict[Key, tuple[int, tuple[str, ...]]] = field(default_factory=dict)
    unsure: dict[Key, set[int]] = field(default_factory=dict)  # no reply, or refused as stale
    attempts: set[int] = field(default_factory=set)
    outcomes: Counter[str] = field(default_factory=Counter)

    def record(self, key: Key, seq: int, tokens: list[str], outcome: str) -> None:
        """``outcome``: "ok" for 200 saved, "unknown" for no reply, or the refusal kind."""
        self.attempts.add(key[0])
        self.outcomes[outcome] += 1
        if outcome == "ok":
            if seq > self.acked.get(key, (0, ()))[0]:
                self.acked[key] = (seq, tuple(tokens))
        elif outcome == "unknown" or outcome.endswith("stale"):
            self.unsure.setdefault(key, set()).add(seq)

    def verify(self) -> LedgerResult:
        result = LedgerResult(acknowledged=len(self.acked))
        rows = AttemptItem.objects.filter(attempt_id__in=sorted(self.attempts)).values_list(
            "attempt_id", "position", "seq", "selected", "choice_tokens", "choice_order"
        )
        for attempt_id, position, seq, selected, tokens, order in rows:
            key = (attempt_id, position)
            lookup = dict(zip(tokens, order, strict=True))
            acked_seq, acked_tokens = self.acked.get(key, (0, ()))
            if seq == acked_seq:
                if acked_seq and sorted({lookup[t] for t in acked_tokens}) != sorted(selected):
                    result.mismatched.append(key)
                else:
                    result.matched += 1 if acked_seq else 0
            elif seq < acked_seq:
                result.lost.append(key)
            elif seq in self.unsure.get(key, set()):
                result.ahead_unacknowledged += 1
            else:
                result.unexplained.append(key)
        return result


@dataclass
class LedgerResult:
    acknowledged: int  # questions with at least one acknowledged save
    matched: int = 0
    ahead_unacknowledged: int = 0  # stored a later save whose reply never arrived: allowed
    lost: list[Key] = field(default_factory=list)  # stored seq older than an acknowledged one
    mismatched: list[Key] = field(default_factory=list)  # right seq, wrong options
    unexplained: list[Key] = field(default_factory=list)  # a seq the generator never sent or was refused

    @property
    def ok(self) -> bool:
        return not (self.lost or self.mismatched or self.unexplained)

    def line(self) -> str:
        verdict = "OK" if self.ok else "FAILED"
        return (
            f"ledger {verdict}: {self.acknowledged} questions with acknowledged saves, {self.matched} exact, "
            f"{self.ahead_unacknowledged} ahead by an unacknowledged save, {len(self.lost)} lost, "
            f"{len(self.mismatched)} with other options, {len(self.unexplained)} unexplained"
            + (f" (e.g. {(self.lost + self.mismatched + self.unexplained)[:5]})" if not self.ok else "")
        )
