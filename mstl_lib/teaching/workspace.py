"""A work folder shared by the notebooks: each step is done once and reused.

The lessons build on each other (synthetic data -> patches -> stage 1 ->
grid), yet each notebook must also run on its own. A :class:`Workspace` gives
every step a fixed place under one folder and computes it only when it is
missing, so running the notebooks in order does every step once, and running
one notebook alone computes what it needs.

The folder is ``$MSTL_WORK_DIR/<profile>`` when that variable is set, else
``~/mstl_work/<profile>``.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from mstl_lib.profiles import BASELINE_CONFIG, PROFILES, Profile, check_profile
from mstl_lib.run_files import history_path, result_path, stage1_model_path, stage1_run_dir


def default_work_dir() -> Path:
    """``$MSTL_WORK_DIR``, or ``~/mstl_work``."""
    return Path(os.environ.get("MSTL_WORK_DIR") or Path.home() / "mstl_work").expanduser()


def work_folder_name(profile: Profile) -> str:
    """The profile's name, plus the initial weights where they differ from the profile's own
    (``lab-imagenet``), so that runs with other weights never share results."""
    named = PROFILES.get(profile.name)
    if named is None or profile.weights == named.weights:
        return profile.name
    return f"{profile.name}-{Path(str(profile.weights)).stem if profile.weights else 'random'}"


@dataclass
class Workspace:
    """Where each step of the pipeline keeps its output, for one profile and seed.

    Parameters
    ----------
    profile : Profile
        Run profile (``get_profile("smoke")``, ``"lab"``, ``"paper"``), resolved
        once by the lesson (:func:`mstl_lib.teaching.notebook.setup_notebook`).
    root : path-like, optional
        Work folder; default :func:`default_work_dir` / profile name.
    seed : int
        Seed of data generation, sampling, splits and training.
    cells_dir : path-like, optional
        Real cell frames ``<line>/<frame>``; default: synthetic frames.
    ultrasound_dir : path-like, optional
        Real ultrasound data; default: the synthetic set (BUSI layout).
    ultrasound_kind : str
        Layout of ``ultrasound_dir``: ``busi``, ``mendeley``, ``mt-small`` or ``folder``.
    """

    profile: Profile
    root: Path | str | None = None
    seed: int = 0
    cells_dir: Path | str | None = None
    ultrasound_dir: Path | str | None = None
    ultrasound_kind: str = "busi"
    progress: bool = True

    def __post_init__(self):
        self.profile = check_profile(self.profile)
        self.root = Path(self.root).expanduser() if self.root else default_work_dir() / work_folder_name(self.profile)
        self.root.mkdir(parents=True, exist_ok=True)

    # --- places ---------------------------------------------------------------------
    @property
    def synthetic_dir(self) -> Path:
        return self.root / "synthetic"

    @property
    def patches_dir(self) -> Path:
        return self.root / "patches"

    @property
    def stage1_dir(self) -> Path:
        return self.root / "stage1"

    @property
    def grid_dir(self) -> Path:
        return self.root / "grid"

    @property
    def study_dir(self) -> Path:
        return self.root / "study"

    # --- steps ----------------------------------------------------------------------
    def _build_once(self, final: Path, build) -> Path:
        if final.is_dir():
            return final
        partial = final.with_name(final.name + ".partial")
        if partial.exists():
            shutil.rmtree(partial)
        build(partial)
        partial.rename(final)
        return final

    def synthetic(self) -> Path:
        """The synthetic data (``cells/`` and ``ultrasound/``), generated on first use."""
        from mstl_lib.data.synthetic import write_synthetic

        return self._build_once(
            self.synthetic_dir,
            lambda out: write_synthetic(out, profile=self.profile, seed=self.seed, progress=self.progress),
        )

    def cell_frames(self) -> Path:
        """Folder of full microscopy frames, one sub-folder per cell line."""
        return Path(self.cells_dir) if self.cells_dir else self.synthetic() / "cells"

    def ultrasound_root(self) -> Path:
        """Folder of the ultrasound dataset."""
        return Path(self.ultrasound_dir) if self.ultrasound_dir else self.synthetic() / "ultrasound"

    def patches(self) -> Path:
        """The stage-1 patch dataset (section 2.1), segmented on first use."""
        from mstl_lib.data.patches import build_patch_dataset

        return self._build_once(
            self.patches_dir,
            lambda out: build_patch_dataset(
                self.cell_frames(),
                out,
                per_class=self.profile.patches_per_class,
                seed=self.seed,
                progress=self.progress,
            ),
        )

    def train_stage1(self, backbone: str | None = None, optimizer: str | None = None) -> dict:
        """Stage 1 for one (backbone, optimizer), trained on first use; returns its summary.

        A finished run is reused only if it was made with this workspace's
        settings (profile, seed, weights, patches): :func:`~mstl_lib.training.stages.run_stage1`
        compares them and refuses a run made otherwise. The generic stage it
        starts from (``weights="fractaldb"``) is trained and cached on first
        use too (:mod:`mstl_lib.training.generic`).
        """
        from mstl_lib.training.stages import run_stage1

        backbone, optimizer = self._configuration(backbone, optimizer)
        return run_stage1(
            self.patches(),
            self.stage1_dir,
            backbone=backbone,
            optimizer=optimizer,
            profile=self.profile,
            seed=self.seed,
            verbose=0,
        )

    def stage1_model(self, backbone: str | None = None, optimizer: str | None = None):
        """The trained stage-1 Keras model of (backbone, optimizer) (section 2.3), trained on first use."""
        from mstl_lib.models.networks import load_model

        backbone, optimizer = self._configuration(backbone, optimizer)
        self.train_stage1(backbone, optimizer)
        return load_model(stage1_model_path(self.stage1_dir, backbone, optimizer), compile=False)

    def stage1_history(self, backbone: str | None = None, optimizer: str | None = None):
        """The learning curves of one stage-1 run (``{column: [one value per epoch]}``), trained on first use."""
        from mstl_lib.training.fit import read_history

        backbone, optimizer = self._configuration(backbone, optimizer)
        self.train_stage1(backbone, optimizer)
        return read_history(history_path(stage1_run_dir(self.stage1_dir, backbone, optimizer)))

    def _configuration(self, backbone: str | None, optimizer: str | None) -> tuple[str, str]:
        """(backbone, optimizer), the profile's first of each where not given."""
        return backbone or self.profile.backbones[0], optimizer or self.profile.optimizers[0]

    def generic_weights(self, backbone: str | None = None):
        """The generic stage's backbone weights (a file in Keras' cache), trained on first use."""
        from mstl_lib.training.generic import ensure_generic_weights

        backbone, _ = self._configuration(backbone, None)
        return ensure_generic_weights(backbone, self.profile, seed=self.seed)

    def ultrasound(self, drop_conflicts: bool = True):
        """The ultrasound dataset with duplicates grouped (and label conflicts left out), as ``mstl grid`` loads it
        (:func:`mstl_lib.data.audit.load_audited_dataset`).

        Returns
        -------
        dataset : ImageDataset
        report : AuditReport
        """
        from mstl_lib.data.audit import load_audited_dataset

        return load_audited_dataset(
            self.ultrasound_root(), self.ultrasound_kind, drop_conflicts=drop_conflicts, progress=self.progress
        )

    def run_grid(self, **options) -> list[dict]:
        """The grid of the profile (resumed where it stopped); returns every fold result."""
        from mstl_lib.training.grid import run_grid

        arms = options.get("arms") or self.profile.arms
        if "mstl" in arms:
            for backbone in options.get("backbones") or self.profile.backbones:
                for optimizer in options.get("optimizers") or self.profile.optimizers:
                    self.train_stage1(backbone, optimizer)
        dataset, _ = self.ultrasound()
        return run_grid(
            dataset,
            self.grid_dir,
            stage1_dir=self.stage1_dir,
            profile=self.profile,
            seed=self.seed,
            progress=self.progress,
            **options,
        )

    def study_stage1(self, backbone: str | None = None, optimizer: str | None = None) -> dict:
        """The stage-1 runs of the study (the real one, its shuffled-label control, the profile's patch
        fractions), each trained on first use in its own process; returns their summaries by name."""
        from mstl_lib.training.study import train_study_stages

        backbone, optimizer = self._configuration(backbone, optimizer)
        return train_study_stages(
            self.patches(),
            self.stage1_dir,
            profile=self.profile,
            backbone=backbone,
            optimizer=optimizer,
            seed=self.seed,
            isolate=True,
            verbose=0,
        )

    def run_study(self, **options) -> list[dict]:
        """The study of when the intermediate stage helps (:func:`mstl_lib.training.study.run_study`), in
        :attr:`study_dir`, resumed where it stopped; its stage-1 runs are trained first where missing."""
        from mstl_lib.training.study import run_study

        arms = options.get("arms") or self.profile.study_arms
        if {"mstl", "control"} & set(arms):
            self.study_stage1()
        dataset, _ = self.ultrasound()
        return run_study(
            dataset,
            self.study_dir,
            stage1_dir=self.stage1_dir,
            profile=self.profile,
            seed=self.seed,
            progress=self.progress,
            **options,
        )

    def fold_result(self, tl: str, fold: int = 0, *, backbone: str | None = None, optimizer: str | None = None) -> dict:
        """The saved result of one grid run (arm ``tl``, backbone, optimizer, fold) of :meth:`run_grid`.

        ``backbone`` and ``optimizer`` default to the profile's first; the
        baseline arm has its own fixed configuration.

        Raises
        ------
        DataError
            That run has no result yet.
        """
        import json

        from mstl_lib.errors import DataError

        backbone, optimizer = BASELINE_CONFIG if tl == "baseline" else self._configuration(backbone, optimizer)
        path = result_path(self.grid_dir, tl, backbone, optimizer, fold)
        if not path.is_file():
            raise DataError(
                f"{path}: no result of {tl} {backbone} {optimizer} fold {fold}. Fix: run ws.run_grid() first."
            )
        return json.loads(path.read_text())

    def fold_model(self, tl: str, fold: int = 0, *, backbone: str | None = None, optimizer: str | None = None):
        """The trained Keras model of one grid run, rebuilt from its best weights (a network arm)."""
        from mstl_lib.training.fold_model import load_fold_model

        backbone, optimizer = self._configuration(backbone, optimizer)
        return load_fold_model(
            self.grid_dir,
            tl,
            backbone,
            optimizer,
            fold,
            stage1_dir=self.stage1_dir,
            image_size=self.profile.image_size,
        )

    def fold_test_set(
        self, fold: int = 0, *, tl: str = "mstl", backbone: str | None = None, optimizer: str | None = None
    ):
        """The test images of one fold of the grid, at the networks' input size.

        The images are those the run's result lists (``test_images``, relative
        to the dataset's folder), in its order, so they line up with the
        result's ``y_true`` and ``y_score``. Every arm of a fold is tested on
        the same images (section 2.2): ``tl`` only says whose result to read.

        Returns
        -------
        images : numpy.ndarray
            ``uint8`` (N, size, size, 3).
        labels : numpy.ndarray
            ``int64`` (N,), 1 for malignant.
        paths : list of pathlib.Path
            The image files.

        Raises
        ------
        DataError
            The run has no result, or the dataset lacks one of its test images
            (the data changed since the grid ran).
        """
        from mstl_lib.errors import DataError

        names = self.fold_result(tl, fold, backbone=backbone, optimizer=optimizer)["test_images"]
        dataset, _ = self.ultrasound()
        index = {p.relative_to(dataset.root).as_posix(): i for i, p in enumerate(dataset.paths)}
        missing = [name for name in names if Path(name).as_posix() not in index]
        if missing:
            raise DataError(
                f"{dataset.root}: {len(missing)} test image(s) of fold {fold} are not in the dataset (first: "
                f"{missing[0]}). Fix: the data changed since the grid ran; run the grid again in a new work folder."
            )
        test = dataset.subset([index[Path(name).as_posix()] for name in names])
        images, labels = test.load_arrays(size=self.profile.image_size, progress=False)
        return images, labels, test.paths
