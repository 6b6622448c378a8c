"""The README's results table is what docs/results.json (written by the eval commands) says."""

from recipes import results


def test_the_readme_table_is_rendered_from_the_results_file():
    assert results.update_readme(check=True), "README.md and docs/results.json differ: run python -m recipes.results"


def test_a_recorded_eval_shows_in_its_test_sets_column(tmp_path):
    path = tmp_path / "results.json"
    figures = {"overall": {"si_sdri_text": 7.25, "snri_text": 6.5, "level_text": -1.0},
               "by_sources": {"2": {"si_sdri_text": 8.0}}}
    results.record("separation", "real", figures, "separator-small@abc", "data/real-test", path=path)
    results.record("separation", "synthetic", {"overall": {"si_sdri_text": 10.0}}, "m", "data/small", path=path)
    table = results.render(results.load(path))
    header = table.splitlines()[0]
    assert header.index("synthetic test") < header.index("real-test")  # sets side by side, in a fixed order
    row = next(line for line in table.splitlines() if line.startswith("| text prompt SI-SDRi"))
    assert "10.00 / – / –" in row and "7.25 / 8.00 / –" in row


def test_clicks_show_one_figure_per_picture_style(tmp_path):
    path = tmp_path / "results.json"
    styles = {"emoji": {"si_sdri_click": 7.5, "class_top1": 0.8}, "stamps": {"si_sdri_click": 3.25, "class_top1": 0.5},
              "outline": {"si_sdri_click": -1.0, "distractor_share_above_-25db": 0.4}}
    results.record("clicks", "real", styles, "separator-small@a+peav-small@b", "data/scenes/real-test-emoji", path=path)
    table = results.render(results.load(path)).splitlines()
    assert "real-test" in table[0] and "synthetic" not in table[0]
    assert next(line for line in table if line.startswith("| click SI-SDRi")).endswith("| 7.50 / 3.25 / -1.00 |")
    assert next(line for line in table if line.startswith("| click names")).endswith("| 80% / 50% / – |")
    assert next(line for line in table if line.startswith("| click on a silent")).endswith("| – / – / 40% |")


def test_a_before_and_after_row_shows_both_sides(tmp_path):
    path = tmp_path / "results.json"
    figures = {"before_sisdri": 8.25, "before_above_snr": 0.5, "high_band_sisdri": 8.75}
    results.record("fullband", "alt", figures, "separator-small@a", "44.1 kHz renders (alt)", path=path)
    table = results.render(results.load(path)).splitlines()
    assert "alt-test" in table[0]
    assert next(line for line in table if line.startswith("| 44.1 kHz pairs")).endswith("| 8.25 / 0.50 → 8.75 / – |")
