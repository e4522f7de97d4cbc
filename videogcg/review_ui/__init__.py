"""Human verification in Label Studio: a local server, export of samples as tasks with pre-annotations,
import of the reviews (edited masks re-propagated with SAM2) into reviewed shards."""
