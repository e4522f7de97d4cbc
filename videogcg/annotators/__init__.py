"""Model-backed annotators (captioner, phrase extractor, grounder, mask propagator, caption refiner).

Plain Python classes, no Beam: each loads once and then takes batches. Not built yet (see the README).
"""
