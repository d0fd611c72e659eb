"""Model definitions; each task's networks live in their own module (name_model, image_model)."""
