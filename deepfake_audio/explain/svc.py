"""Explanations of the SVC's decision function over the named features.

Global: permutation importance (how much the dev EER grows when one feature is shuffled)
and SHAP values (each feature's additive share of the score, Kernel SHAP against a k-means
summary of the training features). Local: LIME (a linear model fitted to the score around
one utterance). All three treat the model as a black box, so they work for any kernel.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import shap
from lime.lime_tabular import LimeTabularExplainer
from lime.explanation import Explanation
from sklearn.inspection import permutation_importance
from sklearn.pipeline import Pipeline

from deepfake_audio.features.analysis import feature_family
from deepfake_audio.models.svc import EER_SCORER
from deepfake_audio.params import LimeParams, ShapParams


def permutation_ranking(model: Pipeline, features: pd.DataFrame, targets: np.ndarray, repeats: int,
                        seed: int, n_jobs: int = 1) -> pd.DataFrame:
    """Features by the rise in EER (percentage points) when shuffled, largest first.

    ``importance`` is the mean rise over ``repeats`` shuffles and ``std`` its spread; ties
    are ordered by name. ``targets``: 1 for bona fide.
    """
    result = permutation_importance(model, features, targets, scoring=EER_SCORER, n_repeats=repeats,
                                    random_state=seed, n_jobs=n_jobs)
    ranking = pd.DataFrame({"feature": features.columns, "importance": result.importances_mean,
                            "std": result.importances_std})
    return ranking.sort_values(["importance", "feature"], ascending=[False, True], ignore_index=True)


def shap_values(model: Pipeline, background: pd.DataFrame, explained: pd.DataFrame, params: ShapParams,
                seed: int) -> np.ndarray:
    """(utterances, features) SHAP values of the decision function for the rows of ``explained``.

    Each row's values add up to its score minus the mean score over the background summary.
    """
    columns = list(background.columns)
    score = _on_arrays(model, columns)
    summary = shap.kmeans(background.to_numpy(dtype=float), min(params.background, len(background)))
    explainer = shap.KernelExplainer(score, summary)
    with global_numpy_seed(seed):  # Kernel SHAP draws its coalitions from NumPy's global generator
        # No L1 selection: every feature gets a value, not just the strongest few.
        return explainer.shap_values(explained[columns].to_numpy(dtype=float), nsamples=params.samples,
                                     l1_reg=False, silent=True)


@contextmanager
def global_numpy_seed(seed: int) -> Iterator[None]:
    """Seed NumPy's global generator for the block (SHAP uses it), then restore its state."""
    saved = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(saved)


def shap_ranking(values: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Features by mean |SHAP value| (score units), largest first; ties ordered by name."""
    ranking = pd.DataFrame({"feature": names, "mean_abs_shap": np.abs(values).mean(axis=0)})
    return ranking.sort_values(["mean_abs_shap", "feature"], ascending=[False, True], ignore_index=True)


def shap_by_family(values: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Feature families by mean |sum of their features' SHAP values|, largest first.

    SHAP values add up, so a family's sum is its share of the score as a group; correlated
    features that split credit between them count together here.
    """
    families = pd.Series([feature_family(name) for name in names])
    sums = pd.DataFrame(values).T.groupby(families.to_numpy()).sum().T
    ranking = pd.DataFrame({"family": sums.columns, "mean_abs_shap": sums.abs().mean(axis=0).to_numpy()})
    return ranking.sort_values(["mean_abs_shap", "family"], ascending=[False, True], ignore_index=True)


def balanced_sample(table: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """About ``size`` rows, half of each label (all of a label that has fewer), in table order."""
    rng = np.random.default_rng(seed)
    picked = []
    for _, rows in sorted(table.groupby("label").groups.items()):
        picked.extend(rng.choice(rows, size=min(size // 2, len(rows)), replace=False))
    return table.loc[sorted(picked)]


class LocalExplainer:
    """LIME on the decision function, fitted once to the training features' distribution."""

    def __init__(self, model: Pipeline, training: pd.DataFrame, params: LimeParams, seed: int):
        self.model, self.params = model, params
        self.columns = list(model.feature_names_in_)
        self.explainer = LimeTabularExplainer(
            training[self.columns].to_numpy(dtype=float), mode="regression", feature_names=self.columns,
            discretize_continuous=True, random_state=seed)

    def explain(self, row: pd.Series) -> Explanation:
        return self.explainer.explain_instance(
            row[self.columns].to_numpy(dtype=float), _on_arrays(self.model, self.columns),
            num_features=min(self.params.features, len(self.columns)), num_samples=self.params.samples)


def _on_arrays(model: Pipeline, columns: list[str]):
    """The decision function on the bare arrays SHAP and LIME pass, named as the model was trained."""
    return lambda rows: model.decision_function(pd.DataFrame(rows, columns=columns))


def lime_weights(explanation: Explanation, names: list[str]) -> pd.DataFrame:
    """feature, condition (the discretised range LIME tested) and weight, strongest first."""
    pairs = explanation.local_exp[explanation.dummy_label]  # (feature index, weight), as in as_list()
    conditions = [condition for condition, _ in explanation.as_list()]
    return pd.DataFrame({"feature": [names[i] for i, _ in pairs], "condition": conditions,
                         "weight": [weight for _, weight in pairs]})
