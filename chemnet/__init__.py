"""ChemNet-Vision: deep learning on molecules, from names and drawings to structures."""

__version__ = "0.1.0"
