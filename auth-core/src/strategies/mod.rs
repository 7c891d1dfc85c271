//! Strategies: how a token becomes a principal (JWT; access + refresh pairs).
