"""Run profiles: one place that says how big every run is.

The command line (``--profile``) and the notebooks (the ``profile`` parameter)
look profiles up here by name, so a ``smoke`` run in CI, a ``lab`` run in a
classroom and a ``paper`` run on a GPU differ only in these numbers.

The ``paper`` profile holds the hyperparameters of Ayana et al. (2022),
section 2.3: batch 16, learning rate 0.001 with exponential decay 0.96, 50
epochs per stage; with 75x75 inputs and 6,800 patches per cell line (section
2.1), five folds (section 2.4), ImageNet weights, three backbones and three
optimizers (section 2.2).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from mstl_lib.backbones import backbone_names
from mstl_lib.errors import DataError
from mstl_lib.validation import check_choice

BACKBONES = backbone_names(in_paper=True)
"""The paper's three ImageNet CNNs (section 2.2), Keras applications (:data:`mstl_lib.backbones.BACKBONE_SPECS`)."""
LAB_BACKBONES = backbone_names(in_paper=False)
"""Small networks for CPU classrooms (not in the paper); see :func:`mstl_lib.models.networks.build_backbone`."""
ALL_BACKBONES = BACKBONES + LAB_BACKBONES
ARMS = ("scratch", "ctl", "mstl", "baseline")
"""Transfer types of the grid, in the order tables show them.

No transfer, one stage, two stages, then the classical baseline.
"""
FIGURE_ARMS = ("mstl", "ctl", "scratch", "baseline")
"""The arms in the order of the paper's figures (Figs. 4-6): the proposed method first."""
ARM_LABELS = {"scratch": "Scratch", "ctl": "CTL", "mstl": "MSTL", "baseline": "Baseline", "control": "Control"}
"""How each arm is named in tables, figures and sentences."""
NETWORK_ARMS = ARMS[:3]
"""The arms that train a network (the baseline is HOG + LBP + logistic regression)."""
BASELINE_CONFIG = ("hog-lbp", "logistic-regression")
"""The (backbone, optimizer) names under which the classical baseline's results are filed and shown."""
INPUT_SIZE = 75
"""Side of the square network input in pixels: the paper's 75 x 75 (section 2.1), for every backbone."""
OPTIMIZERS = ("sgd", "adam", "adagrad")
STUDY_ARMS = ("scratch", "ctl", "mstl", "control", "baseline")
"""Arms of the study of when the intermediate stage helps (:mod:`mstl_lib.training.study`): the grid's four
and ``control``, MSTL whose stage 1 saw the same patches with shuffled labels."""


STUDY_TUPLES = ("study_sizes", "study_fractions", "study_arms")
"""The study's fields that hold several values."""
PROFILE_WEIGHTS = "profile"
"""The ``weights`` override that means "the profile's own starting weights" (command line, papermill)."""
NO_WEIGHTS = ("none", "None")
"""Spellings of "random initialisation" accepted where a string is expected (command line, papermill)."""


class _NotSet:
    """The type of :data:`NOT_SET`."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_SET"

    def __reduce__(self):
        return (_NotSet, ())


NOT_SET = _NotSet()
"""An override that was not given: :meth:`Profile.with_overrides` and :func:`get_profile` keep the profile's value.

Distinct from None, which sets a field to None where the field allows it
(``weights=None``: random initialisation; ``patience=None``: no early stopping).
"""


@dataclass(frozen=True)
class Profile:
    """Sizes and hyperparameters of one kind of run.

    Attributes
    ----------
    name : str
        ``smoke``, ``lab`` or ``paper``.
    description : str
        One line for humans.
    cell_frames_per_class : int
        Synthetic full-field microscopy frames generated per cell line.
    patches_per_class : int
        Patches sampled per cell line for stage 1 (paper: 6,800).
    ultrasound_per_class : int
        Synthetic ultrasound images generated per class (paper's Mendeley
        set, balanced: 100 benign, 100 malignant).
    image_size : int
        Side of the square network input (paper: 75).
    batch_size : int
        Mini-batch size (paper: 16).
    learning_rate, decay_rate : float
        Initial learning rate and exponential decay per epoch (paper: 0.001, 0.96).
    epochs_stage1, epochs_stage2 : int
        Epochs of each transfer stage (paper: 50 each).
    folds : int
        Cross-validation folds (paper: 5).
    weights : str or None
        ``"imagenet"`` or None (random initialisation; nothing downloads).
    backbones, optimizers : tuple of str
        The grid of the paper's Table 1 that this profile runs.
    arms : tuple of str
        The transfer types trained in the grid, from :data:`ARMS`: ``scratch``
        (random start), ``ctl`` (``weights`` -> ultrasound), ``mstl``
        (``weights`` -> cells -> ultrasound) and ``baseline`` (HOG + LBP
        features with logistic regression, no network).
    bn_momentum : float or None
        Momentum of BatchNorm's moving statistics; None keeps Keras' 0.99
        (see :func:`mstl_lib.models.networks.set_batchnorm_momentum`).
    patience : int or None
        Early stopping on the validation loss after this many epochs without
        improvement; None trains every epoch (the paper).
    monitor : str
        The validation quantity that picks stage 2's epoch (and stops it
        early): ``val_loss`` (lower is better) or ``val_auc`` (higher is
        better). With 40 validation images the loss is dominated by a few
        confident mistakes and often picks an early, barely trained epoch;
        the AUC ranks the images and is steadier.
    generic_categories, generic_per_category, epochs_generic : int
        Size of the generic stage that replaces ImageNet when ``weights`` is
        ``"fractaldb"`` (:mod:`mstl_lib.training.generic`).
    study_sizes : tuple of int or "all"
        Training images per class of the study (:mod:`mstl_lib.training.study`);
        ``"all"``: the fold's whole training part.
    study_repeats : int
        Repeats of the study's cross-validation, each with its own folds and
        initialisations (at least 3).
    study_folds : int or None
        Folds of the study's cross-validation; None: ``folds``.
    study_fractions : tuple of float
        Shares of the stage-1 training patches for the quantity experiment (1.0: all).
    study_arms : tuple of str
        The study's arms, from :data:`STUDY_ARMS`.
    study_quantity_size : int, "all" or None
        The size at which the quantity experiment runs; None: the smallest of ``study_sizes``.
    study_epochs : int or None
        Stage-2 epochs of each study training; None: ``epochs_stage2``.
    """

    name: str
    description: str
    cell_frames_per_class: int
    patches_per_class: int
    ultrasound_per_class: int
    epochs_stage1: int
    epochs_stage2: int
    folds: int
    weights: str | None
    backbones: tuple[str, ...]
    optimizers: tuple[str, ...]
    image_size: int = INPUT_SIZE
    batch_size: int = 16
    learning_rate: float = 1e-3
    decay_rate: float = 0.96
    arms: tuple[str, ...] = ("ctl", "mstl")
    bn_momentum: float | None = None
    patience: int | None = None
    monitor: str = "val_loss"
    generic_categories: int = 0
    generic_per_category: int = 0
    epochs_generic: int = 0
    study_sizes: tuple = (8, 16, 32, "all")
    study_repeats: int = 3
    study_folds: int | None = None
    study_fractions: tuple = (0.1, 0.33, 1.0)
    study_arms: tuple = STUDY_ARMS
    study_quantity_size: int | str | None = None
    study_epochs: int | None = None

    def to_dict(self) -> dict:
        """The profile as a plain dict (for manifests and JSON)."""
        data = asdict(self)
        data["backbones"] = list(self.backbones)
        data["optimizers"] = list(self.optimizers)
        for key in ("arms", *STUDY_TUPLES):
            data[key] = list(getattr(self, key))
        return data

    def with_overrides(self, **overrides) -> Profile:
        """A copy with some fields changed.

        A value :data:`NOT_SET` keeps the field as it is; None sets it to None
        (``weights=None``: random initialisation, ``patience=None``: every
        epoch is trained), where the field allows None.

        ``weights`` is resolved here, the one place its spellings are read:
        ``"profile"`` (:data:`PROFILE_WEIGHTS`) keeps the profile's own
        (``"fractaldb"`` offline, ``"imagenet"`` in ``paper``); ``"none"`` or
        ``"None"`` mean None; ``"imagenet"``, ``"fractaldb"`` or a weights
        file are kept as given. A profile's ``weights`` is therefore always
        what the run starts from.

        Raises
        ------
        DataError
            For an unknown field name, or None for a field that needs a value.
        """
        known = {f.name: f for f in fields(self)}
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise DataError(f"unknown profile field(s) {unknown}; known fields are {sorted(known)}.")
        clean = {k: v for k, v in overrides.items() if v is not NOT_SET}
        required = sorted(k for k, v in clean.items() if v is None and "None" not in str(known[k].type))
        if required:
            raise DataError(
                f"profile field(s) {required} cannot be None. Fix: give a value, or leave the field out "
                "(or pass NOT_SET) to keep the profile's."
            )
        for key in ("backbones", "optimizers", "arms", *STUDY_TUPLES):
            if key in clean:
                clean[key] = tuple(clean[key])
        if "weights" in clean:
            clean["weights"] = self._starting_weights(clean["weights"])
        return replace(self, **clean)

    def _starting_weights(self, weights):
        if isinstance(weights, str) and weights == PROFILE_WEIGHTS:
            return self.weights
        if isinstance(weights, str) and weights in NO_WEIGHTS:
            return None
        return weights


def check_profile(profile, name: str = "profile"):
    """``profile`` itself, when it is a :class:`mstl_lib.profiles.Profile`.

    Names are resolved once, where a run starts (the command line's
    ``--profile``, a lesson's :func:`mstl_lib.teaching.notebook.setup_notebook`,
    or :func:`mstl_lib.profiles.get_profile` in a script); every function
    below them takes the resolved Profile and never looks it up again.
    """
    if not isinstance(profile, Profile):
        shown = f"get_profile({profile!r})" if isinstance(profile, str) else 'get_profile("lab")'
        raise DataError(
            f"{name} must be a Profile, got {profile!r}. "
            f"Fix: pass {name}={shown} (from mstl_lib.profiles import get_profile)."
        )
    return profile


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        description=(
            "CI and a first look: tiny data, the small resnet10, two epochs, three folds, seconds per training."
        ),
        cell_frames_per_class=5,
        patches_per_class=24,
        ultrasound_per_class=24,
        epochs_stage1=2,
        epochs_stage2=2,
        folds=3,
        weights="fractaldb",
        backbones=("resnet10",),
        optimizers=("adam",),
        arms=ARMS,
        bn_momentum=0.9,
        patience=None,
        monitor="val_auc",
        generic_categories=8,
        generic_per_category=16,
        epochs_generic=2,
        study_sizes=(4, "all"),
        study_repeats=2,  # a small design that still pairs and repeats: CI's check, not a result
        study_fractions=(0.5, 1.0),
        study_epochs=1,
    ),
    "lab": Profile(
        name="lab",
        description="A classroom CPU run: the small resnet10, generic (fractal) pretraining instead of ImageNet, "
        "early stopping, five folds.",
        cell_frames_per_class=12,
        patches_per_class=300,
        ultrasound_per_class=100,
        epochs_stage1=40,
        epochs_stage2=30,
        folds=5,
        weights="fractaldb",
        backbones=("resnet10",),
        optimizers=("adam",),
        arms=ARMS,
        bn_momentum=0.9,
        patience=8,
        monitor="val_auc",
        generic_categories=64,
        generic_per_category=60,
        epochs_generic=10,
        # the study: 5 folds (test 20%, validation 20%, training 60%: 60 images per class from 100) x 3 repeats.
        # Five folds, not three, because the corrected t-test's term n_test/n_train (1.0 with three folds, 0.33
        # with five) does not shrink with repeats. The sizes stop at 32: the whole training part is lesson 5's
        # comparison. A training's cost is its images x epochs (benchmarks/bench_study.py): 6 epochs of the
        # tripled set keep the study within 15 minutes at 40 images/s of plain Keras ResNet50
        study_sizes=(8, 16, 32),
        study_repeats=3,
        study_folds=5,
        study_fractions=(0.1, 0.33, 1.0),
        study_epochs=6,
    ),
    "paper": Profile(
        name="paper",
        description="The paper's hyperparameters (section 2.3), ImageNet weights, the full grid; for a GPU.",
        cell_frames_per_class=203,
        patches_per_class=6800,
        ultrasound_per_class=100,
        epochs_stage1=50,
        epochs_stage2=50,
        folds=5,
        weights="imagenet",
        backbones=BACKBONES,
        optimizers=OPTIMIZERS,
    ),
}


def get_profile(name: str | Profile, **overrides) -> Profile:
    """Look a profile up by name, optionally changing some of its fields.

    Parameters
    ----------
    name : str or Profile
        ``"smoke"``, ``"lab"`` or ``"paper"`` (or a Profile, returned as is).
    **overrides
        Fields to change, e.g. ``epochs_stage2=3``. :data:`NOT_SET` keeps
        the profile's value; None sets a field that allows it to None
        (``weights=None``: random initialisation, ``patience=None``: no
        early stopping); ``weights="profile"`` keeps the profile's own and
        ``weights="none"`` is None, see :meth:`Profile.with_overrides`.

    Raises
    ------
    DataError
        For an unknown profile or field name, or None for a field that needs a value.
    """
    if isinstance(name, Profile):
        profile = name
    else:
        profile = PROFILES[check_choice(str(name), "profile", PROFILES, lower=True)]
    return profile.with_overrides(**overrides) if overrides else profile
