"""Synthetic stand-ins for the paper's two kinds of data, generated locally.

The project runs end to end without downloading anything: its default data are
drawn here from a seed and written to disk in the same folder layouts as the
real datasets, so that the same loaders read either.

Two generators imitate the two sources of Ayana et al. (2022):

* **Full-field bright-field microscopy frames of three cancer cell lines**
  (section 2.1 of the paper: HeLa cervical, MCF-7 breast and NCI-H1299 lung
  cancer cells, cultured and photographed under a bright-field microscope,
  then segmented into single-cell patches for the first transfer stage).
  Each frame has a mid-gray background with uneven illumination (a smooth
  gradient and vignetting), out-of-focus background mottle, shot and read
  noise, small debris specks, and cells drawn as textured regions with a dark
  membrane line, a bright halo, a relief (shadow-cast) edge, a nucleus with
  nucleoli and dark perinuclear granules. The three lines differ the way the
  real ones do at a glance: HeLa-like cells are spread, polygonal and
  irregular; MCF-7-like cells are small, rounded and packed into tight
  clusters; NCI-H1299-like cells are elongated spindles. Cells and clusters
  are mostly 50-200 px across and kept apart, so that the paper's
  segmentation (boxes with width + height < 100 px dropped) keeps them and
  rejects the debris. The default frame size, 904 x 1224 pixels, is that of a
  real frame of the cell sample.

* **B-mode breast ultrasound images, benign versus malignant** (section 2.1:
  the Mendeley breast ultrasound set and the MT-Small set). Each image is a
  smoothed tissue echogenicity map (skin line, subcutaneous fat lobules,
  fibroglandular tissue with Cooper's ligaments, pectoral muscle band) times
  fully developed speckle (the magnitude of a complex Gaussian field blurred
  by an anisotropic point-spread function, so Rayleigh distributed), with
  depth attenuation and log compression. A hypoechoic lesion follows the
  BI-RADS ultrasound lexicon (ACR BI-RADS Atlas, 5th edition, 2013): benign
  lesions are oval with a circumscribed margin, parallel orientation (wider
  than tall) and posterior acoustic enhancement; malignant lesions have an
  irregular shape, a spiculated or indistinct margin (often with an
  echogenic halo), non-parallel orientation (taller than wide) and posterior
  acoustic shadowing. A ``difficulty`` knob in [0, 1] blends the descriptors
  of the two classes towards each other, flips single descriptors to the
  other class's value (a benign lesion that is slightly irregular, a
  malignant one without shadowing) and adds distractors (a second small cyst,
  shadows from ligaments), so the task is learnable but not trivial.

Every image is derived from ``(seed, kind, class, index)`` alone, so writing
10 or 100 images gives the same first 10, and the same seed gives
byte-identical files.

Folder layouts written:

* cells: ``OUT/<cell_line>/<cell_line>_<NNNN>.png`` (e.g. ``hela/hela_0001.png``);
* ultrasound (BUSI layout): ``OUT/benign/benign (1).png``,
  ``OUT/malignant/malignant (1).png``;
* each with a ``synthetic.json`` record of the generator, seed, parameters
  and library version; the cell folder also holds ``ground_truth.json``, the
  true box of every cell or cluster per frame.
"""

__all__ = [
    "CELL_LINES",
    "ULTRASOUND_CLASSES",
    "CELL_FRAME_SIZE",
    "DEBRIS_LABEL",
    "RECORD_NAME",
    "GROUND_TRUTH_NAME",
    "make_cell_frame",
    "make_ultrasound_image",
    "write_cell_frames",
    "write_ultrasound_set",
    "write_synthetic",
    "cell_frame_name",
    "ultrasound_name",
    "IFSystem",
    "fractal_categories",
    "filling_rate",
    "render_fractal",
    "make_fractal_dataset",
]

from mstl_lib.data.synthetic._common import (  # noqa: F401  (image_rng and the kinds: used by the tests)
    CELL_FRAME_SIZE,
    CELL_LINES,
    DEBRIS_LABEL,
    KIND_CELLS,
    KIND_ULTRASOUND,
    ULTRASOUND_CLASSES,
    image_rng,
)
from mstl_lib.data.synthetic.cells import make_cell_frame
from mstl_lib.data.synthetic.fractals import (
    IFSystem,
    filling_rate,
    fractal_categories,
    make_fractal_dataset,
    render_fractal,
)
from mstl_lib.data.synthetic.ultrasound import make_ultrasound_image
from mstl_lib.data.synthetic.writers import (
    GROUND_TRUTH_NAME,
    RECORD_NAME,
    cell_frame_name,
    ultrasound_name,
    write_cell_frames,
    write_synthetic,
    write_ultrasound_set,
)
