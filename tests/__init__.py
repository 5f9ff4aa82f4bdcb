"""Makes ``tests`` a package, so ``tests.support`` has one import path in pytest and in the
provider subprocess (which unpickles test providers by reference from that path)."""
