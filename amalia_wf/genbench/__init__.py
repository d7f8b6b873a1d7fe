"""Generative benchmarks (answers through amalia_wf.generation): P3B3 (pt-PT/pt-BR bias), ALBA, PT-E open, safety."""
