//! Patrol allocation: budgets and strategies (top-k, proportional, randomized, fair LP).
