from infragap.suites.serving.equivalence import compare_scores, equivalence_record


def test_compare_scores_within_and_beyond_tolerance():
    same = compare_scores([[0.5, 0.25]], [[0.50001, 0.25]], tolerance=1e-4)
    assert same.passed
    assert same.max_abs_diff > 0
    differ = compare_scores([[0.5], [0.5]], [[0.5], [0.7]], tolerance=1e-4)
    assert not differ.passed
    assert "request 1" in differ.mismatches[0]
    short = compare_scores([[0.5, 0.5]], [[0.5]], tolerance=1e-4)
    assert not short.passed


def test_equivalence_record_summarises_every_variant():
    record = equivalence_record(
        {"a": compare_scores([[1.0]], [[1.0]], 1e-4), "b": compare_scores([[1.0]], [[2.0]], 1e-4)},
        1e-4,
    )
    assert record["passed"] is False
    assert record["variants"]["a"]["passed"] is True
    assert record["variants"]["b"]["max_abs_diff"] == 1.0
