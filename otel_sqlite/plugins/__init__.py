"""Test runners' plugins: each records a session as a run and its tests as steps, through the
harness API."""
