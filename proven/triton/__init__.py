"""Triton Inference Server, the proven side of the serving pair.

`repository` writes the model repository, `backend` finds the tritonserver that
nvidia-pytriton bundles, `server` starts or connects to it, `metrics` reads its counters.
"""
