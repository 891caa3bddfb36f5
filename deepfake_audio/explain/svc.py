"""Explanations of the SVC's decision function over the named features.

Global: permutation importance (how much the dev EER grows when one feature, or all the
features of one family at once, are shuffled) and SHAP values (each feature's additive
share of the score, Kernel SHAP against a k-means summary of the training features). Local: LIME (a linear model fitted to the score around
one utterance). All three treat the model as a black box, so they work for any kernel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shap
from joblib import Parallel, delayed
from lime.explanation import Explanation
from lime.lime_tabular import LimeTabularExplainer
from sklearn.inspection import permutation_importance
from sklearn.pipeline import Pipeline

from deepfake_audio.features.analysis import feature_family
from deepfake_audio.metrics import EER_SCORER
from deepfake_audio.params import LimeParams, ShapParams
from deepfake_audio.seeding import global_numpy_seed
from deepfake_audio.vocabulary import PERCENT_DECIMALS, SCORE_DECIMALS


def permutation_ranking(
    model: Pipeline, features: pd.DataFrame, targets: np.ndarray, *, repeats: int, seed: int, n_jobs: int = 1
) -> pd.DataFrame:
    """Features by the rise in EER (percentage points) when shuffled, largest first.

    ``importance`` is the mean rise over ``repeats`` shuffles and ``std`` its spread, both
    rounded to ``PERCENT_DECIMALS`` (so float noise around zero is zero); ties are ordered by
    name. ``targets``: 1 for bona fide.
    """
    result = permutation_importance(
        model, features, targets, scoring=EER_SCORER, n_repeats=repeats, random_state=seed, n_jobs=n_jobs
    )
    return importance_ranking("feature", features.columns, result.importances)


def permutation_by_family(
    model: Pipeline, features: pd.DataFrame, targets: np.ndarray, *, repeats: int, seed: int
) -> pd.DataFrame:
    """Feature families by the rise in EER (percentage points) when all their columns are shuffled
    together (the rows of the family moved as one block), largest first; as ``permutation_ranking``.

    Correlated features stand in for each other when shuffled one at a time, so each can look
    unimportant; shuffled as a family they cannot. Every family gets the same ``repeats``
    shuffles, drawn from ``seed`` (as scikit-learn gives every feature the same shuffles).
    """
    baseline = EER_SCORER(model, features, targets)
    families = np.asarray(families_of(list(features.columns)))
    names = sorted({str(family) for family in families})
    rises = []
    for family in names:
        rng = np.random.default_rng(seed)
        rises.append(
            [
                baseline
                - EER_SCORER(model, _shuffled(features, features.columns[families == family], rng), targets)
                for _ in range(repeats)
            ]
        )
    return importance_ranking("family", names, np.array(rises))


def families_of(names: list[str]) -> list[str]:
    """The feature family of each name (``mfcc``, ``lfcc``, ``cqcc``, ``spectral``, ``band_energy``)."""
    return [feature_family(name) for name in names]


def permutation_summary(by_feature: pd.DataFrame, by_family: pd.DataFrame, n: int) -> dict:
    """The permutation keys of metrics/explain.json's ``svc``.

    ``permutation_top``: the first ``n`` features whose shuffling raised the EER (importance
    above zero), so fewer than ``n`` when fewer did; ``permutation_positive``: how many did;
    ``permutation_by_family``: each family's importance.
    """
    positive = by_feature[by_feature["importance"] > 0]
    return {
        "permutation_top": top_rows(positive, "importance", n),
        "permutation_positive": len(positive),
        "permutation_by_family": values_by(by_family, "family", "importance"),
    }


def top_rows(ranking: pd.DataFrame, value: str, n: int) -> dict:
    """The first ``n`` rows of a feature ranking (fewer if it has fewer) as
    ``{"1": {"feature": ..., value: ...}, ...}``, values as the ranking rounded them."""
    return {
        str(rank): {"feature": row["feature"], value: float(row[value])}
        for rank, (_, row) in enumerate(ranking.head(n).iterrows(), start=1)
    }


def values_by(ranking: pd.DataFrame, name: str, value: str) -> dict:
    """``{row[name]: row[value]}`` in ranking order."""
    return {row[name]: float(row[value]) for _, row in ranking.iterrows()}


def _shuffled(features: pd.DataFrame, columns, rng: np.random.Generator) -> pd.DataFrame:
    """``features`` with the rows of ``columns`` permuted together, the other columns untouched."""
    shuffled = features.copy()
    shuffled[columns] = features[columns].to_numpy()[rng.permutation(len(features))]
    return shuffled


def importance_ranking(name: str, labels, rises: np.ndarray) -> pd.DataFrame:
    """``name, importance, std`` from (labels, repeats) EER rises, largest first, ties by label."""
    ranking = pd.DataFrame({name: list(labels), "importance": rises.mean(axis=1), "std": rises.std(axis=1)})
    ranking[["importance", "std"]] = ranking[["importance", "std"]].round(PERCENT_DECIMALS)
    return ranking.sort_values(["importance", name], ascending=[False, True], ignore_index=True)


def shap_values(
    model: Pipeline,
    background: pd.DataFrame,
    explained: pd.DataFrame,
    *,
    params: ShapParams,
    seed: int,
    n_jobs: int = 1,
) -> np.ndarray:
    """(utterances, features) SHAP values of the decision function for the rows of ``explained``.

    Each row's values add up to its score minus the mean score over the background summary.
    Row ``i`` draws its coalitions from seed ``(seed, i)``, so the values do not depend on
    ``n_jobs``, the worker processes the rows are shared among.
    """
    columns = list(background.columns)
    summary = shap.kmeans(background.to_numpy(dtype=float), min(params.background, len(background)))
    rows = explained[columns].to_numpy(dtype=float)
    chunks = [
        part for part in np.array_split(np.arange(len(rows)), max(1, min(n_jobs, len(rows)))) if len(part)
    ]
    explain = delayed(_shap_rows)
    parts = Parallel(n_jobs=len(chunks))(
        explain(
            model,
            columns,
            summary,
            rows=rows[chunk],
            seeds=[(seed, int(i)) for i in chunk],
            samples=params.samples,
        )
        for chunk in chunks
    )
    return np.concatenate(parts) if parts else np.empty((0, len(columns)))


def _shap_rows(
    model: Pipeline, columns: list[str], summary, *, rows: np.ndarray, seeds, samples: int
) -> np.ndarray:
    explainer = shap.KernelExplainer(_on_arrays(model, columns), summary)
    values = []
    for row, row_seed in zip(rows, seeds, strict=True):
        with global_numpy_seed(row_seed):  # Kernel SHAP draws its coalitions from NumPy's global generator
            # No L1 selection: every feature gets a value, not just the strongest few.
            values.append(explainer.shap_values(row[None, :], nsamples=samples, l1_reg=False, silent=True))
    return np.concatenate(values)


def shap_ranking(values: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Features by mean |SHAP value| (score units, to ``SCORE_DECIMALS``), largest first; ties ordered by name."""
    ranking = pd.DataFrame(
        {"feature": names, "mean_abs_shap": np.abs(values).mean(axis=0).round(SCORE_DECIMALS)}
    )
    return ranking.sort_values(["mean_abs_shap", "feature"], ascending=[False, True], ignore_index=True)


def shap_by_family(values: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Feature families by mean |sum of their features' SHAP values|, largest first.

    SHAP values add up, so a family's sum is its share of the score as a group; correlated
    features that split credit between them count together here. Rounded as ``shap_ranking``.
    """
    sums = pd.DataFrame(values).T.groupby(np.asarray(families_of(names))).sum().T
    ranking = pd.DataFrame(
        {"family": sums.columns, "mean_abs_shap": sums.abs().mean(axis=0).to_numpy().round(SCORE_DECIMALS)}
    )
    return ranking.sort_values(["mean_abs_shap", "family"], ascending=[False, True], ignore_index=True)


def balanced_sample(table: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """About ``size`` rows, half of each label (all of a label that has fewer), in table order."""
    rng = np.random.default_rng(seed)
    picked: list[int] = []  # index labels
    for _, rows in sorted(table.groupby("label").groups.items()):
        picked.extend(rng.choice(rows, size=min(size // 2, len(rows)), replace=False))
    return table.loc[sorted(picked)]


class LocalExplainer:
    """LIME on the decision function, fitted once to the training features' distribution."""

    def __init__(self, model: Pipeline, training: pd.DataFrame, params: LimeParams, *, seed: int):
        self.model, self.params = model, params
        self.columns = list(model.feature_names_in_)
        self.explainer = LimeTabularExplainer(
            training[self.columns].to_numpy(dtype=float),
            mode="regression",
            feature_names=self.columns,
            discretize_continuous=True,
            random_state=seed,
        )

    def explain(self, row: pd.Series) -> Explanation:
        return self.explainer.explain_instance(
            row[self.columns].to_numpy(dtype=float),
            _on_arrays(self.model, self.columns),
            num_features=min(self.params.features, len(self.columns)),
            num_samples=self.params.samples,
        )


def _on_arrays(model: Pipeline, columns: list[str]):
    """The decision function on the bare arrays SHAP and LIME pass, named as the model was trained."""
    return lambda rows: model.decision_function(pd.DataFrame(rows, columns=columns))


def lime_weights(explanation: Explanation, names: list[str]) -> pd.DataFrame:
    """feature, condition (the discretised range LIME tested) and weight, strongest first."""
    pairs = explanation.local_exp[explanation.dummy_label]  # (feature index, weight), as in as_list()
    conditions = [condition for condition, _ in explanation.as_list()]
    return pd.DataFrame(
        {
            "feature": [names[i] for i, _ in pairs],
            "condition": conditions,
            "weight": [weight for _, weight in pairs],
        }
    )
