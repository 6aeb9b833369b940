"""The offline demo: a synthetic captioned shape world, the training of the demo CLIP on it,
its evaluation, and the `photosearch demo` walkthrough."""
