from __future__ import annotations

from infragap.suites.serving.isolation import isolation_record, out_of_range
from infragap.workloads.model_sizes import model_size
from infragap.workloads.ranking_requests import generate_requests


def test_the_bad_request_differs_from_its_source_in_one_item_id_past_the_table() -> None:
    size = model_size("tiny")
    (good,) = generate_requests(size, seed=1, count=1, rows=3)
    bad = out_of_range(good, size.n_items)
    assert bad.item_id[0] == size.n_items and bad.item_id[1:] == good.item_id[1:]
    assert bad.user_id == good.user_id and bad.dense == good.dense


def test_the_record_counts_valid_requests_that_did_not_get_a_200() -> None:
    record = isolation_record([400, 500], [200, 500, 500, 0])
    assert record["rounds"] == 2
    assert record["bad_statuses"] == {"400": 1, "500": 1}
    assert record["good_requests"] == 4 and record["good_failed"] == 3
    assert record["good_statuses"] == {"200": 1, "500": 2, "0": 1}
