"""Pictures: skeleton animations and filmstrips, retrieval sheets, feature maps, confusion
matrices, per-class accuracy and training curves.

matplotlib is an optional extra (``pip install skelzoo[plots]``): importing this package does not
need it; the first drawing call raises a SkelzooError that says how to install it. Everything is
drawn on the Agg canvas (files only, no display) and PNGs come out at exactly the stated size.
"""

from __future__ import annotations

from skelzoo.viz.animate import read_clip_file, render_clip
from skelzoo.viz.curves import read_log, training_curves_png
from skelzoo.viz.plots import confusion_matrix_png, feature_map_png, pca_2d, per_class_accuracy_png
from skelzoo.viz.sheets import retrieval_sheet_png

__all__ = [
    "confusion_matrix_png",
    "feature_map_png",
    "pca_2d",
    "per_class_accuracy_png",
    "read_clip_file",
    "read_log",
    "render_clip",
    "retrieval_sheet_png",
    "training_curves_png",
]
