"""Support-vector countermeasure on the named utterance features, with an optional grid search."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.decomposition import PCA
from sklearn.metrics.pairwise import pairwise_kernels
from sklearn.model_selection import GridSearchCV, PredefinedSplit, StratifiedGroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from deepfake_audio.errors import InputError
from deepfake_audio.features.store import feature_columns
from deepfake_audio.metrics import EER_SCORER, rounded
from deepfake_audio.models.card import ModelCard
from deepfake_audio.models.persist import decision_scores, load_model, save_model
from deepfake_audio.params import SvcSettings, TrainSvcParams
from deepfake_audio.progress import step
from deepfake_audio.vocabulary import BONAFIDE, PERCENT_DECIMALS

MODEL_FILE = "svc.skops"


@dataclass(frozen=True)
class LabelledFeatures:
    """Feature rows with their labels and speakers (speakers group the CV folds)."""

    features: pd.DataFrame
    labels: pd.Series
    speakers: pd.Series | None = None

    @classmethod
    def from_table(cls, table: pd.DataFrame) -> LabelledFeatures:
        """The rows of a feature table (see ``features.store``)."""
        return cls(table[feature_columns(table)], table["label"], table["speaker"])

    @property
    def targets(self) -> np.ndarray:
        return (np.asarray(self.labels) == BONAFIDE).astype(int)


@dataclass(frozen=True)
class SearchResult:
    setting: SvcSettings
    # One row per setting tried, best first: its grid values and EER (%; with cv, mean and std over folds).
    table: list[dict]


def build_svc(setting: SvcSettings, seed: int) -> Pipeline:
    """Scaler, optional PCA, SVC; bona fide is the positive class, so the decision function is a score."""
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("pca", _pca_step(setting, seed)),
            (
                "svc",
                SVC(
                    kernel=setting.kernel,
                    C=setting.C,
                    gamma=setting.gamma,
                    class_weight=setting.class_weight,
                    random_state=seed,
                ),
            ),
        ]
    )


def fit_svc_setting(train: LabelledFeatures, setting: SvcSettings, seed: int) -> Pipeline:
    """The SVC of one ``setting``, fitted on ``train``."""
    return build_svc(setting, seed).fit(train.features, train.targets)


def fit_svc(
    train: LabelledFeatures, dev: LabelledFeatures, params: TrainSvcParams, *, seed: int, n_jobs: int = 1
) -> tuple[Pipeline, SvcSettings, SearchResult | None]:
    """The SVC as ``params`` asks: its setting, or the grid search's best, trained on train."""
    setting, search = params.setting(), None
    if params.search.method != "none":
        search = search_svc(train, dev, params, seed=seed, n_jobs=n_jobs)
        setting = search.setting
    return fit_svc_setting(train, setting, seed), setting, search


def search_svc(
    train: LabelledFeatures,
    dev: LabelledFeatures | None,
    params: TrainSvcParams,
    *,
    seed: int,
    n_jobs: int = 1,
) -> SearchResult:
    """Try every combination of ``params.search.grid``, scored by EER.

    ``dev``: each setting is trained on train and scored on dev. ``cv``: mean EER over folds
    of train that keep each speaker within one fold, so the score rewards what carries over
    to new speakers. Ties go to the setting listed first.
    """
    grid = params.search.grid
    settings = [
        params.setting(**dict(zip(grid, values, strict=True))) for values in itertools.product(*grid.values())
    ]
    if params.search.method == "dev":
        if dev is None or len(dev.features) == 0:
            raise InputError("train_svc.search.method is dev but there is no dev split")
        features = pd.concat([train.features, dev.features], ignore_index=True)
        targets = np.concatenate([train.targets, dev.targets])
        folds, groups = (
            PredefinedSplit(np.r_[np.full(len(train.features), -1), np.zeros(len(dev.features))]),
            None,
        )
    else:
        if train.speakers is None:
            raise InputError("train_svc.search.method cv needs the speaker of each training utterance")
        features, targets, groups = train.features, train.targets, np.asarray(train.speakers)
        if set(groups) == {"-"}:
            raise InputError(
                "train_svc.search.method cv groups folds by speaker, and the training "
                "utterances have no speaker ids; use method dev"
            )
        n_speakers = len(np.unique(groups))
        if n_speakers < params.search.cv_folds:
            raise InputError(
                f"train_svc.search.cv_folds ({params.search.cv_folds}) exceeds the "
                f"{n_speakers} speakers of the training split"
            )
        folds = StratifiedGroupKFold(params.search.cv_folds, shuffle=True, random_state=seed)
        for number, (_, held_out) in enumerate(folds.split(features, targets, groups), start=1):
            if len(np.unique(targets[held_out])) < 2:
                raise InputError(
                    f"train_svc.search: cross-validation fold {number} holds one class only "
                    "(its speakers have no bona fide or no spoofed files); lower cv_folds "
                    "or use method dev"
                )
    search = GridSearchCV(
        build_svc(params.setting(), seed),
        [_as_pipeline_grid(setting, seed) for setting in settings],
        scoring=EER_SCORER,
        cv=folds,
        n_jobs=n_jobs,
        refit=False,
        error_score="raise",
    )
    with step(
        f"SVC grid search: {len(settings)} settings x {search.cv.get_n_splits(features, targets, groups)} fold(s)"
    ):
        search.fit(features, targets, groups=groups)
    cv = search.cv_results_
    order = np.argsort(cv["rank_test_score"], kind="stable")
    table = []
    for i in order:
        row = {key: getattr(settings[i], key) for key in grid}
        row["eer"] = rounded(0.0 - cv["mean_test_score"][i], PERCENT_DECIMALS)  # 0.0 - 0.0 is not -0.0
        if params.search.method == "cv":  # the spread over folds; dev is a single score
            row["eer_std"] = rounded(cv["std_test_score"][i], PERCENT_DECIMALS)
        table.append(row)
    return SearchResult(settings[order[0]], table)


def svc_scores(model: Pipeline, table: pd.DataFrame) -> np.ndarray:
    """Scores (higher = more bona fide) for the rows of a feature table."""
    return decision_scores(model, table, "SVC", table_kind="feature table")


class KernelExpansion(ClassifierMixin, BaseEstimator):
    """A fitted two-class ``SVC``'s decision function, the sum over support vectors of
    ``dual_coef * K(x, support_vector)`` plus the intercept, as one kernel matrix product.

    The same scores as ``svc.decision_function`` (to about 1e-12) in a fraction of the time:
    libsvm computes the kernel one pair of rows at a time, this with BLAS over all of them.
    """

    def __init__(self, svc: SVC):
        self.svc = svc

    @property
    def classes_(self) -> np.ndarray:
        return self.svc.classes_

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def fit(self, X, y):
        raise TypeError("KernelExpansion scores with an SVC fitted before; fit the SVC itself")

    def decision_function(self, X) -> np.ndarray:
        svc = self.svc
        kernel = pairwise_kernels(
            np.asarray(X, dtype=float),
            svc.support_vectors_,
            metric=svc.kernel,
            filter_params=True,
            gamma=svc._gamma,  # the value gamma="scale" resolved to at fitting
            degree=svc.degree,
            coef0=svc.coef0,
        )
        return kernel @ svc.dual_coef_[0] + svc.intercept_[0]


def expanded(model: Pipeline) -> Pipeline:
    """``model`` with its SVC scoring through ``KernelExpansion``: for the explanations, which
    score tens of thousands of perturbed copies of the features."""
    *transforms, (name, svc) = model.steps
    return Pipeline([*transforms, (name, KernelExpansion(svc))])


def save_svc(model: Pipeline, path: Path, card: ModelCard) -> None:
    save_model(model, path, card)


def load_svc(path: Path) -> Pipeline:
    return load_model(path, "SVC")


def _as_pipeline_grid(setting: SvcSettings, seed: int) -> dict[str, list]:
    """One grid point in the pipeline's own parameter names."""
    return {
        "pca": [_pca_step(setting, seed)],
        **{f"svc__{key}": [getattr(setting, key)] for key in ("kernel", "C", "gamma", "class_weight")},
    }


def _pca_step(setting: SvcSettings, seed: int):
    if setting.pca_components is None:
        return "passthrough"
    return PCA(setting.pca_components, random_state=seed)
