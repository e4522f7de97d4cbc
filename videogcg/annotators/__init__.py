"""Model-backed annotators: captioner, phrase extractors, grounder, mask propagator, caption refiner.

Plain Python classes, no Beam: each loads its model once through `registry.load` and then takes batches.
"""
