"""`ecaser compare`: the paired comparison of two runs' predictions, against hand computations."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from ecaser.commands import compare
from ecaser.evaluation import metrics
from ecaser.commands.cli import main as cli
from ecaser.infra.errors import InputError

CLASSES = ["anger", "sadness", "neutral"]


def write_run(root, name, true, pred, folds, repeat=1):
    """A results folder as a training stage writes it: predictions.csv (one split unless `repeat` says otherwise)."""
    path = root / "results" / name
    path.mkdir(parents=True)
    ids = [f"u{i % 30:02d}" for i in range(len(true))]
    table = pd.DataFrame({"id": ids, "repeat": repeat, "fold": folds, "true": true, "pred": pred})
    table.to_csv(path / "predictions.csv", index=False)
    (path / "config.json").write_text(json.dumps({"model": {"classes": CLASSES}}))


@pytest.fixture
def tree(tmp_path):
    """30 clips of 6 speakers in 3 folds; A gets 24 right, B 15 (each class alike), on the same clips."""
    rng = np.random.default_rng(0)
    true = np.tile([0, 1, 2], 10)
    folds = np.repeat([1, 2, 3], 10)
    pred_a = np.where(rng.uniform(size=30) < 0.8, true, (true + 1) % 3)
    pred_b = np.where(rng.uniform(size=30) < 0.5, true, (true + 2) % 3)
    segments = tmp_path / "data/segments"
    segments.mkdir(parents=True)
    pd.DataFrame({"id": [f"u{i:02d}" for i in range(30)], "speaker": [f"s{i % 6}" for i in range(30)],
                  "gender": "f", "session": "", "label": [CLASSES[y] for y in true], "label_index": true,
                  "source": "", "duration_s": 1.0}).to_csv(segments / "manifest.csv", index=False)
    return tmp_path, true, folds, pred_a, pred_b


def test_the_differences_are_the_hand_computed_ones(tree):
    root, true, folds, pred_a, pred_b = tree
    write_run(root, "a", true, pred_a, folds)
    write_run(root, "b", true, pred_b, folds)
    result = compare.compare(compare.load("results/a", root), compare.load("results/b", root))
    ua = [[metrics.scores(true[folds == f], p[folds == f])["UA"] for f in (1, 2, 3)] for p in (pred_a, pred_b)]
    d = np.subtract(*ua)
    # Nadeau and Bengio: variance x (1/J + n_test/n_train), 10 test and 20 training clips per fold, t with 2 dof
    t = d.mean() / np.sqrt((1 / 3 + 10 / 20) * d.var(ddof=1))
    ttest = result["scores"]["UA"]["difference"]
    assert ttest["diff"] == pytest.approx(d.mean()) and ttest["p"] == pytest.approx(2 * scipy_stats.t.sf(abs(t), 2))
    assert result["scores"]["UA"]["a"]["mean"] == pytest.approx(np.mean(ua[0]))
    only_a = int(np.sum((pred_a == true) & (pred_b != true)))
    only_b = int(np.sum((pred_a != true) & (pred_b == true)))
    assert (result["mcnemar"]["only_a_right"], result["mcnemar"]["only_b_right"]) == (only_a, only_b)
    assert result["mcnemar"]["p"] == pytest.approx(scipy_stats.binomtest(min(only_a, only_b), only_a + only_b).pvalue)
    for i, name in enumerate(CLASSES):
        mine = true == i
        assert result["recall"][name]["a"] == pytest.approx(100 * np.mean(pred_a[mine] == i))
    pooled = metrics.scores(true, pred_a)["UA"] - metrics.scores(true, pred_b)["UA"]  # over all clips, not folds
    assert result["speaker_bootstrap_UA"]["diff"] == pytest.approx(pooled)


def test_the_correction_uses_the_training_clips_the_audit_records(tree):
    """speaker_text-like folds train on fewer clips than the rest of the corpus: scores.json's audit says how many
    (here 8 and 6 per fold against 20), and the correction's n_test / n_train follows the fewer of the two runs'."""
    root, true, folds, pred_a, pred_b = tree
    write_run(root, "a", true, pred_a, folds)
    write_run(root, "b", true, pred_b, folds)
    for name, clips in (("a", 8), ("b", 6)):
        audit = {"folds": [{"fold": f, "train_clips": clips, "test_clips": 10} for f in (1, 2, 3)]}
        (root / "results" / name / "scores.json").write_text(json.dumps({"audit": audit}))
    result = compare.compare(compare.load("results/a", root), compare.load("results/b", root))
    ua = [[metrics.scores(true[folds == f], p[folds == f])["UA"] for f in (1, 2, 3)] for p in (pred_a, pred_b)]
    d = np.subtract(*ua)
    t = d.mean() / np.sqrt((1 / 3 + 10 / 6) * d.var(ddof=1))
    assert result["scores"]["UA"]["difference"]["p"] == pytest.approx(2 * scipy_stats.t.sf(abs(t), 2))


def test_repeats_count_every_fold_and_each_clip_once(tree):
    """Two repeats of a 3-fold split: the t-test pairs all 6 folds; the clip-level tests use the first repeat."""
    root, true, folds, pred_a, pred_b = tree
    rng = np.random.default_rng(1)
    true2, folds2 = np.concatenate([true, true]), np.concatenate([folds, rng.permutation(folds) + 3])
    a2 = np.concatenate([pred_a, np.where(rng.uniform(size=30) < 0.7, true, (true + 1) % 3)])
    b2 = np.concatenate([pred_b, pred_b])
    repeat = np.repeat([1, 2], 30)
    write_run(root, "a", true2, a2, folds2, repeat)
    write_run(root, "b", true2, b2, folds2, repeat)
    result = compare.compare(compare.load("results/a", root), compare.load("results/b", root))
    assert result["clips"] == 30 and result["folds"] == 6
    d = np.array([metrics.scores(true2[folds2 == f], a2[folds2 == f])["UA"]
                  - metrics.scores(true2[folds2 == f], b2[folds2 == f])["UA"] for f in range(1, 7)])
    t = d.mean() / np.sqrt((1 / 6 + 10 / 20) * d.var(ddof=1))  # 10 test, 20 training clips per fold, J = 6
    assert result["scores"]["UA"]["difference"]["p"] == pytest.approx(2 * scipy_stats.t.sf(abs(t), 5))
    only_a = int(np.sum((pred_a == true) & (pred_b != true)))
    assert result["mcnemar"]["only_a_right"] == only_a  # the first repeat's clips, each once


def test_a_run_against_itself_differs_by_nothing(tree):
    root, true, folds, pred_a, _ = tree
    write_run(root, "a", true, pred_a, folds)
    write_run(root, "b", true, pred_a, folds)
    result = compare.compare(compare.load("results/a", root), compare.load("results/b", root))
    for key in metrics.KEYS:
        assert result["scores"][key]["difference"]["diff"] == 0 and result["scores"][key]["difference"]["p"] == 1
    assert result["mcnemar"]["p"] == 1 and result["speaker_bootstrap_UA"]["p"] == 1


def test_the_command_prints_both_runs_and_json_for_machines(tree, capsys):
    root, true, folds, pred_a, pred_b = tree
    write_run(root, "a", true, pred_a, folds)
    write_run(root, "b", true, pred_b, folds)
    cli(["compare", "results/a", "results/b", "--root", str(root)])
    out = capsys.readouterr().out
    assert "A: " in out and "UA " in out and "exact McNemar p" in out and "sadness" in out
    cli(["compare", "results/a", "results/b", "--root", str(root), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert set(result["scores"]) == set(metrics.KEYS) and set(result["recall"]) == set(CLASSES)


def test_runs_on_other_folds_are_refused_with_one_line(tree, capsys):
    root, true, folds, pred_a, pred_b = tree
    write_run(root, "a", true, pred_a, folds)
    write_run(root, "b", true, pred_b, np.roll(folds, 1))  # another split of the same clips
    with pytest.raises(SystemExit) as exit:
        cli(["compare", "results/a", "results/b", "--root", str(root)])
    assert exit.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: stats: the runs were not scored on the same (id, fold) pairs") and "\n" not in err


def test_an_unknown_run_is_named(tree):
    root, *_ = tree
    with pytest.raises(InputError, match="nowhere: not a results folder, and .* has no readable dvc.yaml"):
        compare.load("nowhere", root)


def test_runs_made_under_other_corpora_are_refused_with_one_line(tree):
    root, true, folds, pred_a, pred_b = tree
    write_run(root, "a", true, pred_a, folds)
    write_run(root, "b", true, pred_b, folds)
    (root / "params.yaml").write_text("data:\n  corpus: emodb\n")
    a = compare.load("results/a", root)
    (root / "params.yaml").write_text("data:\n  corpus: synthetic-emodb\n")
    b = compare.load("results/b", root)
    assert (a.corpus, b.corpus) == ("emodb", "synthetic-emodb")
    with pytest.raises(InputError, match="^results/a was scored on emodb, results/b on synthetic-emodb: a paired "
                                         "comparison needs the same clips$"):
        compare.compare(a, b)
