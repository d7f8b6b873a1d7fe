"""Evaluation stage: the pt-PT lm-eval task suite (`suite`, `tasks/`) and its scoring helpers (`answers`)."""
