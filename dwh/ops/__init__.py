"""Operations: the run lock, the warehouse file's health, publishing, the run log, freshness and status."""
