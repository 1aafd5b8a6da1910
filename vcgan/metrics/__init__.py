"""Objective measures: mel-cepstral distortion with DTW, log-F0 RMSE, V/UV error."""
from .mcd import PairScore, score_dirs, score_features, score_files, summarize
from .report import evaluate, markdown_table, write_report

__all__ = ["PairScore", "evaluate", "markdown_table", "score_dirs", "score_features", "score_files",
           "summarize", "write_report"]
