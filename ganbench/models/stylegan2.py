"""StyleGAN2 (Karras et al. 2020) in NVIDIA's parameter layout: being written this session."""
