"""StyleGAN3 (Karras et al. 2021, alias-free) in NVIDIA's parameter layout: being written this session."""
