"""Closeloop: nonconformities, their actions and their closure, in one store."""
