"""The operator's questions, asked of both sides of the observability pair.

One list for both: the naive side answers from the timing log
(`infragap.naive.timing_log_answers`), the proven side with PromQL
(`infragap.proven.observability.answers`). Both return an `Answer` per question, so a
report lines them up by `question` id. An answer is either a value (a number, or a
breakdown keyed by a label such as the HTTP status) or None with the reason it cannot be
given; `note` carries that reason, or the caveat of a value that was given.
"""

from __future__ import annotations

from dataclasses import dataclass

P50 = "p50_latency"
P99 = "p99_latency"
REQUEST_RATE = "request_rate"
STATUS_SHARE = "status_share"
P99_BY_VARIANT = "p99_by_variant"
TRITON_QUEUE_VS_COMPUTE = "triton_queue_vs_compute"
TRITON_BATCH_SIZE = "triton_batch_size"


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    unit: str


QUESTIONS: tuple[Question, ...] = (
    Question(P50, "What is the median (p50) latency of /predict over the window?", "ms"),
    Question(P99, "What is the p99 latency of /predict over the window?", "ms"),
    Question(REQUEST_RATE, "How many requests per second does /predict serve?", "requests/s"),
    Question(
        STATUS_SHARE,
        "What share of /predict requests ends in each HTTP status (the error rate by status)?",
        "fraction of requests, by status",
    ),
    Question(P99_BY_VARIANT, "What is the p99 latency of each serving variant?", "ms, by variant"),
    Question(
        TRITON_QUEUE_VS_COMPUTE,
        "How much of a Triton request's time is queueing, and how much is compute?",
        "ms per request, queue and compute",
    ),
    Question(
        TRITON_BATCH_SIZE,
        "What is Triton's mean batch size (inferences per model execution)?",
        "inferences per execution",
    ),
)

QUESTION_IDS: tuple[str, ...] = tuple(question.id for question in QUESTIONS)

Value = float | dict[str, float]


@dataclass(frozen=True)
class Answer:
    """One side's answer to one question.

    `source` is what was read to answer: the PromQL text (one query per line), or a
    description of the log lines. `bytes_read` is the log bytes parsed, or the bytes of
    Prometheus's HTTP answers. `seconds` is the wall time it took, filled in by the
    thin I/O wrappers (None from the pure functions).
    """

    question: str
    value: Value | None
    note: str = ""
    source: str = ""
    bytes_read: int = 0
    seconds: float | None = None

    @property
    def answered(self) -> bool:
        return self.value is not None


def question(question_id: str) -> Question:
    """The question with this id; KeyError naming the known ids otherwise."""
    for known in QUESTIONS:
        if known.id == question_id:
            return known
    raise KeyError(f"unknown question {question_id!r}: known ones are {', '.join(QUESTION_IDS)}")
