"""Equivariance metrics EQ-T / EQ-R (Karras et al. 2021): being written this session."""
