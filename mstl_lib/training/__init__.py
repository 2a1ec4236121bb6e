"""Training the networks: one fit, the two stages, and the grid of Table 1.

=========================  ===========================================================
:mod:`.optimizers`         SGD, Adam, Adagrad with exponential decay (section 2.3)
:mod:`.inputs`             ``tf.data`` input from files or arrays, with augmentation
:mod:`.fit`                seeds, strategy, callbacks, resumable training of one network
:mod:`.generic`            the offline generic stage (fractal pretraining) in place of ImageNet
:mod:`.stages`             stage 1 on cell lines and stage 2 on ultrasound, as runnable steps
:mod:`.baseline`           the classical HOG + LBP + logistic-regression arm
:mod:`.grid`               backbones x optimizers x arms x folds, resumable and shardable
:mod:`.manifest`           the grid folder's record of its settings, checked before reuse
:mod:`.shards`             which part of a grid or study a job of a cluster array runs
:mod:`.scheduling`         parallel child processes, shared by the grid and the study
:mod:`.fold_model`         a trained fold's network, rebuilt from its best weights
:mod:`.child`              one library function in a fresh Python process
:mod:`.stage1_variants`    the study's shuffled-label control and patch fractions of stage 1
:mod:`.reuse`              one compiled network trained many times (the study's small trainings)
:mod:`.study`              when the intermediate stage helps: arms x sizes x repeated folds
:mod:`.study_units`        the study's network trainings, one child process per arm
=========================  ===========================================================

This package imports TensorFlow.
"""

from mstl_lib.run_files import stage1_model_path
from mstl_lib.training.baseline import run_baseline_fold
from mstl_lib.training.fit import FitResult, fit_model, get_strategy, read_history, set_seed
from mstl_lib.training.fold_model import load_fold_model
from mstl_lib.training.generic import ensure_generic_weights, generic_weights_path
from mstl_lib.training.grid import run_grid
from mstl_lib.training.inputs import augmentation_layers, make_tf_dataset
from mstl_lib.training.optimizers import make_optimizer
from mstl_lib.training.stages import run_stage1, train_fold
from mstl_lib.training.study import run_study, train_study_stages

__all__ = [
    "run_baseline_fold",
    "FitResult",
    "fit_model",
    "get_strategy",
    "read_history",
    "set_seed",
    "ensure_generic_weights",
    "generic_weights_path",
    "load_fold_model",
    "run_grid",
    "augmentation_layers",
    "make_tf_dataset",
    "make_optimizer",
    "run_stage1",
    "stage1_model_path",
    "train_fold",
    "run_study",
    "train_study_stages",
]
