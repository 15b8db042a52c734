//! SSA construction (Braun et al.).
