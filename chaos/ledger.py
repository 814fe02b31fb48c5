"""What the server acknowledged, and whether the database still has it."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from chaos.harness import Browserless, Response
from quiz.models import AttemptItem


@dataclass
class Save:
    attempt_id: int
    position: int
    seq: int
    tokens: list[str]
    response: Response

    @property
    def acked(self) -> bool:
        return self.response.status == 200 and '"saved"' in self.response.body


@dataclass
class Ledger:
    """Every answer save sent to the server, with its response. Safe to share between threads."""

    saves: list[Save] = field(default_factory=list)
    _seq: int = field(default_factory=lambda: int(time.time() * 1000))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def save(self, client: Browserless, attempt_id: int, position: int, tokens: list[str]) -> Save:
        """POST one answer the way the page does (choice tokens and a fresh sequence number)."""
        with self._lock:
            self._seq += 1
            seq = self._seq
        response = client.post(
            f"/attempts/{attempt_id}/q/{position}/answer",
            [("seq", str(seq))] + [("choice", t) for t in tokens],
        )
        entry = Save(attempt_id, position, seq, tokens, response)
        with self._lock:
            self.saves.append(entry)
        return entry

    @property
    def acked(self) -> list[Save]:
        return [s for s in self.saves if s.acked]

    def lost(self) -> list[str]:
        """Acknowledged saves the database does not reflect (empty when nothing was lost).

        For each question the database must hold the newest acknowledged save, or a
        newer save that was sent and committed although its response never arrived.
        """
        sent: dict[tuple[int, int], dict[int, Save]] = defaultdict(dict)
        newest: dict[tuple[int, int], Save] = {}
        for s in self.saves:
            key = (s.attempt_id, s.position)
            sent[key][s.seq] = s
            if s.acked and (key not in newest or s.seq > newest[key].seq):
                newest[key] = s
        problems = []
        for key, acked in newest.items():
            item = AttemptItem.objects.get(attempt_id=key[0], position=key[1])
            held = sent[key].get(item.seq)
            if item.seq < acked.seq or held is None:
                problems.append(
                    f"attempt {key[0]} q{key[1]}: acknowledged seq {acked.seq}, database has seq {item.seq}"
                )
            elif item.selected != item.indexes_for_tokens(held.tokens):
                problems.append(
                    f"attempt {key[0]} q{key[1]}: seq {item.seq} stored {item.selected}, sent {held.tokens}"
                )
        return problems
