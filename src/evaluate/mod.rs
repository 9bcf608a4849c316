//! Evaluation metrics (hit rate, PAI, PEI*, RRI, coverage curves) and rolling backtests.
