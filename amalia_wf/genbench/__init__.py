"""Generative benchmarks: greedy chat generation shared by the benchmarks, and P3B3 (pt-PT/pt-BR bias)."""
