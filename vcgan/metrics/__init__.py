"""Objective measures: mel-cepstral distortion with DTW, log-F0 RMSE, V/UV error; GV, MS and
log-spectral distance (oversmoothing); reports with paired bootstrap intervals."""
from .mcd import PairScore, score_features, summarize
from .report import evaluate, markdown_table, write_report

__all__ = ["PairScore", "evaluate", "markdown_table", "score_features", "summarize", "write_report"]
