"""mstl_lib: the library behind the book on multistage transfer learning.

Reproduces Ayana, Park, Jeong and Choe, "A Novel Multistage Transfer Learning
for Ultrasound Breast Cancer Image Classification", Diagnostics 2022, 12, 135.

Modules are imported on demand so that ``import mstl_lib`` stays fast and does
not pull in TensorFlow for the data-only parts.
"""

__version__ = "0.1.0"
