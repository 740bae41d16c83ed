"""Discriminator augmentation (DiffAugment, ADA): being written this session."""
