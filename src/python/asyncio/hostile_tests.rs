//! Hostile task graphs in fake memory (issue 17): the reader stays bounded.
