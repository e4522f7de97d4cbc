"""The metrics VideoGLaMM reports: GCG mask mIoU and phrase recall, CIDEr, and referring-segmentation J&F."""

from videogcg.model.evaluation.caption import cider_d
from videogcg.model.evaluation.masks import greedy_pairs, mask_iou, miou
from videogcg.model.evaluation.referring import boundary_f, j_and_f, region_j

__all__ = ["boundary_f", "cider_d", "greedy_pairs", "j_and_f", "mask_iou", "miou", "region_j"]
