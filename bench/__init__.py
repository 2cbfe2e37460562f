"""Benchmarks of the SmartWats integration: what one message costs, side by side with baselines.

Run them with ``scripts/bench``; see BENCHMARKS.md for the method and the latest figures. A
benchmark measures and reports; it never passes or fails on time.
"""
