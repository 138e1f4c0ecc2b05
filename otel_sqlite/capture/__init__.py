"""Running and recording a child process: ``exec``, ``run start`` / ``run end``, ``command()``'s
capture and signals, and W3C trace context in the environment.

Built on plain records, so the hot path of ``exec`` never imports the OTel SDK.
"""
