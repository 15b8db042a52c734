//! Support code for the corpus runner.
